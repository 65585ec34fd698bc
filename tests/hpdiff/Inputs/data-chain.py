# data-chain.py N: prints a C file of N constant structures each pointing at the next, and a
# function walking them: built with -fdata-sections, N sections each referring to the next.
import sys
n = int(sys.argv[1])
print("struct node { const struct node *next; int v; };")
for i in range(n):
    print("extern const struct node n%d;" % i)
for i in range(n):
    print("const struct node n%d = { %s, %d };" % (i, "&n%d" % (i + 1) if i + 1 < n else "0", i))
print("int walk(void) { int s = 0; for (const struct node *p = &n0; p; p = p->next) s += p->v; return s; }")

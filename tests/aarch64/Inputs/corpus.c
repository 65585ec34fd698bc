/* corpus.c — functions of the shapes a compiler gives different entries (a lone return, a loop
 * from the first instruction, a leaf, a tail call, recursion, varargs, a switch, a static helper
 * inlined or not, a function called through a pointer, one that needs a frame), for the AArch64
 * prologue tests: each must start with the plugin's NOP, after a landing pad where there is one,
 * and the program must compute what it computes without the plugin. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nothing(void) {}
int identity(int x) { return x; }
__attribute__((noinline)) int count_down(int n)
{
	while (n > 0)
		n -= 3;
	return n;
}
static int helper(int x) { return x * 7 + 1; }
__attribute__((noinline)) static int kept_helper(int x) { return x ^ 0x55; }
int uses_helpers(int x) { return helper(x) + kept_helper(x); }
__attribute__((noinline)) int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int sum(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	int s = 0;
	for (int i = 0; i < n; i++)
		s += va_arg(ap, int);
	va_end(ap);
	return s;
}
__attribute__((noinline)) const char *classify(int c)
{
	switch (c) {
	case 0: return "zero";
	case 1: return "one";
	case 2: return "two";
	case 3: return "three";
	case 4: return "four";
	default: return "many";
	}
}
int tail(int x) { return fib(x & 7); }
static int by_pointer(int x) { return x - 1; }
int (*volatile pointer)(int) = by_pointer;
__attribute__((noinline)) long framed(const char *s)
{
	char buf[64];
	snprintf(buf, sizeof buf, "<%s>", s);
	return (long)strlen(buf) * 1000 + buf[1];
}
static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(void)
{
	int v[] = { 5, 3, 9, 1, 7 };
	qsort(v, 5, sizeof *v, compare);
	nothing();
	printf("%d %d %d %d %d %s %d %d %ld %d%d%d%d%d\n", identity(4), count_down(10), uses_helpers(3), fib(15),
	       sum(4, 1, 2, 3, 4), classify(3), tail(13), pointer(8), framed("abc"), v[0], v[1], v[2], v[3], v[4]);
	return 0;
}

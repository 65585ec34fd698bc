// File-local symbols get a name unique to their translation unit (hazard 6), derived from the
// source path relative to the project root, so two checkouts agree.  Two files that both
// define `static int parse(void)` link into one program with two distinct symbols.
// RUN: rm -rf %t && mkdir -p %t/a %t/b %t/other/a %t/other/b
// RUN: printf 'static int parse(void) { return 1; }\nint (*a_parse)(void) = parse;\n' > %t/a/util.c
// RUN: printf 'static int parse(void) { return 2; }\nint (*b_parse)(void) = parse;\n' > %t/b/util.c
// RUN: cp %t/a/util.c %t/other/a/util.c
// RUN: cd %t && %clang -O2 -fplugin=%plugin -c a/util.c -o a.o && %clang -O2 -fplugin=%plugin -c b/util.c -o b.o
// RUN: %hpdump %t/a.o %t/b.o | FileCheck %s
// CHECK: unit a/util.c
// CHECK: parse.__uniq.[[A:[0-9]+]]
// CHECK: unit b/util.c
// CHECK-NOT: parse.__uniq.[[A]]{{$}}
// CHECK: parse.__uniq.{{[0-9]+}}
// Another checkout, compiled from elsewhere with root=, gets the same identity and names.
// RUN: cd / && %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-root=%t/other -c %t/other/a/util.c -o %t/other.o
// RUN: %fpcmp --hpdump %hpdump %t/a.o %t/other.o | FileCheck %s --check-prefix=SAME
// SAME: same a_parse
// SAME-NEXT: same parse.__uniq.{{[0-9]+}}
// SAME-NOT: {{.}}
// RUN: printf 'int main(void) { return 0; }\n' > %t/main.c
// RUN: %clang -O2 %t/a.o %t/b.o %t/main.c -o %t/prog
// RUN: llvm-nm %t/prog | grep -c ' parse.__uniq' | FileCheck %s --check-prefix=TWO
// TWO: 2

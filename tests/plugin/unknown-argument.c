// An unknown plugin argument is a compiler error naming the argument and the known ones.
// RUN: not %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-exlude=foo -c %s -o %t.o 2>&1 | FileCheck %s
// CHECK: error: hotpatch: unknown plugin argument 'exlude=foo' (known: root=DIR, exclude=NAME[,NAME...], entry=atomic-site|padding-only, version)
int f(void) { return 0; }

// Functions can opt out of the patchable prologue, by attribute or by plugin argument; they are
// still recorded, flagged no-patch, so hpdiff can refuse to patch them.
// RUN: %clang -O2 -fplugin=%plugin -fplugin-arg-hotpatch-exclude=by_argument,other -c %s -o %t.o
// RUN: %hpdump --prologues %t.o | FileCheck %s
// CHECK-DAG: no-patch {{.*}} by_attribute
// CHECK-DAG: no-patch {{.*}} by_argument
// CHECK-DAG: {{ -  *}}+0:{{([0-9a-f]{4}) *}}patched
// RUN: llvm-objdump -d %t.o | FileCheck %s --check-prefix=ASM
// ASM-NOT: 90 nop
// ASM: <by_attribute>:
// ASM-NOT: 90 nop
// ASM: <by_argument>:
// ASM: 90 nop
// ASM: <patched>:
__attribute__((annotate("hotpatch_exclude"))) int by_attribute(int x) { return x + 1; }
int by_argument(int x) { return x + 2; }
int patched(int x) { return x + 3; }

// The patch site is the function's first real instruction when it is at least 2 bytes long
// (no instruction executed for it), and a 2-byte NOP only where that instruction is shorter.
// RUN: %clang -O2 -fplugin=%plugin -c %s -o %t.o
// RUN: llvm-objdump -d --no-show-raw-insn %t.o | FileCheck %s
// CHECK-LABEL: <long_first>:
// CHECK-NEXT: leal
// CHECK-LABEL: <push_first>:
// CHECK-NEXT: nop
// CHECK-NEXT: pushq
// RUN: llvm-objdump -d %t.o | FileCheck %s --check-prefix=PAD
// PAD: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-NEXT: 90 nop
// PAD-EMPTY:
// PAD-NEXT: <long_first>:
int long_first(int a, int b) { return a + b * 2; }

extern int work(int);
int push_first(int n) { return work(n) + work(n + 1); }

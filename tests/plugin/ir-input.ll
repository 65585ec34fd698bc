; IR inputs have no AST action: -fpass-plugin covers them.  Given both -fplugin and
; -fpass-plugin the passes run once (one unit, one record per function).
; RUN: %clang -O2 -fpass-plugin=%plugin -c %s -o %t.o
; RUN: %hpdump --prologues %t.o | FileCheck %s
; CHECK: unit {{.*}}ir-input.ll [no-layouts]
; CHECK-NEXT: LLVM 19.1.{{[0-9]+}} (IR input)
; CHECK: +0:{{([0-9a-f]{4})}} {{ *}}add
; CHECK-NOT: unit
; RUN: %clang -O2 -fplugin=%plugin -fpass-plugin=%plugin -c %S/Inputs/two.c -o %t2.o
; RUN: %hpdump %t2.o | FileCheck %s --check-prefix=ONCE
; ONCE-COUNT-1: unit {{.*}}two.c
; ONCE-NOT: unit
; RUN: cd %T && %clang -O2 -fplugin=%plugin -fpass-plugin=%plugin -save-temps -c %S/Inputs/two.c -o %t3.o
; RUN: %hpdump %t3.o | FileCheck %s --check-prefix=TEMPS
; TEMPS-COUNT-1: unit
; TEMPS: one
; TEMPS: two
target triple = "x86_64-pc-linux-gnu"
define i32 @add(i32 %a, i32 %b) {
  %s = add i32 %a, %b
  ret i32 %s
}

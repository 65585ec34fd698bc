// The plugin turns on function and data sections without being asked: hpdiff reads each
// symbol from its own section.
// RUN: %clang -O2 -fplugin=%plugin -c %s -o %t.o
// RUN: llvm-readelf -S %t.o | FileCheck %s
// CHECK-DAG: .text.func
// CHECK-DAG: .data.initialized
// CHECK-DAG: .bss.zeroed
// CHECK-DAG: .hotpatch PROGBITS {{[0-9a-f]+}} {{[0-9a-f]+}} {{[0-9a-f]+}} 00 {{ *}}0
int initialized = 5;
int zeroed;
int func(void) { return initialized + zeroed; }

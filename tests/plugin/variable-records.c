// Variables are recorded with size and the flags hpdiff decides on: const, thread-local,
// static local (state to keep), zero-initialized; constructors are flagged as already run.
// String literals and unnamed-address constants are not records: they are content of the
// functions that use them.
// RUN: %clang -O2 -fplugin=%plugin -c %s -o %t.o
// RUN: %hpdump --verbose %t.o | FileCheck %s
// CHECK-DAG: function external {{([0-9a-f]{32})}} constructor init
// CHECK-DAG: variable external {{([0-9a-f]{32})}} const limits
// CHECK-DAG: variable external {{([0-9a-f]{32})}} thread-local,zero-init per_thread
// CHECK-DAG: variable internal {{([0-9a-f]{32})}} static-local,zero-init counter.hits.__uniq.{{[0-9]+}}
// CHECK-DAG: variable external {{([0-9a-f]{32})}} - config
// CHECK-DAG: size 12
// CHECK-NOT: .str
#include <stdio.h>
const int limits[3] = {1, 2, 3};
_Thread_local int per_thread;
struct { int port; const char *name; } config = {80, "web"};
int counter(void) { static int hits; return ++hits; }
__attribute__((constructor)) void init(void) { puts("starting"); }

// Every function gets 8 bytes of NOP padding and a 2-byte site that does not straddle a 16-byte
// boundary, at every optimization level and with the code-generation flags users combine.
// hpdump --prologues exits 2 if any function's site is bad.
// RUN: rm -rf %t && mkdir -p %t
// RUN: for o in -O0 -O1 -O2 -O3 -Os -Oz; do \
// RUN:   for f in "" -g -fPIC -fPIE -fcf-protection=full "-fPIC -fcf-protection=full -g"; do \
// RUN:     %clang $o $f -fplugin=%plugin -c %s -o %t/x.o && \
// RUN:     %hpdump --prologues %t/x.o > %t/out.txt || { echo "FAILED: $o $f"; cat %t/out.txt; exit 1; }; \
// RUN:     grep -c '^  function' %t/out.txt >> %t/counts.txt; \
// RUN:   done; done
// RUN: sort -u %t/counts.txt | FileCheck %s --check-prefix=COUNT
// Five functions are recorded at every level (the static one is kept: its address is taken).
// COUNT: 5
// COUNT-NOT: {{.}}

// RUN: %clang -Oz -fcf-protection=full -fplugin=%plugin -c %s -o %t/oz.o
// RUN: %hpdump --prologues %t/oz.o | FileCheck %s
// CHECK: +4:{{([0-9a-f]{4})}} {{ *}}tiny
// CHECK: +4:{{([0-9a-f]{4})}} {{ *}}push_first
// CHECK: +4:{{([0-9a-f]{4})}} {{ *}}variadic
// CHECK: +4:{{([0-9a-f]{4})}} {{ *}}get_helper
// CHECK: +4:{{([0-9a-f]{4})}} {{ *}}helper.__uniq.{{[0-9]+}}
#include <stdarg.h>

int tiny(int x) { return x + 1; }

extern void sink(int *);
int push_first(int n) {
  int a[8];
  for (int i = 0; i < 8; i++) a[i] = n * i;
  sink(a);
  return a[3];
}

int variadic(int n, ...) {
  va_list ap;
  va_start(ap, n);
  int s = 0;
  for (int i = 0; i < n; i++) s += va_arg(ap, int);
  va_end(ap);
  return s;
}

static int helper(int x) { return x * 7; }
int (*get_helper(void))(int) { return helper; }

// The plugin records, per function, the values its body took from the builtin __LINE__, in
// AST order: directly, through assert(), through a macro body, through a macro argument,
// and __builtin_LINE().  An integer that merely equals its line is not one, and neither is a
// user macro that redefines __LINE__.  A static inline helper inlined away keeps its own list
// (its callers' line lists take it in through their call lists).
// RUN: %clang -O2 -Wno-builtin-macro-redefined -fplugin=%plugin -c %s -o %t.o
// RUN: %hpdump --verbose %t.o | FileCheck %s
// CHECK-LABEL: function external {{([0-9a-f]{32})}} - all_kinds
// CHECK-NEXT: source
// CHECK-NEXT: calls {{.*}}helper
// CHECK-NEXT: lines 31, 32, 33, 34, 35, 35
// CHECK-LABEL: - no_lines
// CHECK-NOT: lines
// CHECK-LABEL: - user_line_macro
// CHECK-NOT: lines
// CHECK-LABEL: inlined-away helper.__uniq
// CHECK-NEXT: source
// CHECK-NEXT: lines 28
#include <assert.h>

int log_at(int line);
#define FAIL() log_at(__LINE__)
#define ARG(x) log_at(x)
#define AGAIN() FAIL()

// The values below are the lines they stand on.

static inline int helper(int x) { return x < 0 ? FAIL() : x; }

int all_kinds(int x) {
  assert(x != 7);
  if (x == 1) FAIL();
  if (x == 2) ARG(__LINE__);
  if (x == 3) AGAIN();
  return log_at(__LINE__ + 0) + log_at(__builtin_LINE()) + helper(x);
}

int no_lines(int x) { return x == 38 ? 38 : x; }

#define __LINE__ 9
int user_line_macro(void) { return log_at(__LINE__); }

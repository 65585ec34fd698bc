/* main.c — the program: calls into util.c, asserts on its arguments. */
#include <stdio.h>
#include "util.h"
int part(int v);
int main(int argc, char **argv) {
  assert(argc > 0);
  (void)argv;
  printf("%d %s %d\n", scale(checked(argc)), where(), part(argc) > 0);
  return 0;
}

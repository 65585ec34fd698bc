/* main.c — the program: calls into util.c, asserts on its arguments. */
#include <stdio.h>
#include "util.h"
int main(int argc, char **argv) {
  assert(argc > 0);
  (void)argv;
  printf("%d %s\n", scale(checked(argc)), where());
  return 0;
}

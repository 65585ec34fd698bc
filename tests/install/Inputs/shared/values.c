/* The library's code: the value the program prints. */
int base = 1;
__attribute__((noinline)) int value(void) { return base; }

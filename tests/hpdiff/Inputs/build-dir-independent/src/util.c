/* util.c — asserts and __FILE__ / __builtin_FILE() in the unit itself. */
#include "util.h"
int scale(int v) { assert(v < 1000000); return checked(v) * 3; }
const char *where(void) { static const char *const files[2] = { __FILE__, __builtin_FILE() }; return files[scale(0) & 1]; }

/* util.h — a header whose inline function names its own file (__FILE__ in a header). */
#include <assert.h>
static inline int checked(int v) { assert(v >= 0 && "negative"); return v; }
int scale(int v);
const char *where(void);

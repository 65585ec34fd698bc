/* The library: the bug is in counter_step, which lets the value run past its limit. */
#include <assert.h>
#include "counter.h"

#define LIMIT 100

static int clamp(int v)
{
	assert(v >= 0);
	return v;
}

__attribute__((noinline)) int counter_step(int value, int by)
{
	assert(by >= 0);
	return clamp(value + by);
}

/* Unchanged by the fix, but below it: its assert's line number moves. */
__attribute__((noinline)) int counter_valid(int value)
{
	assert(value >= 0);
	return value <= LIMIT;
}

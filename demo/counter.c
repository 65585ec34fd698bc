/* counter.c — the demo's sample program: a few functions, one of them with an off-by-one. */
#include <stdio.h>

static const char *names[] = { "alpha", "beta", "gamma", "delta" };

/* Sums the first n values; the loop bound is the bug that v2 fixes. */
int sum_first(const int *values, int n)
{
	int total = 0;
	for (int i = 0; i <= n; i++)
		total += values[i];
	return total;
}

const char *name_of(int i)
{
	return names[i & 3];
}

int main(void)
{
	int values[] = { 1, 2, 3, 4, 0 };
	printf("sum of the first 3 values of %s: %d\n", name_of(1), sum_first(values, 3));
	return 0;
}

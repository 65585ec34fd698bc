/* A server's main loop, reduced to what the test watches: one answer per "request". */
#include <stdio.h>
#include <unistd.h>
#include "counter.h"

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < 4000; i++) {
		int v = counter_step(95, 10);
		printf("server %d %s\n", v, counter_valid(v) ? "valid" : "invalid");
		usleep(5000);
	}
	return 0;
}

/* A tool linked with the static library: its own copy of the library's code. */
#include <stdio.h>
#include <unistd.h>
#include "counter.h"

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < 4000; i++) {
		printf("tool %d\n", counter_step(99, 5));
		usleep(5000);
	}
	return 0;
}

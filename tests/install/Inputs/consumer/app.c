/* The consumer's program: prints a value in a loop, as a server would answer requests. */
#include <stdio.h>
#include <unistd.h>
int base = 1;
__attribute__((noinline)) int value(void) { return base; }
int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < 2000; i++) {
		printf("value %d\n", value());
		usleep(5000);
	}
	return 0;
}

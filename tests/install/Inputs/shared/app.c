/* Prints the library's value in a loop. */
#include <stdio.h>
#include <unistd.h>
int value(void);
int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < 2000; i++) {
		printf("value %d\n", value());
		usleep(5000);
	}
	return 0;
}

/* churn-app.c: a program whose two threads allocate and free memory without pause and never
 * block in a system call, for attach-busy.test: there is no moment when a thread is surely
 * outside malloc, so loading the runtime (dlopen, which takes malloc's lock) must be refused,
 * the program unharmed.  Prints "ready", then "alive N" on SIGUSR1. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int one = 1;
__attribute__((noinline)) int value(void) { return one; }

static volatile unsigned long rounds;

static void on_usr1(int s)
{
	(void)s;
	char line[64];
	int n = snprintf(line, sizeof line, "alive %d\n", rounds > 0);
	write(1, line, (size_t)n);
}

static void *churn(void *arg)
{
	void *keep[64] = { 0 };
	for (unsigned long i = 0;; i++) {
		unsigned k = (unsigned)((i * 2654435761u) % 64);
		free(keep[k]);
		keep[k] = malloc(2000 + (i % 7) * 3000);
		memset(keep[k], 1, 16);
		rounds++;
	}
	return arg;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", value());
	pthread_t t;
	pthread_create(&t, NULL, churn, NULL);
	churn(NULL);
}

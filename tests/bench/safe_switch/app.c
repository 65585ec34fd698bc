/* app.c — the program tests/bench/safe_switch.sh patches: THREADS threads that each call work()
 * (the function the package replaces) and then sleep, BUSY percent of the time inside work(),
 * the rest asleep in nanosleep; it prints nothing, and counts wrong results in its exit status. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static int busy_percent;

/* About 1 ms of arithmetic per call; the package changes the arithmetic. */
__attribute__((noinline)) unsigned long work(unsigned long n)
{
	unsigned long s = 0;
	for (unsigned long i = 0; i < n; i++)
		s += i ^ (s >> 3);
	return s;
}

static void *loop(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec t = { 0, 0 };
		if (busy_percent) {
			sink += work(300000);
			t.tv_nsec = (100 - busy_percent) * 1000000L / busy_percent;
		} else {
			t.tv_sec = 1;
		}
		if (t.tv_nsec || t.tv_sec)
			nanosleep(&t, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	busy_percent = argc > 2 ? atoi(argv[2]) : 0;
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, loop, NULL);
	}
	loop(NULL);
}

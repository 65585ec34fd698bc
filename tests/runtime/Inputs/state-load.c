/* state-load.c — the fixed part of the live state tests (state-*.test): THREADS threads call
 * app_step(thread) (the test's check.c) in a loop, which returns how many wrong results it saw,
 * while the main thread applies the package argv[1], lets them run, calls app_applied(), reverts
 * and calls app_reverted().  app_phase() tells the callers where the main thread is: 1 once the
 * apply returned, 2 right before the revert.  With argv[2] "quiet-revert" the callers are held outside the
 * program's code while the revert runs (what hpctl revert --safe gives a program: no thread
 * inside the package's code when its shadow data is freed); otherwise they run throughout.
 * With argv[1] "--serve" it only sets up and waits, for hpctl to patch; with "--show" it sets up,
 * calls app_applied() (what the program looks like as it starts) and exits. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "hotpatch.h"
#include "read_file.h"

#define THREADS 8

void app_setup(void);
int app_step(int thread);
void app_phase(int phase);
void app_applied(void);
void app_reverted(void);

static int stop, hold, held;         /* atomic */
static unsigned long steps[THREADS]; /* atomic */
static unsigned long long wrong;     /* atomic */

static void *caller(void *arg)
{
	int t = (int)(long)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&hold, __ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&held, 1, __ATOMIC_ACQ_REL);
			while (__atomic_load_n(&hold, __ATOMIC_ACQUIRE))
				sched_yield();
			__atomic_sub_fetch(&held, 1, __ATOMIC_ACQ_REL);
		}
		__atomic_add_fetch(&wrong, (unsigned long long)app_step(t), __ATOMIC_RELAXED);
		__atomic_add_fetch(&steps[t], 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Until every caller has made a few more steps. */
static void let_run(void)
{
	unsigned long since[THREADS];
	for (int t = 0; t < THREADS; t++)
		since[t] = __atomic_load_n(&steps[t], __ATOMIC_ACQUIRE);
	for (int t = 0; t < THREADS; t++)
		while (__atomic_load_n(&steps[t], __ATOMIC_ACQUIRE) < since[t] + 50)
			sched_yield();
}

static void report(const char *what, int rc)
{
	if (rc < 0)
		printf("%s: %s: %s\n", what, hp_strerror(rc), hp_last_error());
	else
		printf("%s: ok\n", what);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "--show")) {
		app_setup();
		app_applied();
		return 0;
	}
	if (!strcmp(argv[1], "--serve")) {
		app_setup();
		for (;;)
			pause();
	}
	size_t size = 0;
	void *pkg = read_all(argv[1], &size);
	app_setup();
	pthread_t threads[THREADS];
	for (long t = 0; t < THREADS; t++)
		if (pthread_create(&threads[t], NULL, caller, (void *)t))
			return 1;
	let_run();
	report("apply", hp_apply(pkg, size));
	app_phase(1);
	let_run();
	app_applied();
	app_phase(2);
	int quiet = argc > 2 && !strcmp(argv[2], "quiet-revert");
	if (quiet) {
		__atomic_store_n(&hold, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&held, __ATOMIC_ACQUIRE) < THREADS)
			sched_yield();
	}
	report("revert", hp_revert(0));
	__atomic_store_n(&hold, 0, __ATOMIC_RELEASE);
	let_run();
	app_reverted();
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
	printf("wrong %llu\n", wrong);
	return 0;
}

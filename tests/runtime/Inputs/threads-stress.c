/* threads-stress.c — a test program's fixed part for patching under load: THREADS threads call
 * probe_a() and probe_b() (in app.c) in tight loops while the main thread applies the package
 * named by argv[1] and reverts it, argv[2] times (default 1000).  Each call must return the old
 * or the new result of its function (OLD_A/NEW_A, OLD_B/NEW_B, given with -D); the program
 * counts both and anything else.  The main thread also checks, after every apply and every
 * revert, that its own calls give the new or the old result respectively, and lets the callers
 * make some calls in each state before switching again. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "hotpatch.h"
#include "read_file.h"

#define THREADS 8

int probe_a(void);
int probe_b(void);

static int stop, ready;  /* atomic */
static unsigned long progress;  /* atomic: batches of calls made by all callers */
static unsigned long long total_old, total_new, total_bad;  /* atomic */

static void *caller(void *arg)
{
	(void)arg;
	unsigned long long old = 0, new = 0, bad = 0;
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (int i = 0; i < 256; i++) {
			int a = probe_a(), b = probe_b();
			old += (a == OLD_A) + (b == OLD_B);
			new += (a == NEW_A) + (b == NEW_B);
			bad += (a != OLD_A && a != NEW_A) + (b != OLD_B && b != NEW_B);
		}
		__atomic_add_fetch(&progress, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&total_old, old, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_new, new, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_bad, bad, __ATOMIC_RELAXED);
	return NULL;
}


static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* Waits until the callers have made a couple of batches of calls since [since], for at most a
 * millisecond (a busy machine must not make the test slow: it then just switches sooner). */
static void let_callers_run(unsigned long since)
{
	long long deadline = now_us() + 1000;
	for (;;) {
		for (int i = 0; i < 1024; i++)
			if (__atomic_load_n(&progress, __ATOMIC_RELAXED) - since >= 2)
				return;
		if (now_us() > deadline)
			return;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int cycles = argc > 2 ? atoi(argv[2]) : 1000;
	size_t size = 0;
	void *pkg = read_all(argv[1], &size);
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, caller, NULL))
			return 1;
	while (__atomic_load_n(&ready, __ATOMIC_RELAXED) < THREADS)
		sched_yield();

	int applied = 0, reverted = 0, main_bad = 0, failed = 0;
	for (int c = 0; c < cycles && !failed; c++) {
		int id = hp_apply(pkg, size);
		if (id < 0) {
			printf("apply %d failed: %s: %s\n", c, hp_strerror(id), hp_last_error());
			failed = 1;
			break;
		}
		applied++;
		main_bad += probe_a() != NEW_A || probe_b() != NEW_B;
		/* The callers run in the new code for a moment (no sched_yield(): with more callers
		 * than cores it would queue the main thread behind all of them every time). */
		let_callers_run(__atomic_load_n(&progress, __ATOMIC_RELAXED));
		int rc = hp_revert(id);
		if (rc) {
			printf("revert %d failed: %s: %s\n", c, hp_strerror(rc), hp_last_error());
			failed = 1;
			break;
		}
		reverted++;
		main_bad += probe_a() != OLD_A || probe_b() != OLD_B;
		let_callers_run(__atomic_load_n(&progress, __ATOMIC_RELAXED));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);

	printf("applied %d, reverted %d\n", applied, reverted);
	printf("main bad %d\n", main_bad);
	printf("old seen: %s\n", total_old ? "yes" : "no");
	printf("new seen: %s\n", total_new ? "yes" : "no");
	printf("bad %llu\n", total_bad);
	fprintf(stderr, "calls: %llu old, %llu new, %llu bad\n", total_old, total_new, total_bad);
	free(pkg);
	return failed || main_bad || total_bad ? 1 : 0;
}

/* driver.c — for tests/bench/runtime_apply.sh: the fixed part of the benchmark program, the same in
 * OLD and NEW.  The generated fns.c next to it holds fn_count functions f_i(x) (x + i in OLD,
 * x + i + 1 in NEW) and fn_table, which points at all of them.
 *
 *   app pause PACKAGE ROUNDS WORKERS
 *       WORKERS threads call fn_table[i] in a tight loop, each noting the longest gap between two
 *       consecutive iterations (CLOCK_MONOTONIC) that overlaps a "window"; the main thread opens a
 *       window around each hp_apply, around each hp_revert, and around a spin of the same length as
 *       the apply (the baseline: what the machine's scheduling alone does to the workers).  A gap
 *       longer than 2 us is classified with getrusage(RUSAGE_THREAD): an involuntary context
 *       switch during it means the worker was preempted (scheduling), a voluntary one that it
 *       blocked in the kernel (a page fault waiting on a lock, say).  Prints one line per round.
 *   app mem PACKAGE
 *       Memory (smaps_rollup) just before and after one hp_apply, and after its revert.
 *
 * Every line is "key value key value ..." for the script to read; failures are "error ..." lines
 * and exit status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hotpatch.h"
#include "procmem.h"
#include "read_file.h"

extern int (*const fn_table[])(int);
extern const unsigned fn_count;

#define MAX_WORKERS 64
#define MAX_ROUNDS 1000
#define WINDOWS_PER_ROUND 3
enum { W_APPLY, W_BASELINE, W_REVERT };
#define CLASSIFY_NS 2000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct worker {
	_Alignas(64) _Atomic uint64_t last;  /* end of its latest iteration */
	pthread_t thread;
	unsigned index;
	uint64_t calls, bad;
	uint64_t gap[MAX_ROUNDS * WINDOWS_PER_ROUND];       /* longest gap overlapping the window */
	uint64_t gap_own[MAX_ROUNDS * WINDOWS_PER_ROUND];   /* the same, among gaps not preempted */
	unsigned blocked[MAX_ROUNDS * WINDOWS_PER_ROUND];   /* gaps in which it slept in the kernel */
};

static struct worker *workers;
static unsigned worker_count;
static _Atomic int current = -1;      /* the window being watched */
static uint64_t opened[MAX_ROUNDS * WINDOWS_PER_ROUND];
static _Atomic uint64_t closed[MAX_ROUNDS * WINDOWS_PER_ROUND];
static _Atomic int stop;
static volatile int input;            /* 0, unknown to the compiler */

static void *work(void *arg)
{
	struct worker *w = arg;
	const unsigned n = fn_count;
	unsigned i = (unsigned)((uint64_t)w->index * n / worker_count);
	int x = input;
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	long nivcsw = ru.ru_nivcsw, nvcsw = ru.ru_nvcsw;
	uint64_t prev = now_ns();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int r = fn_table[i](x);
		if (r != x + (int)i && r != x + (int)i + 1)
			w->bad++;
		w->calls++;
		if (++i == n)
			i = 0;
		uint64_t t = now_ns(), gap = t - prev;
		int preempted = 0, slept = 0;
		if (gap > CLASSIFY_NS) {
			getrusage(RUSAGE_THREAD, &ru);
			preempted = ru.ru_nivcsw != nivcsw;
			slept = ru.ru_nvcsw != nvcsw;
			nivcsw = ru.ru_nivcsw;
			nvcsw = ru.ru_nvcsw;
		}
		int c = atomic_load_explicit(&current, memory_order_acquire);
		if (c >= 0 && t > opened[c] && prev < atomic_load_explicit(&closed[c], memory_order_acquire)) {
			if (gap > w->gap[c])
				w->gap[c] = gap;
			if (!preempted && gap > w->gap_own[c])
				w->gap_own[c] = gap;
			w->blocked[c] += slept;
		}
		prev = gap > CLASSIFY_NS ? now_ns() : t;  /* getrusage's own time is not a pause */
		atomic_store_explicit(&w->last, prev, memory_order_release);
	}
	return NULL;
}

static void open_window(int c)
{
	opened[c] = now_ns();
	atomic_store_explicit(&closed[c], UINT64_MAX, memory_order_release);
	atomic_store_explicit(&current, c, memory_order_release);
}

/* Closes the window and waits until every worker has finished the iteration it was in, so that
 * the gaps overlapping the window are all counted.  Returns -1 if a worker does not move in 10 s. */
static int close_window(int c)
{
	uint64_t t = now_ns();
	atomic_store_explicit(&closed[c], t, memory_order_release);
	for (unsigned k = 0; k < worker_count; k++)
		while (atomic_load_explicit(&workers[k].last, memory_order_acquire) <= t) {
			if (now_ns() - t > 10000000000u)
				return -1;
			sched_yield();
		}
	return 0;
}

/* The window's longest gap over all workers, and how many gaps slept in the kernel. */
static void window_result(int c, uint64_t *gap, uint64_t *own, unsigned *blocked)
{
	*gap = *own = 0;
	*blocked = 0;
	for (unsigned k = 0; k < worker_count; k++) {
		if (workers[k].gap[c] > *gap)
			*gap = workers[k].gap[c];
		if (workers[k].gap_own[c] > *own)
			*own = workers[k].gap_own[c];
		*blocked += workers[k].blocked[c];
	}
}

/* Calls every function from this thread: how many do not give x + delta. */
static unsigned check(int delta)
{
	unsigned wrong = 0;
	for (unsigned k = 0; k < fn_count; k++)
		wrong += fn_table[k](input) != input + (int)k + delta;
	return wrong;
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000 };
	nanosleep(&ts, NULL);
}


static void print_membarrier(void)
{
	long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	printf("membarrier query %ld sync_core %d\n", mask,
	       mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) ? 1 : 0);
}

static int run_pause(const void *pkg, size_t size, int rounds)
{
	int failed = 0;
	workers = aligned_alloc(64, sizeof *workers * worker_count);
	if (!workers) {
		printf("error out of memory\n");
		return 1;
	}
	memset(workers, 0, sizeof *workers * worker_count);
	for (unsigned k = 0; k < worker_count; k++) {
		workers[k].index = k;
		atomic_store(&workers[k].last, now_ns());
		if (pthread_create(&workers[k].thread, NULL, work, &workers[k])) {
			printf("error cannot start worker %u\n", k);
			exit(1);
		}
	}
	pause_us(100000);  /* warm up: every function called, every page present */
	struct procmem first = { 0 }, last = { 0 };
	unsigned wrong = 0;
	for (int r = 0; r < rounds && !failed; r++) {
		int w = r * WINDOWS_PER_ROUND;
		uint64_t gap[WINDOWS_PER_ROUND], own[WINDOWS_PER_ROUND], took[WINDOWS_PER_ROUND];
		unsigned blocked[WINDOWS_PER_ROUND];

		open_window(w + W_APPLY);
		uint64_t t0 = now_ns();
		int id = hp_apply(pkg, size);
		uint64_t t1 = now_ns();
		took[W_APPLY] = t1 - t0;
		if (close_window(w + W_APPLY)) {
			printf("error round %d: a worker stopped moving during apply\n", r);
			failed = 1;
			break;
		}
		if (id <= 0) {
			printf("error round %d: hp_apply: %s: %s\n", r, hp_strerror(id), hp_last_error());
			failed = 1;
			break;
		}
		wrong += check(1);
		pause_us(1000);

		open_window(w + W_BASELINE);
		t0 = now_ns();
		while ((t1 = now_ns()) - t0 < took[W_APPLY])
			;
		took[W_BASELINE] = t1 - t0;
		if (close_window(w + W_BASELINE)) {
			printf("error round %d: a worker stopped moving during the baseline\n", r);
			failed = 1;
			break;
		}
		pause_us(1000);

		open_window(w + W_REVERT);
		t0 = now_ns();
		int rc = hp_revert(id);
		t1 = now_ns();
		took[W_REVERT] = t1 - t0;
		if (close_window(w + W_REVERT)) {
			printf("error round %d: a worker stopped moving during revert\n", r);
			failed = 1;
			break;
		}
		if (rc < 0) {
			printf("error round %d: hp_revert: %s: %s\n", r, hp_strerror(rc), hp_last_error());
			failed = 1;
			break;
		}
		wrong += check(0);
		pause_us(1000);

		for (int k = 0; k < WINDOWS_PER_ROUND; k++)
			window_result(w + k, &gap[k], &own[k], &blocked[k]);
		printf("round %d apply_ns %llu apply_gap_ns %llu apply_own_ns %llu apply_blocked %u"
		       " baseline_ns %llu baseline_gap_ns %llu baseline_own_ns %llu baseline_blocked %u"
		       " revert_ns %llu revert_gap_ns %llu revert_own_ns %llu revert_blocked %u\n",
		       r, (unsigned long long)took[W_APPLY], (unsigned long long)gap[W_APPLY],
		       (unsigned long long)own[W_APPLY], blocked[W_APPLY], (unsigned long long)took[W_BASELINE],
		       (unsigned long long)gap[W_BASELINE], (unsigned long long)own[W_BASELINE], blocked[W_BASELINE],
		       (unsigned long long)took[W_REVERT], (unsigned long long)gap[W_REVERT],
		       (unsigned long long)own[W_REVERT], blocked[W_REVERT]);
		if (r == 0)
			procmem_self(&first);
	}
	procmem_self(&last);
	atomic_store(&stop, 1);
	uint64_t calls = 0, bad = 0;
	for (unsigned k = 0; k < worker_count; k++) {
		pthread_join(workers[k].thread, NULL);
		calls += workers[k].calls;
		bad += workers[k].bad;
	}
	printf("summary calls %llu bad_results %llu wrong_after_switch %u rss_after_round1_kib %ld rss_at_end_kib %ld\n",
	       (unsigned long long)calls, (unsigned long long)bad, wrong, first.rss, last.rss);
	if (bad || wrong) {
		printf("error %llu wrong results in the workers, %u after apply/revert in the main thread\n",
		       (unsigned long long)bad, wrong);
		failed = 1;
	}
	return failed;
}

static int run_mem(const void *pkg, size_t size)
{
	struct procmem before, after, reverted;
	check(0);  /* every function's page present before measuring */
	procmem_self(&before);
	long cow_before = procmem_exe_anonymous();
	int id = hp_apply(pkg, size);
	if (id <= 0) {
		printf("error hp_apply: %s: %s\n", hp_strerror(id), hp_last_error());
		return 1;
	}
	procmem_self(&after);
	long cow_after = procmem_exe_anonymous();
	unsigned wrong = check(1);
	int rc = hp_revert(id);
	procmem_self(&reverted);
	printf("mem rss_before %ld rss_after %ld pss_before %ld pss_after %ld anonymous_before %ld anonymous_after %ld"
	       " exe_cow_before %ld exe_cow_after %ld rss_reverted %ld threads %ld\n",
	       before.rss, after.rss, before.pss, after.pss, before.anonymous, after.anonymous, cow_before, cow_after,
	       reverted.rss, after.threads);
	if (wrong || rc < 0) {
		printf("error %u functions wrong after apply; revert %s\n", wrong, rc < 0 ? hp_strerror(rc) : "ok");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	procmem_init();
	if (argc < 3) {
		fprintf(stderr, "usage: app pause PACKAGE ROUNDS WORKERS | app mem PACKAGE\n");
		return 2;
	}
	size_t size = 0;
	void *pkg = read_all(argv[2], &size);
	if (!pkg || !size) {
		printf("error cannot read %s\n", argv[2]);
		return 1;
	}
	printf("functions %u\n", fn_count);
	print_membarrier();
	if (!strcmp(argv[1], "mem"))
		return run_mem(pkg, size);
	if (!strcmp(argv[1], "pause") && argc == 5) {
		int rounds = atoi(argv[3]);
		worker_count = (unsigned)atoi(argv[4]);
		if (rounds < 1 || rounds > MAX_ROUNDS || worker_count < 1 || worker_count > MAX_WORKERS) {
			fprintf(stderr, "ROUNDS must be 1..%d and WORKERS 1..%d\n", MAX_ROUNDS, MAX_WORKERS);
			return 2;
		}
		return run_pause(pkg, size, rounds);
	}
	fprintf(stderr, "usage: app pause PACKAGE ROUNDS WORKERS | app mem PACKAGE\n");
	return 2;
}

/* bench.c — for tests/bench/shadow_get.sh: what reading a field through hp_shadow_get costs next
 * to reading a field of the object itself.
 *
 *   bench MODE THREADS OBJECTS OPS
 *
 * OBJECTS objects of 64 bytes are allocated one by one (as a program's live objects are), each
 * with a shadow block (id 1) holding the same number as its field; both modes set up the same,
 * so that the heap is laid out alike.  Then THREADS threads, released together, each make OPS
 * reads in a fixed pseudo-random order over all objects (each thread from another starting
 * point): MODE "direct" reads object->field, MODE "shadow" reads hp_shadow_get(object, 1)->field.
 * One line: "mode M threads T ops N wall_ns W cpu_ns C sum S", where wall_ns is from the release
 * to the last thread's end, cpu_ns the threads' CPU time added up (CLOCK_THREAD_CPUTIME_ID: time
 * waiting for a core or for a lock in the kernel is not in it), and sum what all reads added up
 * to, the same for both modes (else "error ..." and exit 1). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpatch_state.h"

#define MAX_THREADS 64
#define SHADOW_ID 1

struct object {
	long field;
	char rest[56];
};

struct ext {
	long field;
};

static struct object **objects;
static uint32_t *order;  /* the indexes in the order they are read, OBJECTS of them */
static size_t object_count, ops;
static int shadow_mode;
static pthread_barrier_t go;

struct worker {
	_Alignas(64) pthread_t thread;
	size_t first;
	long sum;
	uint64_t cpu_ns, end_ns;
};

static uint64_t ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* noinline: one loop per mode, each compiled on its own, neither knowing the other exists. */
__attribute__((noinline)) static long read_direct(size_t i, size_t n)
{
	long sum = 0;
	for (size_t k = 0; k < n; k++, i = i + 1 == object_count ? 0 : i + 1)
		sum += objects[order[i]]->field;
	return sum;
}

__attribute__((noinline)) static long read_shadow(size_t i, size_t n)
{
	long sum = 0;
	for (size_t k = 0; k < n; k++, i = i + 1 == object_count ? 0 : i + 1) {
		const struct ext *e = hp_shadow_get(objects[order[i]], SHADOW_ID);
		sum += e ? e->field : -1000000;
	}
	return sum;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(&go);
	uint64_t cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
	w->sum = shadow_mode ? read_shadow(w->first, ops) : read_direct(w->first, ops);
	w->cpu_ns = ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	w->end_ns = ns(CLOCK_MONOTONIC);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "direct") && strcmp(argv[1], "shadow"))) {
		fprintf(stderr, "usage: bench direct|shadow THREADS OBJECTS OPS\n");
		return 2;
	}
	shadow_mode = !strcmp(argv[1], "shadow");
	int threads = atoi(argv[2]);
	object_count = strtoul(argv[3], NULL, 10);
	ops = strtoul(argv[4], NULL, 10);
	if (threads < 1 || threads > MAX_THREADS || object_count < 1 || object_count > UINT32_MAX || ops < 1) {
		fprintf(stderr, "error: THREADS must be 1 to %d, OBJECTS and OPS positive\n", MAX_THREADS);
		return 2;
	}
	objects = calloc(object_count, sizeof *objects);
	order = calloc(object_count, sizeof *order);
	if (!objects || !order) {
		fprintf(stderr, "error: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < object_count; i++) {
		objects[i] = calloc(1, sizeof **objects);
		struct ext *e = objects[i] ? hp_shadow_get_or_alloc(objects[i], SHADOW_ID, sizeof *e, NULL, NULL) : NULL;
		if (!e) {
			fprintf(stderr, "error: out of memory\n");
			return 1;
		}
		objects[i]->field = e->field = (long)(i % 1000);
		order[i] = (uint32_t)i;
	}
	/* A fixed shuffle (xorshift), the same in both modes and every run. */
	uint64_t x = 0x2545f4914f6cdd1du;
	for (size_t i = object_count - 1; i > 0; i--) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t j = x % (i + 1);
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* Reading every object once beforehand: the first timed pass does not page anything in. */
	long warm = shadow_mode ? read_shadow(0, object_count) : read_direct(0, object_count);
	(void)warm;

	struct worker *w = aligned_alloc(64, sizeof *w * (size_t)threads);
	if (!w || pthread_barrier_init(&go, NULL, (unsigned)threads + 1)) {
		fprintf(stderr, "error: cannot set up the threads\n");
		return 1;
	}
	memset(w, 0, sizeof *w * (size_t)threads);
	for (int t = 0; t < threads; t++) {
		w[t].first = object_count / (size_t)threads * (size_t)t;
		if (pthread_create(&w[t].thread, NULL, work, &w[t])) {
			fprintf(stderr, "error: cannot start thread %d\n", t);
			return 1;
		}
	}
	uint64_t start = ns(CLOCK_MONOTONIC);
	pthread_barrier_wait(&go);
	uint64_t end = start, cpu = 0;
	long sum = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(w[t].thread, NULL);
		sum += w[t].sum;
		cpu += w[t].cpu_ns;
		end = w[t].end_ns > end ? w[t].end_ns : end;
	}
	/* The expected sum, computed apart from either loop. */
	long expect = 0;
	for (int t = 0; t < threads; t++)
		for (size_t k = 0, i = w[t].first; k < ops; k++, i = i + 1 == object_count ? 0 : i + 1)
			expect += (long)(order[i] % 1000);
	if (sum != expect) {
		fprintf(stderr, "error: %s reads added up to %ld, not %ld\n", argv[1], sum, expect);
		return 1;
	}
	printf("mode %s threads %d ops %zu wall_ns %llu cpu_ns %llu sum %ld\n", argv[1], threads, ops * (size_t)threads,
	       (unsigned long long)(end - start), (unsigned long long)cpu, sum);
	return 0;
}

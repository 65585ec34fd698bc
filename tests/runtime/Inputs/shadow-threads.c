/* shadow-threads.c — shadow data under concurrency (hotpatch_state.h: "every call is
 * thread-safe", "two threads asking at once get the same block, built once").
 *
 *  - together: ROUNDS times, THREADS threads released at once by a barrier ask for the same new
 *    (object, id) with a slow ctor; all must get one pointer, and the ctor must have run once.
 *  - hammer: THREADS threads each make ITERATIONS random calls on OBJECTS shared objects and two
 *    ids: hp_shadow_get_or_alloc (with a ctor that sometimes fails), hp_shadow_get and
 *    hp_shadow_free; half the calls go to the first HOT objects, so that threads often meet on
 *    one (object, id), the other half spread over all of them.  Each object counts its live blocks (ctor +1, dtor -1): the count must never
 *    go above 1 nor below 0 (a second ctor for a live block, a dtor twice), and at the end it must
 *    be 1 exactly for the (object, id) hp_shadow_get finds; hp_shadow_free_all then brings every
 *    count to 0.  As callers of shadow data must, a thread uses a block only while nobody can free
 *    it: an object's rwlock is held for reading around get/get_or_alloc and the use of the block,
 *    for writing around hp_shadow_free (many threads still build and read the same object's block
 *    at once).
 *  - readers during churn: half the threads read the blocks of STEADY objects that nobody frees
 *    (hp_shadow_get must give each its one block, every time), while the other half allocate
 *    and free blocks of CHURN other objects in the same tables, so that the readers, which take
 *    no lock, keep meeting slots being filled, emptied, moved and tables growing.
 * Only counts that must be exact are printed, so the output is the same on every run; a program
 * that hangs (a waiter never woken) is stopped by an alarm after 5 minutes. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hotpatch_state.h"

#define THREADS 8
#define ROUNDS 200
#define OBJECTS 1000
#define ITERATIONS 200000
#define HOT 16
#define IDS 2
#define MAGIC 0x5eed5eedu
#define STEADY 2000
#define CHURN 20000
#define CHURN_ID 5

struct object {
	pthread_rwlock_t rw;
	int live[IDS], ctors[IDS], dtors[IDS];  /* atomic */
};

struct shadow {
	unsigned magic;
	unsigned id;
	struct object *object;
	unsigned long uses;  /* atomic */
};

static struct object objects[OBJECTS];
static unsigned long errors;  /* atomic */
static unsigned long failed_ctors;  /* atomic: for the line saying the failing path was taken */

static void error(const char *what)
{
	if (__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED) < 10)
		fprintf(stderr, "error: %s\n", what);
}

/* arg: the id, and bit 8 set: fail. */
static int ctor(void *object, void *shadow, void *arg)
{
	struct object *o = object;
	struct shadow *s = shadow;
	uintptr_t a = (uintptr_t)arg;
	unsigned id = a & 0xff;
	if (s->magic || s->object || s->uses)
		error("a new block is not zeroed");
	if (a & 0x100) {
		__atomic_fetch_add(&failed_ctors, 1, __ATOMIC_RELAXED);
		return 1;
	}
	if (__atomic_fetch_add(&o->live[id], 1, __ATOMIC_ACQ_REL) != 0)
		error("a second ctor ran for a live (object, id)");
	__atomic_fetch_add(&o->ctors[id], 1, __ATOMIC_RELAXED);
	if ((a >> 9) % 16 == 0)
		sched_yield();  /* now and then a slow ctor, so that others wait for it */
	s->magic = MAGIC;
	s->id = id;
	s->object = o;
	return 0;
}

static void dtor(void *object, void *shadow)
{
	struct object *o = object;
	struct shadow *s = shadow;
	if (s->magic != MAGIC || s->object != o || s->id >= IDS) {
		error("dtor given a block that is not this object's");
		return;
	}
	if (__atomic_fetch_sub(&o->live[s->id], 1, __ATOMIC_ACQ_REL) != 1)
		error("dtor for an (object, id) that is not live");
	__atomic_fetch_add(&o->dtors[s->id], 1, __ATOMIC_RELAXED);
	s->magic = 0;
}

static void check_block(const struct shadow *s, const struct object *o, unsigned id)
{
	if (s->magic != MAGIC || s->object != o || s->id != id)
		error("a block that is not the (object, id)'s");
}

/* ---- together ---- */

static pthread_barrier_t start, done;
static struct object together_objects[ROUNDS];
static void *got[ROUNDS][THREADS];

static int slow_ctor(void *object, void *shadow, void *arg)
{
	(void)shadow, (void)arg;
	struct object *o = object;
	__atomic_fetch_add(&o->ctors[0], 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 20; i++)
		sched_yield();
	return 0;
}

static void *together(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&start);
		got[r][t] = hp_shadow_get_or_alloc(&together_objects[r], 1, 64, slow_ctor, NULL);
		pthread_barrier_wait(&done);
	}
	return NULL;
}

/* ---- hammer ---- */

static void *hammer(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15u * ((uintptr_t)arg + 1);
	for (int i = 0; i < ITERATIONS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct object *o = &objects[(x >> 8) % (x >> 63 ? HOT : OBJECTS)];
		unsigned id = (x >> 40) % IDS;
		unsigned op = (x >> 48) % 10;
		if (op < 5) {  /* get_or_alloc; one in five of them with a ctor that fails */
			int fail = (x >> 56) % 5 == 0;
			uintptr_t a = id | (fail ? 0x100 : 0) | (uintptr_t)((x >> 20) & 0xff) << 9;
			pthread_rwlock_rdlock(&o->rw);
			struct shadow *s = hp_shadow_get_or_alloc(o, id, sizeof *s, ctor, (void *)a);
			if (s) {
				check_block(s, o, id);
				__atomic_fetch_add(&s->uses, 1, __ATOMIC_RELAXED);
			} else if (!fail) {
				error("hp_shadow_get_or_alloc returned NULL, its ctor did not fail");
			}
			pthread_rwlock_unlock(&o->rw);
		} else if (op < 8) {
			pthread_rwlock_rdlock(&o->rw);
			struct shadow *s = hp_shadow_get(o, id);
			if (s)
				check_block(s, o, id);
			pthread_rwlock_unlock(&o->rw);
		} else {
			pthread_rwlock_wrlock(&o->rw);
			hp_shadow_free(o, id, dtor);
			if (hp_shadow_get(o, id))
				error("a block is still there after hp_shadow_free");
			pthread_rwlock_unlock(&o->rw);
		}
	}
	return NULL;
}

/* ---- readers during churn ---- */

static int steady[STEADY], churned[CHURN];
static void *steady_block[STEADY];
static int churn_done;  /* atomic: writers finished */
static unsigned long wrong_reads, reads;  /* atomic */

static void *churn_reader(void *arg)
{
	unsigned long wrong = 0, n = 0;
	size_t i = (uintptr_t)arg * 7919;
	while (!__atomic_load_n(&churn_done, __ATOMIC_ACQUIRE)) {
		for (int k = 0; k < 1000; k++, n++) {
			i = (i + 1) % STEADY;
			wrong += hp_shadow_get(&steady[i], CHURN_ID) != steady_block[i];
		}
	}
	__atomic_fetch_add(&wrong_reads, wrong, __ATOMIC_RELAXED);
	__atomic_fetch_add(&reads, n, __ATOMIC_RELAXED);
	return NULL;
}

static void *churn_writer(void *arg)
{
	uint64_t x = 0x2545f4914f6cdd1du * ((uintptr_t)arg + 1);
	for (int round = 0; round < 4; round++) {
		/* Fill, then empty in another order: growth first, then removals that shift slots. */
		for (int k = 0; k < CHURN / 2; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (!hp_shadow_get_or_alloc(&churned[x % CHURN], CHURN_ID, 8, NULL, NULL))
				error("no block for a churned object");
		}
		for (int k = 0; k < CHURN / 2; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			hp_shadow_free(&churned[x % CHURN], CHURN_ID, NULL);
		}
	}
	return NULL;
}

int main(void)
{
	alarm(300);
	pthread_t t[THREADS];
	pthread_barrier_init(&start, NULL, THREADS);
	pthread_barrier_init(&done, NULL, THREADS);
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, together, (void *)(uintptr_t)i)) {
			perror("pthread_create");
			return 1;
		}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int same = 0, once = 0;
	for (int r = 0; r < ROUNDS; r++) {
		int all = got[r][0] != NULL;
		for (int i = 1; i < THREADS; i++)
			all &= got[r][i] == got[r][0];
		same += all;
		once += together_objects[r].ctors[0] == 1;
	}
	printf("together: %d rounds, one block for all %d threads in %d, ctor once in %d\n", ROUNDS, THREADS, same, once);
	hp_shadow_free_all(1, NULL);

	for (int i = 0; i < OBJECTS; i++)
		pthread_rwlock_init(&objects[i].rw, NULL);
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i)) {
			perror("pthread_create");
			return 1;
		}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);

	int consistent = 0, live = 0;
	for (int i = 0; i < OBJECTS; i++)
		for (unsigned id = 0; id < IDS; id++) {
			struct object *o = &objects[i];
			struct shadow *s = hp_shadow_get(o, id);
			if (s)
				check_block(s, o, id);
			live += s != NULL;
			consistent += o->live[id] == (s != NULL) && o->ctors[id] - o->dtors[id] == o->live[id];
		}
	printf("hammer: %d of %d (object, id) consistent, some live %s, failing ctors seen %s\n", consistent,
	       OBJECTS * IDS, live ? "yes" : "no", failed_ctors ? "yes" : "no");
	for (unsigned id = 0; id < IDS; id++)
		hp_shadow_free_all(id, dtor);
	int zero = 0, left = 0;
	for (int i = 0; i < OBJECTS; i++)
		for (unsigned id = 0; id < IDS; id++) {
			zero += objects[i].live[id] == 0 && objects[i].ctors[id] == objects[i].dtors[id];
			left += hp_shadow_get(&objects[i], id) != NULL;
		}
	printf("free_all: %d of %d back to zero, %d left\n", zero, OBJECTS * IDS, left);

	for (int i = 0; i < STEADY; i++)
		if (!(steady_block[i] = hp_shadow_get_or_alloc(&steady[i], CHURN_ID, 8, NULL, NULL))) {
			fprintf(stderr, "error: out of memory\n");
			return 1;
		}
	for (unsigned i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, i % 2 ? churn_writer : churn_reader, (void *)(uintptr_t)i)) {
			perror("pthread_create");
			return 1;
		}
	for (unsigned i = 1; i < THREADS; i += 2)
		pthread_join(t[i], NULL);
	__atomic_store_n(&churn_done, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < THREADS; i += 2)
		pthread_join(t[i], NULL);
	int kept = 0;
	for (int i = 0; i < STEADY; i++)
		kept += hp_shadow_get(&steady[i], CHURN_ID) == steady_block[i];
	printf("churn: wrong reads %lu, some reads %s, steady blocks kept %d of %d\n", wrong_reads, reads ? "yes" : "no",
	       kept, STEADY);
	hp_shadow_free_all(CHURN_ID, NULL);
	printf("errors: %lu\n", errors);
	return errors != 0;
}

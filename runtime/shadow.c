/* shadow.c — shadow data (hotpatch_state.h): extra fields for live objects, kept in blocks the
 * runtime allocates beside them, named by (object address, id).
 *
 * The table is split in 64 stripes; a hash of (object, id) picks the stripe (its top bits) and
 * the slot where probing starts (its low bits).  Each stripe is an open-addressed table (linear
 * probing; a slot holds the key and the block's address) that grows on its own, a mutex that
 * its writers take, and a sequence number (a seqlock) that lets its readers go without it:
 *  - hp_shadow_get stores nothing.  It reads the sequence number, probes the slots, and reads
 *    the number again; equal and even, nothing changed meanwhile and its answer holds.  Readers
 *    of one stripe, on any number of cores, neither wait for each other nor take each other's
 *    cache lines, and no locked instruction stands between the loads of consecutive calls, so
 *    the processor overlaps their cache misses.  A reader that keeps meeting writers (the number
 *    odd, or changed, a few times in a row) takes the stripe's mutex instead, so it cannot spin
 *    for as long as a preempted writer sleeps.
 *  - Writers (hp_shadow_get_or_alloc when there is no block, the frees) take the stripe's mutex,
 *    so writers of different stripes never meet, and make the number odd only while they change
 *    slots: a few stores, or the shifting of one cluster of slots for a removal.  Growing builds
 *    the bigger table beside the old one while readers go on using the old one, then publishes
 *    it with one store.  Blocks are allocated and freed, and ctor and dtor run, without the
 *    mutex.  So hp_shadow_get never waits for anybody's allocation, ctor or dtor (the contract:
 *    no lock that a writer of another object can hold long).
 *  - The reader reads only the slots, never a block, so it cannot touch a block being freed.
 *    A table that was replaced may still be read, though: the replaced tables are kept, chained
 *    to the current one, for the life of the process (together at most as big as the current
 *    one, since each is half the next).
 * Why not the stripe's mutex for readers too (the first version of this file, in its history):
 * tests/bench/shadow_get.sh with COMPARE_WITH set to that version measured, on 2 cores,
 * hp_shadow_get 1.5 times as fast without it from one thread (9 ns against 14 with 1,000
 * objects, all in cache; 69 against 106 with 100,000, mostly cache misses) and 2 times as fast
 * from 8 threads with 1,000 objects: a locked instruction orders the cache misses of consecutive
 * calls one after the other, and readers on other cores take the mutex's cache line from each
 * other.  A reader-writer lock would write its line just the same.
 *
 * Built once.  hp_shadow_get_or_alloc puts its new block in the table, marked as being built,
 * before it calls ctor; hp_shadow_get, hp_shadow_free, hp_shadow_free_all and
 * hp_shadow_release_owned do not see such a block (it is not there yet), and another
 * hp_shadow_get_or_alloc of the same (object, id) waits (on the stripe's condition variable)
 * until ctor has finished: it then returns the published block, or, when ctor failed and the
 * block was dropped, builds one itself with its own ctor.  So two threads asking at once get the
 * same block and ctor runs once for it; no block is ever built and thrown away, which would need
 * a dtor for what its ctor had set up.  A thread whose ctor asks for the very block it is
 * building gets NULL (it would wait for itself); two ctors asking each for the block the other is
 * building wait for each other for good: a ctor must not build the shadow data of an object
 * whose builder may build its own.
 *
 * Lifetime.  A pointer hp_shadow_get or hp_shadow_get_or_alloc returned stays valid until
 * somebody frees that (object, id) (hp_shadow_free, hp_shadow_free_all, or the runtime releasing
 * a reverted patch's blocks); the callers make sure nobody uses it after that, as they do for
 * the object itself.  Each block records its owner, the address its hp_shadow_get_or_alloc call
 * returns to, so that the blocks a reverted patch's code allocated can be found
 * (hp_shadow_release_owned); blocks still allocated at exit stay reachable from the stripes.
 *
 * fork: a child could inherit a stripe's mutex held by a thread that does not exist in it, so
 * fork takes every stripe's mutex first; the child initialises them afresh and drops the blocks
 * other threads were building (their ctors will never finish there). */
#define _GNU_SOURCE
#include "runtime.h"
#include "hotpatch_state.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define STRIPE_BITS 6
#define STRIPES (1 << STRIPE_BITS)  /* the stripe is the hash's top bits */
#define FIRST_SLOTS 16              /* a stripe's first table; it doubles before it is 3/4 full */
#define READ_TRIES 8                /* lock-free reads that meet a writer before taking the mutex */
#define BUILDING ((uintptr_t)1)     /* in a slot's block address: not published yet */

/* While a reader waits for a writer to finish: tells the core it spins (x86's PAUSE). */
#if defined(__x86_64__) || defined(__i386__)
#define spin_pause() __builtin_ia32_pause()
#else
#define spin_pause() ((void)0)
#endif

struct block {
	const void *object;
	uintptr_t owner;              /* where the call that allocated it returns to */
	pthread_t builder;            /* the thread running its ctor, while building */
	struct block *next;           /* in the list of the blocks one call frees */
	max_align_t data[];           /* what the callers see, aligned for any type */
};

/* Written only under the stripe's mutex, read by readers without it: every access by a writer
 * that readers may see at the same time is an atomic store (relaxed: the sequence number
 * orders them), and readers load atomically. */
struct slot {
	const void *object;
	unsigned long id;
	uintptr_t block;              /* struct block * | BUILDING; 0: the slot is free */
};

struct table {
	size_t mask;                  /* slots - 1; the slot count is a power of two */
	struct table *replaced;       /* the table this one replaced (kept: a reader may be in it) */
	struct slot slot[];
};

struct stripe {
	/* What readers read, on a cache line of its own: */
	unsigned long seq;            /* odd while a writer changes the slots */
	struct table *table;          /* NULL until the first block */
	/* The writers': */
	_Alignas(64) pthread_mutex_t lock;
	pthread_cond_t built;         /* a block being built was published or dropped */
	size_t count;                 /* slots in use, blocks being built included */
	unsigned waiters;             /* threads waiting on built */
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES] = {
	[0 ... STRIPES - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER, .built = PTHREAD_COND_INITIALIZER },
};

/* Mixes both halves of the key into every bit: objects are often allocated at addresses that
 * differ only in a few middle bits, and ids are small numbers. */
static inline uint64_t key_hash(const void *object, unsigned long id)
{
	uint64_t x = (uint64_t)(uintptr_t)object ^ ((uint64_t)id * 0x9e3779b97f4a7c15u);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 29;
	x *= 0x94d049bb133111ebu;
	x ^= x >> 32;
	return x;
}

static inline struct stripe *stripe_of(uint64_t hash)
{
	return &stripes[hash >> (64 - STRIPE_BITS)];
}

static inline struct block *block_of(uintptr_t b)
{
	return (struct block *)(b & ~BUILDING);
}

/* The slot index of (object, id) in t, or -1.  Safe without the mutex (what it reads may then
 * be half-changed: the caller checks the sequence number afterwards). */
static inline ptrdiff_t probe(const struct table *t, uint64_t hash, const void *object, unsigned long id)
{
	size_t i = hash & t->mask;
	for (size_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		if (!__atomic_load_n(&t->slot[i].block, __ATOMIC_RELAXED))
			return -1;
		if (__atomic_load_n(&t->slot[i].object, __ATOMIC_RELAXED) == object &&
		    __atomic_load_n(&t->slot[i].id, __ATOMIC_RELAXED) == id)
			return (ptrdiff_t)i;
	}
	return -1;
}

/* The writer's side of the sequence number: odd from write_begin to write_end. */
static inline void write_begin(struct stripe *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void write_end(struct stripe *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static inline void set_slot(struct slot *slot, const void *object, unsigned long id, uintptr_t block)
{
	__atomic_store_n(&slot->object, object, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->block, block, __ATOMIC_RELAXED);
}

/* Between write_begin and write_end: empties slot i and moves back the entries after it in its
 * cluster that may go there, so that every entry stays reachable from its first slot. */
static void remove_at(struct stripe *s, size_t i)
{
	struct table *t = s->table;
	for (size_t j = (i + 1) & t->mask; t->slot[j].block; j = (j + 1) & t->mask) {
		size_t home = key_hash(t->slot[j].object, t->slot[j].id) & t->mask;
		/* The entry at j may move to i when i lies between its first slot and j. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			set_slot(&t->slot[i], t->slot[j].object, t->slot[j].id, t->slot[j].block);
			i = j;
		}
	}
	set_slot(&t->slot[i], NULL, 0, 0);
	s->count--;
}

/* Replaces the locked stripe's table with one twice as big (or makes its first one),
 * allocating without the mutex: the stripe may change meanwhile, and the caller looks again.
 * Readers go on in the old table while the new one is filled.  Returns 0, or -1 when memory ran
 * out (the stripe keeps the table it has). */
static int grow(struct stripe *s)
{
	struct table *old = s->table;
	size_t slots = old ? (old->mask + 1) * 2 : FIRST_SLOTS;
	if (slots > (SIZE_MAX - sizeof(struct table)) / sizeof(struct slot))
		return -1;
	pthread_mutex_unlock(&s->lock);
	struct table *t = calloc(1, sizeof *t + slots * sizeof(struct slot));
	pthread_mutex_lock(&s->lock);
	if (!t)
		return -1;
	if (s->table != old) {  /* another thread grew it meanwhile: keep theirs */
		pthread_mutex_unlock(&s->lock);
		free(t);
		pthread_mutex_lock(&s->lock);
		return 0;
	}
	t->mask = slots - 1;
	t->replaced = old;
	for (size_t i = 0; old && i <= old->mask; i++) {
		struct slot *from = &old->slot[i];
		if (!from->block)
			continue;
		size_t j = key_hash(from->object, from->id) & t->mask;
		while (t->slot[j].block)
			j = (j + 1) & t->mask;
		t->slot[j] = *from;  /* nobody reads t before it is published */
	}
	/* One store: a reader sees the old table or the new one, both whole and alike. */
	__atomic_store_n(&s->table, t, __ATOMIC_RELEASE);
	return 0;
}

/* The published block of (object, id) in the locked stripe's table; 0: none. */
static uintptr_t find_locked(struct stripe *s, uint64_t hash, const void *object, unsigned long id)
{
	ptrdiff_t i = s->table ? probe(s->table, hash, object, id) : -1;
	uintptr_t b = i >= 0 ? s->table->slot[i].block : 0;
	return b & BUILDING ? 0 : b;
}

/* hp_shadow_get's work, for hp_shadow_get_or_alloc too without going through the PLT. */
static inline void *lookup(const void *object, unsigned long id, uint64_t hash, struct stripe *s)
{
	for (int tries = 0; tries < READ_TRIES; tries++) {
		unsigned long seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			spin_pause();
			continue;
		}
		const struct table *t = __atomic_load_n(&s->table, __ATOMIC_ACQUIRE);
		ptrdiff_t i = t ? probe(t, hash, object, id) : -1;
		uintptr_t b = i >= 0 ? __atomic_load_n(&t->slot[i].block, __ATOMIC_RELAXED) : 0;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq)
			return b && !(b & BUILDING) ? block_of(b)->data : NULL;
	}
	pthread_mutex_lock(&s->lock);
	uintptr_t b = find_locked(s, hash, object, id);
	pthread_mutex_unlock(&s->lock);
	return b ? block_of(b)->data : NULL;
}

void *hp_shadow_get(const void *object, unsigned long id)
{
	uint64_t hash = key_hash(object, id);
	return lookup(object, id, hash, stripe_of(hash));
}

/* noinline: the return address must be the caller's code (its owner), also within this library. */
__attribute__((noinline)) void *hp_shadow_get_or_alloc(const void *object, unsigned long id, size_t size,
                                                       hp_shadow_ctor *ctor, void *arg)
{
	uintptr_t owner = (uintptr_t)__builtin_return_address(0);
	uint64_t hash = key_hash(object, id);
	struct stripe *s = stripe_of(hash);
	void *found = lookup(object, id, hash, s);
	if (found)
		return found;
	if (size > SIZE_MAX - sizeof(struct block))
		return NULL;
	struct block *mine = NULL;
	int cannot_grow = 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		ptrdiff_t i = s->table ? probe(s->table, hash, object, id) : -1;
		uintptr_t b = i >= 0 ? s->table->slot[i].block : 0;
		if (b && !(b & BUILDING)) {
			found = block_of(b)->data;
			break;
		}
		if (b) {
			if (pthread_equal(block_of(b)->builder, pthread_self()))
				break;  /* its own ctor asks for it: NULL */
			/* Not a cancellation point: cancelled in the wait, a thread would leave the stripe locked. */
			int cancel;
			pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
			s->waiters++;
			pthread_cond_wait(&s->built, &s->lock);
			s->waiters--;
			pthread_setcancelstate(cancel, NULL);
			continue;
		}
		if (!mine) {
			pthread_mutex_unlock(&s->lock);
			mine = calloc(1, sizeof(struct block) + size);
			if (!mine)
				return NULL;
			pthread_mutex_lock(&s->lock);
			continue;
		}
		size_t slots = s->table ? s->table->mask + 1 : 0;
		if ((s->count + 1) * 4 > slots * 3 && !cannot_grow) {
			cannot_grow = grow(s) != 0;
			continue;
		}
		if (s->count + 1 >= slots)
			break;  /* no memory for a table with a free slot left: NULL */
		/* Absent, and room for it: this thread builds it. */
		mine->object = object;
		mine->owner = owner;
		mine->builder = pthread_self();
		struct table *t = s->table;
		size_t j = hash & t->mask;
		while (t->slot[j].block)
			j = (j + 1) & t->mask;
		write_begin(s);
		set_slot(&t->slot[j], object, id, (uintptr_t)mine | (ctor ? BUILDING : 0));
		write_end(s);
		s->count++;
		pthread_mutex_unlock(&s->lock);
		if (!ctor)
			return mine->data;
		int failed = ctor((void *)object, mine->data, arg);
		pthread_mutex_lock(&s->lock);
		/* The slot may have moved (growth, removals), never left the table. */
		t = s->table;
		j = (size_t)probe(t, hash, object, id);
		write_begin(s);
		if (failed)
			remove_at(s, j);
		else
			__atomic_store_n(&t->slot[j].block, (uintptr_t)mine, __ATOMIC_RELAXED);
		write_end(s);
		if (s->waiters)
			pthread_cond_broadcast(&s->built);
		pthread_mutex_unlock(&s->lock);
		if (!failed)
			return mine->data;
		free(mine);
		return NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(mine);  /* never in the table, never given to ctor: nothing to undo */
	return found;
}

void hp_shadow_free(const void *object, unsigned long id, hp_shadow_dtor *dtor)
{
	uint64_t hash = key_hash(object, id);
	struct stripe *s = stripe_of(hash);
	pthread_mutex_lock(&s->lock);
	ptrdiff_t i = s->table ? probe(s->table, hash, object, id) : -1;
	uintptr_t b = i >= 0 ? s->table->slot[i].block : 0;
	if (b & BUILDING)
		b = 0;  /* not there yet */
	if (b) {
		write_begin(s);
		remove_at(s, (size_t)i);
		write_end(s);
	}
	pthread_mutex_unlock(&s->lock);
	if (!b)
		return;
	if (dtor)
		dtor((void *)object, block_of(b)->data);
	free(block_of(b));
}

/* What take() removes: the published blocks of one id, or of owners in [start, end). */
struct match {
	int by_owner;
	unsigned long id;
	uintptr_t start, end;
};

/* Removes the matching published blocks of one stripe and returns them, chained by next. */
static struct block *take(struct stripe *s, const struct match *m)
{
	struct block *taken = NULL;
	pthread_mutex_lock(&s->lock);
	struct table *t = s->table;
	if (t) {
		write_begin(s);
		/* remove_at(i) may move a later entry to i, to be looked at in turn; one that wraps
		 * around from the start to the end was looked at already. */
		for (size_t i = 0; i <= t->mask;) {
			uintptr_t b = t->slot[i].block;
			struct block *blk = block_of(b);
			int hit = b && !(b & BUILDING) &&
			          (m->by_owner ? blk->owner >= m->start && blk->owner < m->end : t->slot[i].id == m->id);
			if (!hit) {
				i++;
				continue;
			}
			remove_at(s, i);
			blk->next = taken;
			taken = blk;
		}
		write_end(s);
	}
	pthread_mutex_unlock(&s->lock);
	return taken;
}

void hp_shadow_free_all(unsigned long id, hp_shadow_dtor *dtor)
{
	struct match m = { .id = id };
	for (size_t i = 0; i < STRIPES; i++)
		for (struct block *b = take(&stripes[i], &m), *next; b; b = next) {
			next = b->next;
			if (dtor)
				dtor((void *)b->object, b->data);
			free(b);
		}
}

/* No dtor: it would be code of the reverted patch, and its own revert hooks have had their say. */
void hp_shadow_release_owned(uintptr_t start, uintptr_t end)
{
	struct match m = { .by_owner = 1, .start = start, .end = end };
	for (size_t i = 0; i < STRIPES; i++)
		for (struct block *b = take(&stripes[i], &m), *next; b; b = next) {
			next = b->next;
			free(b);
		}
}

/* Every stripe's mutex, in order (no call holds two: none can wait for the other way round). */
static void before_fork(void)
{
	for (size_t i = 0; i < STRIPES; i++)
		pthread_mutex_lock(&stripes[i].lock);
}

static void after_fork_parent(void)
{
	for (size_t i = STRIPES; i-- > 0;)
		pthread_mutex_unlock(&stripes[i].lock);
}

/* The only thread left is the one that forked: the blocks other threads were building would stay
 * "being built" for good, and any waiter would wait for ever. */
static void after_fork_child(void)
{
	pthread_t self = pthread_self();
	for (size_t i = 0; i < STRIPES; i++) {
		struct stripe *s = &stripes[i];
		struct table *t = s->table;
		for (size_t j = 0; t && j <= t->mask;) {
			uintptr_t b = t->slot[j].block;
			if ((b & BUILDING) && !pthread_equal(block_of(b)->builder, self)) {
				write_begin(s);
				remove_at(s, j);
				write_end(s);
				free(block_of(b));
			} else {
				j++;
			}
		}
		pthread_mutex_init(&s->lock, NULL);
		pthread_cond_init(&s->built, NULL);
		s->waiters = 0;
	}
}

__attribute__((constructor)) static void hp_shadow_init(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

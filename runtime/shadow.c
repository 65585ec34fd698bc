/* shadow.c — shadow data (hotpatch_state.h): extra fields for live objects, kept in blocks the
 * runtime allocates beside them, named by (object address, id).
 *
 * The table is split in 64 stripes, each a pthread mutex and a chained hash table of its own that
 * grows under that mutex; a hash of (object, id) picks the stripe (its top bits) and the chain
 * (its low bits).  So every call takes exactly one stripe's mutex, none takes a global lock, and
 * threads working on different objects meet on the same mutex about once in 64.  Why not more:
 *  - a reader-writer lock would let readers of one stripe in together, but taking it for reading
 *    still writes its cache line, so readers on different cores bounce that line as with a
 *    mutex, and when nobody contends (the usual case) glibc's rwlock costs what its mutex costs
 *    (about 9 ns a lock and unlock on the machine this was written on): it would buy nothing;
 *  - a spinlock saves a few nanoseconds when nobody contends, but spins while its holder is
 *    preempted, which on a loaded machine (more threads than cores) wastes whole time slices;
 *    the mutex sleeps instead;
 *  - reads without any lock (RCU-like) would need to know when no reader can still be looking at
 *    a chain link that hp_shadow_free unlinked, i.e. a grace period, which a libc-only library
 *    called from arbitrary threads cannot have cheaply.
 * What a stripe's mutex covers is short: a lookup, a link, an unlink, and when a stripe grows, the
 * moving of its chains (the new array is allocated and the old one freed with the mutex
 * released).  Blocks are allocated and freed, and ctor and dtor run, without it, so a ctor may use
 * shadow data of other objects, and hp_shadow_get never waits for anybody's allocation, ctor or
 * dtor (the contract: no lock that a writer of another object can hold long).
 *
 * Built once.  hp_shadow_get_or_alloc links its new block into the table, marked as being
 * built, before it calls ctor; hp_shadow_get, hp_shadow_free, hp_shadow_free_all and
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

#define STRIPES 64            /* a power of two: the stripe is the hash's top bits */
#define STRIPE_BITS 6
#define FIRST_BUCKETS 16      /* a stripe's first table; it doubles whenever it holds as many blocks */

struct block {
	struct block *next;           /* in its chain */
	const void *object;
	unsigned long id;
	uintptr_t owner;              /* where the call that allocated it returns to */
	pthread_t builder;            /* the thread running its ctor, while building */
	int building;                 /* linked but not yet published: ctor has not returned */
	max_align_t data[];           /* what the callers see, aligned for any type */
};

struct stripe {
	pthread_mutex_t lock;
	pthread_cond_t built;         /* a block being built was published or dropped */
	struct block **buckets;       /* nbuckets chains; NULL until the first block */
	size_t nbuckets;              /* a power of two, or 0 */
	size_t count;                 /* blocks linked, being built or not */
	unsigned waiters;             /* threads waiting on built */
} __attribute__((aligned(64)));   /* one stripe's mutex does not share a cache line with another's */

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

/* The chain (object, id) belongs to; the stripe's table exists. */
static inline struct block **chain(struct stripe *s, uint64_t hash)
{
	return &s->buckets[hash & (s->nbuckets - 1)];
}

/* The block of (object, id) in the locked stripe, published or being built; NULL: none. */
static struct block *find(struct stripe *s, uint64_t hash, const void *object, unsigned long id)
{
	if (!s->nbuckets)
		return NULL;
	for (struct block *b = *chain(s, hash); b; b = b->next)
		if (b->object == object && b->id == id)
			return b;
	return NULL;
}

static void unlink_block(struct stripe *s, struct block *b)
{
	for (struct block **p = chain(s, key_hash(b->object, b->id)); *p; p = &(*p)->next)
		if (*p == b) {
			*p = b->next;
			s->count--;
			return;
		}
}

/* Doubles the locked stripe's table (or makes its first one), allocating without the lock: the
 * stripe may change meanwhile, and the caller looks again.  Returns 0, or -1 when memory ran out
 * (the stripe keeps the table it has, if any). */
static int grow(struct stripe *s)
{
	size_t had = s->nbuckets, n = had ? had * 2 : FIRST_BUCKETS;
	if (n > SIZE_MAX / sizeof(struct block *))
		return -1;
	pthread_mutex_unlock(&s->lock);
	struct block **fresh = calloc(n, sizeof *fresh);
	pthread_mutex_lock(&s->lock);
	if (!fresh)
		return -1;
	struct block **old = NULL;
	if (s->nbuckets == had) {  /* else another thread grew it meanwhile: keep theirs */
		old = s->buckets;
		for (size_t i = 0; i < had; i++)
			for (struct block *b = old[i], *next; b; b = next) {
				next = b->next;
				struct block **head = &fresh[key_hash(b->object, b->id) & (n - 1)];
				b->next = *head;
				*head = b;
			}
		s->buckets = fresh;
		s->nbuckets = n;
		fresh = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(fresh);
	free(old);
	pthread_mutex_lock(&s->lock);
	return 0;
}

void *hp_shadow_get(const void *object, unsigned long id)
{
	uint64_t hash = key_hash(object, id);
	struct stripe *s = stripe_of(hash);
	pthread_mutex_lock(&s->lock);
	struct block *b = find(s, hash, object, id);
	void *data = b && !b->building ? b->data : NULL;
	pthread_mutex_unlock(&s->lock);
	return data;
}

/* noinline: the return address must be the caller's code (its owner), also within this library. */
__attribute__((noinline)) void *hp_shadow_get_or_alloc(const void *object, unsigned long id, size_t size,
                                                       hp_shadow_ctor *ctor, void *arg)
{
	uintptr_t owner = (uintptr_t)__builtin_return_address(0);
	if (size > SIZE_MAX - sizeof(struct block))
		return NULL;
	uint64_t hash = key_hash(object, id);
	struct stripe *s = stripe_of(hash);
	struct block *mine = NULL, *b;
	int cannot_grow = 0;
	void *found = NULL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		b = find(s, hash, object, id);
		if (b && !b->building) {
			found = b->data;
			break;
		}
		if (b) {
			if (pthread_equal(b->builder, pthread_self()))
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
		if (s->count >= s->nbuckets && !cannot_grow) {
			cannot_grow = grow(s) != 0;
			continue;
		}
		if (!s->nbuckets)
			break;  /* no memory for a table: NULL */
		/* Absent, and room for it: this thread builds it. */
		mine->object = object;
		mine->id = id;
		mine->owner = owner;
		mine->builder = pthread_self();
		mine->building = ctor != NULL;
		struct block **head = chain(s, hash);
		mine->next = *head;
		*head = mine;
		s->count++;
		pthread_mutex_unlock(&s->lock);
		if (!ctor)
			return mine->data;
		int failed = ctor((void *)object, mine->data, arg);
		pthread_mutex_lock(&s->lock);
		if (failed)
			unlink_block(s, mine);
		else
			mine->building = 0;
		if (s->waiters)
			pthread_cond_broadcast(&s->built);
		pthread_mutex_unlock(&s->lock);
		if (!failed)
			return mine->data;
		free(mine);
		return NULL;
	}
	pthread_mutex_unlock(&s->lock);
	free(mine);  /* never linked, never given to ctor: nothing to undo */
	return found;
}

/* What take() unlinks: the published blocks of one id, or of owners in [start, end). */
struct match {
	int by_owner;
	unsigned long id;
	uintptr_t start, end;
};

/* Unlinks the matching published blocks of one stripe and returns them, chained by next. */
static struct block *take(struct stripe *s, const struct match *m)
{
	struct block *taken = NULL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct block **p = &s->buckets[i]; *p;) {
			struct block *b = *p;
			int hit = m->by_owner ? b->owner >= m->start && b->owner < m->end : b->id == m->id;
			if (hit && !b->building) {
				*p = b->next;
				s->count--;
				b->next = taken;
				taken = b;
			} else {
				p = &b->next;
			}
		}
	pthread_mutex_unlock(&s->lock);
	return taken;
}

void hp_shadow_free(const void *object, unsigned long id, hp_shadow_dtor *dtor)
{
	uint64_t hash = key_hash(object, id);
	struct stripe *s = stripe_of(hash);
	pthread_mutex_lock(&s->lock);
	struct block *b = find(s, hash, object, id);
	if (b && b->building)
		b = NULL;  /* not there yet */
	if (b)
		unlink_block(s, b);
	pthread_mutex_unlock(&s->lock);
	if (!b)
		return;
	if (dtor)
		dtor((void *)object, b->data);
	free(b);
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
		for (size_t j = 0; j < s->nbuckets; j++)
			for (struct block **p = &s->buckets[j]; *p;) {
				struct block *b = *p;
				if (b->building && !pthread_equal(b->builder, self)) {
					*p = b->next;
					s->count--;
					free(b);
				} else {
					p = &b->next;
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

/* shadow-owned.c — hp_shadow_release_owned (runtime.h), the release of the blocks a reverted
 * patch's code allocated: each block's owner is where its hp_shadow_get_or_alloc call returns
 * to, and releasing [start, end) frees exactly the blocks whose owner lies there, without a dtor.
 *
 * The function is internal to the runtime: this program links the static archive, whose objects
 * keep their global names, and declares it itself.  Two allocating functions stand for two
 * patches' code, each in a section of its own, whose extent the linker gives as
 * __start_SECTION and __stop_SECTION.  Neither may end in a tail call: the return address would
 * then be their caller's. */
#include <stdint.h>
#include <stdio.h>

#include "hotpatch_state.h"

void hp_shadow_release_owned(uintptr_t start, uintptr_t end);

extern char __start_shadow_code_a[], __stop_shadow_code_a[];
extern char __start_shadow_code_b[], __stop_shadow_code_b[];

#define OBJECTS 100
static int objects[OBJECTS];
static int dtors;

static void dtor(void *object, void *shadow)
{
	(void)object, (void)shadow;
	dtors++;
}

static int ctor(void *object, void *shadow, void *arg)
{
	(void)object, (void)arg;
	*(int *)shadow = 42;
	return 0;
}

__attribute__((noinline, disable_tail_calls, section("shadow_code_a"))) void *alloc_a(void *object, unsigned long id)
{
	return hp_shadow_get_or_alloc(object, id, 16, NULL, NULL);
}

__attribute__((noinline, disable_tail_calls, section("shadow_code_b"))) void *alloc_b(void *object, unsigned long id)
{
	return hp_shadow_get_or_alloc(object, id, 16, ctor, NULL);
}

/* How many of the objects have a block of id. */
static int count(unsigned long id)
{
	int n = 0;
	for (int i = 0; i < OBJECTS; i++)
		n += hp_shadow_get(&objects[i], id) != NULL;
	return n;
}

int main(void)
{
	/* id 1: A allocates the first half, B the second; id 2: B the first half, A the second;
	 * id 3: main itself, every object. */
	for (int i = 0; i < OBJECTS; i++) {
		void *p = i < OBJECTS / 2 ? alloc_a(&objects[i], 1) : alloc_b(&objects[i], 1);
		void *q = i < OBJECTS / 2 ? alloc_b(&objects[i], 2) : alloc_a(&objects[i], 2);
		void *r = hp_shadow_get_or_alloc(&objects[i], 3, 16, NULL, NULL);
		if (!p || !q || !r) {
			printf("error: no block for object %d\n", i);
			return 1;
		}
	}
	/* A block allocated by A, freed, and allocated again by B belongs to B. */
	hp_shadow_free(&objects[0], 1, NULL);
	alloc_b(&objects[0], 1);
	/* Asking again for an existing block does not change its owner. */
	alloc_b(&objects[OBJECTS - 1], 2);
	printf("before: id 1 %d, id 2 %d, id 3 %d\n", count(1), count(2), count(3));

	/* Nothing is owned by an empty range or by the data. */
	hp_shadow_release_owned((uintptr_t)__start_shadow_code_a, (uintptr_t)__start_shadow_code_a);
	hp_shadow_release_owned((uintptr_t)objects, (uintptr_t)(objects + OBJECTS));
	printf("empty ranges: id 1 %d, id 2 %d, id 3 %d\n", count(1), count(2), count(3));

	hp_shadow_release_owned((uintptr_t)__start_shadow_code_a, (uintptr_t)__stop_shadow_code_a);
	int a1 = 0, b1 = 0, a2 = 0, b2 = 0;
	for (int i = 0; i < OBJECTS; i++) {
		int first = i < OBJECTS / 2 && i != 0;  /* allocated by A for id 1 */
		int *one = hp_shadow_get(&objects[i], 1), *two = hp_shadow_get(&objects[i], 2);
		a1 += first && one, b1 += !first && one && *one == 42;
		a2 += i >= OBJECTS / 2 && two, b2 += i < OBJECTS / 2 && two && *two == 42;
	}
	printf("released A: A's left: id 1 %d, id 2 %d; B's kept: id 1 %d, id 2 %d; main's kept %d\n", a1, a2, b1, b2,
	       count(3));
	hp_shadow_release_owned((uintptr_t)__start_shadow_code_b, (uintptr_t)__stop_shadow_code_b);
	printf("released B: id 1 %d, id 2 %d, id 3 %d, dtors %d\n", count(1), count(2), count(3), dtors);
	/* Released blocks are gone for good: asking again builds new ones. */
	printf("again: new block %s\n", alloc_a(&objects[3], 1) && count(1) == 1 ? "yes" : "NO");
	hp_shadow_free_all(1, dtor);
	hp_shadow_free_all(3, dtor);
	printf("end: dtors %d, left %d\n", dtors, count(1) + count(2) + count(3));
	return 0;
}

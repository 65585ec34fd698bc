/* shadow-api.c — shadow data's contract (hotpatch_state.h) in one thread, step by step: what
 * hp_shadow_get, hp_shadow_get_or_alloc, hp_shadow_free and hp_shadow_free_all return and when
 * they call ctor and dtor, a ctor that fails or uses shadow data itself, and a fork while another
 * thread is inside a ctor.  Each line it prints is checked by shadow-api.test; a wrong answer
 * prints a different line rather than stopping, so that one run shows every difference. */
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hotpatch_state.h"

enum { ID_A = 7, ID_B = 8 };

static struct {
	int ctor, dtor;
	void *object, *shadow, *arg;
} seen;

static int counting_ctor(void *object, void *shadow, void *arg)
{
	seen.ctor++;
	seen.object = object;
	seen.shadow = shadow;
	seen.arg = arg;
	/* Zeroed before the call: the caller checks this byte afterwards. */
	unsigned char *bytes = shadow;
	int zero = 1;
	for (size_t i = 0; i < 64; i++)
		zero &= bytes[i] == 0;
	bytes[0] = zero ? 0xa5 : 0x5a;
	return 0;
}

static void counting_dtor(void *object, void *shadow)
{
	seen.dtor++;
	seen.object = object;
	seen.shadow = shadow;
}

static int failing_ctor(void *object, void *shadow, void *arg)
{
	(void)object, (void)shadow, (void)arg;
	seen.ctor++;
	return -1;
}

/* A ctor that asks for the block it is building, and builds another object's block. */
static int objects[16];
static void *inner_self, *inner_self_get, *inner_other;
static int nesting_ctor(void *object, void *shadow, void *arg)
{
	(void)shadow, (void)arg;
	inner_self = hp_shadow_get_or_alloc(object, ID_A, 64, NULL, NULL);
	inner_self_get = hp_shadow_get(object, ID_A);
	inner_other = hp_shadow_get_or_alloc(&objects[15], ID_A, 64, counting_ctor, NULL);
	return 0;
}

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static const char *yes(int ok) { return ok ? "yes" : "NO"; }

/* The fork case: a thread sits inside its ctor while the main thread forks. */
static int to_thread[2], from_thread[2];
static int blocking_ctor(void *object, void *shadow, void *arg)
{
	(void)object, (void)shadow, (void)arg;
	char c = 'i';
	if (write(from_thread[1], &c, 1) != 1 || read(to_thread[0], &c, 1) != 1)
		return -1;
	return 0;
}

static void *builder(void *object)
{
	return hp_shadow_get_or_alloc(object, ID_A, 64, blocking_ctor, NULL);
}

static void fork_while_building(void)
{
	static int object;
	pthread_t t;
	char c;
	if (pipe(to_thread) || pipe(from_thread) || pthread_create(&t, NULL, builder, &object) ||
	    read(from_thread[0], &c, 1) != 1) {
		printf("fork: cannot set up\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* The builder does not exist here: its half-built block must not make this wait for ever. */
		alarm(10);
		void *p = hp_shadow_get_or_alloc(&object, ID_A, 64, NULL, NULL);
		printf("fork child: own block %s, get same %s\n", yes(p != NULL), yes(p && hp_shadow_get(&object, ID_A) == p));
		fflush(stdout);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	printf("fork child: exit %s\n", WIFEXITED(status) ? "0" : "abnormal");
	/* The parent's builder still finishes, and its block is the one there. */
	printf("fork parent: get while building %s\n", hp_shadow_get(&object, ID_A) ? "block" : "null");
	c = 'g';
	void *built = NULL;
	if (write(to_thread[1], &c, 1) != 1 || pthread_join(t, &built)) {
		printf("fork parent: cannot resume the builder\n");
		return;
	}
	printf("fork parent: built %s, get same %s\n", yes(built != NULL), yes(built && hp_shadow_get(&object, ID_A) == built));
	hp_shadow_free(&object, ID_A, NULL);
}

int main(void)
{
	alarm(60);  /* a waiter never woken fails the test instead of hanging it */
	setvbuf(stdout, NULL, _IOLBF, 0);
	int *o = &objects[0];
	printf("absent: %s\n", hp_shadow_get(o, ID_A) ? "block" : "null");

	int marker;
	unsigned char *a = hp_shadow_get_or_alloc(o, ID_A, 64, counting_ctor, &marker);
	printf("new: %s, ctor %d, zeroed %s, object %s, shadow %s, arg %s, aligned %s\n", a ? "block" : "null", seen.ctor,
	       yes(a && a[0] == 0xa5), yes(seen.object == o), yes(seen.shadow == a), yes(seen.arg == &marker),
	       yes((uintptr_t)a % alignof(max_align_t) == 0));
	void *again = hp_shadow_get_or_alloc(o, ID_A, 64, counting_ctor, &marker);
	printf("again: same %s, ctor %d\n", yes(again == a), seen.ctor);
	printf("bigger size, same id: same %s\n", yes(hp_shadow_get_or_alloc(o, ID_A, 4096, counting_ctor, NULL) == a));
	printf("get: same %s\n", yes(hp_shadow_get(o, ID_A) == a));

	unsigned char *b = hp_shadow_get_or_alloc(o, ID_B, 64, counting_ctor, NULL);
	printf("other id: separate %s, ctor %d, get %s\n", yes(b && b != a), seen.ctor, yes(hp_shadow_get(o, ID_B) == b));
	void *c = hp_shadow_get_or_alloc(&objects[1], ID_A, 64, counting_ctor, NULL);
	printf("other object: separate %s, ctor %d\n", yes(c && c != a && c != b), seen.ctor);
	void *plain = hp_shadow_get_or_alloc(&objects[2], ID_A, 256, NULL, NULL);
	printf("no ctor: zeroed %s\n", yes(plain && all_zero(plain, 256)));
	void *empty = hp_shadow_get_or_alloc(&objects[3], ID_A, 0, NULL, NULL);
	printf("size 0: block %s, distinct %s\n", yes(empty != NULL), yes(empty != plain && empty != c));
	printf("size too big: %s\n", hp_shadow_get_or_alloc(&objects[4], ID_A, SIZE_MAX - 8, NULL, NULL) ? "block" : "null");
	printf("size too big, get: %s\n", hp_shadow_get(&objects[4], ID_A) ? "block" : "null");

	hp_shadow_free(o, ID_A, counting_dtor);
	printf("free: dtor %d, object %s, shadow %s, get %s, other id kept %s\n", seen.dtor, yes(seen.object == o),
	       yes(seen.shadow == a), hp_shadow_get(o, ID_A) ? "block" : "null", yes(hp_shadow_get(o, ID_B) == b));
	hp_shadow_free(o, ID_A, counting_dtor);
	hp_shadow_free(&objects[9], ID_A, counting_dtor);
	printf("free absent: dtor %d\n", seen.dtor);
	hp_shadow_free(&objects[3], ID_A, NULL);
	printf("free without dtor: get %s\n", hp_shadow_get(&objects[3], ID_A) ? "block" : "null");

	int before = seen.ctor;
	a = hp_shadow_get_or_alloc(o, ID_A, 64, counting_ctor, NULL);
	printf("after free: new block %s, ctor ran %d, zeroed %s\n", yes(a != NULL), seen.ctor - before, yes(a && a[0] == 0xa5));

	/* free_all: ID_A is on objects 0, 1 and 2; ID_B on objects 0, 5, 6 and 7. */
	for (int i = 5; i < 8; i++)
		hp_shadow_get_or_alloc(&objects[i], ID_B, 32, NULL, NULL);
	seen.dtor = 0;
	hp_shadow_free_all(ID_A, counting_dtor);
	int left_a = 0, left_b = 0;
	for (int i = 0; i < 16; i++) {
		left_a += hp_shadow_get(&objects[i], ID_A) != NULL;
		left_b += hp_shadow_get(&objects[i], ID_B) != NULL;
	}
	printf("free_all %d: dtor %d, left %d; id %d left %d\n", ID_A, seen.dtor, left_a, ID_B, left_b);
	seen.dtor = 0;
	hp_shadow_free_all(ID_A, counting_dtor);
	printf("free_all %d again: dtor %d\n", ID_A, seen.dtor);

	before = seen.ctor;
	void *f = hp_shadow_get_or_alloc(&objects[6], ID_A, 64, failing_ctor, NULL);
	printf("ctor fails: %s, ctor ran %d, get %s\n", f ? "block" : "null", seen.ctor - before,
	       hp_shadow_get(&objects[6], ID_A) ? "block" : "null");
	f = hp_shadow_get_or_alloc(&objects[6], ID_A, 64, counting_ctor, NULL);
	printf("then: block %s, get same %s\n", yes(f != NULL), yes(f && hp_shadow_get(&objects[6], ID_A) == f));
	printf("a block that exists, failing ctor: same %s\n", yes(hp_shadow_get_or_alloc(&objects[6], ID_A, 64, failing_ctor, NULL) == f));

	void *n = hp_shadow_get_or_alloc(&objects[10], ID_A, 64, nesting_ctor, NULL);
	printf("ctor asks for its own block: %s, get %s\n", inner_self ? "block" : "null", inner_self_get ? "block" : "null");
	printf("ctor builds another's block: %s, get same %s; its own: %s\n", yes(inner_other != NULL),
	       yes(inner_other && hp_shadow_get(&objects[15], ID_A) == inner_other), yes(n && hp_shadow_get(&objects[10], ID_A) == n));

	fork_while_building();

	/* Everything left is freed: with LeakSanitizer, nothing may remain unreachable either way. */
	seen.dtor = 0;
	hp_shadow_free_all(ID_A, counting_dtor);
	hp_shadow_free_all(ID_B, counting_dtor);
	printf("end: dtor %d\n", seen.dtor);
	return 0;
}

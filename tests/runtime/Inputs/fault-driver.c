/* fault-driver.c — a test program's fixed part for fault injection, run with fault-shim.so
 * preloaded (the shim's hp_fault_* functions are found with dlsym).  argv[1] is a package that
 * redirects probe_a() and probe_b() (in app.c); argv[2] what to do:
 *   count   applies it and reverts it, printing how many calls of each kind the runtime made in
 *           each ("apply mmap 2"), one line per kind made at least once;
 *   apply   applies it with the shim armed: HP_FAULT (CALL:N) makes that call fail;
 *   revert  applies it, then reverts it with the shim armed.
 * After an armed apply or revert it prints one line: either the call was refused, and then
 * whether the code of the two functions (32 bytes around each entry), /proc/self/maps, the
 * unwind tables registered, the functions' results and the live patches are all as before the
 * call, and whether the error names the failing call; or it succeeded all the same (the runtime
 * had another way), and then whether the results, the unwind tables and the live patches are
 * those of a success.  Any of these not as it must be prints BAD.  A refused revert is retried
 * unarmed, and must then succeed. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hotpatch.h"
#include "read_file.h"

int probe_a(void);
int probe_b(void);

static void (*arm)(int);
static int (*count_of)(const char *);
static void (*reset)(void);
static int (*injected)(void);
static int (*unwind_tables)(uintptr_t *, int);
static const char *(*call_name)(int);

/* What must not change when a call is refused. */
struct state {
	unsigned char code[2][32];
	char maps[1 << 16];
	size_t maps_size;
	uintptr_t tables[64];
	int table_count;
	int a, b, live;
};

static void snapshot(struct state *s)
{
	memcpy(s->code[0], (const unsigned char *)(void *)probe_a - 16, 32);
	memcpy(s->code[1], (const unsigned char *)(void *)probe_b - 16, 32);
	s->maps_size = read_maps(s->maps, sizeof s->maps);  /* before arming: not counted */
	s->table_count = unwind_tables(s->tables, 64);
	s->a = probe_a();
	s->b = probe_b();
	s->live = hp_status(NULL, 0);
}

static int same_code(const struct state *x, const struct state *y)
{
	return !memcmp(x->code, y->code, sizeof x->code);
}

static int same_maps(const struct state *x, const struct state *y)
{
	return x->maps_size == y->maps_size && !memcmp(x->maps, y->maps, x->maps_size);
}

static int same_unwind(const struct state *x, const struct state *y)
{
	return x->table_count == y->table_count && !memcmp(x->tables, y->tables, sizeof(uintptr_t) * (size_t)x->table_count);
}

static const char *word(int same)
{
	return same ? "same" : "CHANGED";
}

/* The call HP_FAULT names, as the error should name it. */
static void fault_call(char *out, size_t size)
{
	const char *f = getenv("HP_FAULT");
	snprintf(out, size, "%s", f ? f : "");
	char *colon = strchr(out, ':');
	if (colon)
		*colon = 0;
}

/* One line for a refused call: everything as before? */
static int report_refused(const char *phase, const char *fault, const struct state *before, const struct state *after)
{
	char call[64];
	fault_call(call, sizeof call);
	int ok = same_code(before, after) && same_maps(before, after) && same_unwind(before, after) &&
	         before->a == after->a && before->b == after->b && before->live == after->live;
	const char *error = hp_last_error();
	int named = strstr(error, call) != NULL;
	printf("%s %s: refused: code %s, maps %s, unwind %s, results %s, live %d; names %s: %s%s: %s\n", phase, fault,
	       word(same_code(before, after)), word(same_maps(before, after)), word(same_unwind(before, after)),
	       word(before->a == after->a && before->b == after->b), after->live, call, named ? "yes" : "no",
	       ok ? "" : " BAD", error);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	arm = (void (*)(int))dlsym(RTLD_DEFAULT, "hp_fault_arm");
	count_of = (int (*)(const char *))dlsym(RTLD_DEFAULT, "hp_fault_count");
	reset = (void (*)(void))dlsym(RTLD_DEFAULT, "hp_fault_reset");
	injected = (int (*)(void))dlsym(RTLD_DEFAULT, "hp_fault_injected");
	unwind_tables = (int (*)(uintptr_t *, int))dlsym(RTLD_DEFAULT, "hp_fault_unwind_tables");
	call_name = (const char *(*)(int))dlsym(RTLD_DEFAULT, "hp_fault_call_name");
	if (!arm || !count_of || !reset || !injected || !unwind_tables || !call_name) {
		fprintf(stderr, "fault-driver: run it with fault-shim.so preloaded\n");
		return 2;
	}
	size_t size = 0;
	void *pkg = read_all(argv[1], &size);
	const char *fault = getenv("HP_FAULT") ? getenv("HP_FAULT") : "none";
	static struct state old, before, after;
	snapshot(&old);

	if (!strcmp(argv[2], "count")) {
		arm(1);
		int id = hp_apply(pkg, size);
		arm(0);
		if (id < 0) {
			printf("BAD: apply failed: %s\n", hp_last_error());
			return 1;
		}
		for (int i = 0; call_name(i); i++)
			if (count_of(call_name(i)) > 0)
				printf("apply %s %d\n", call_name(i), count_of(call_name(i)));
		reset();
		arm(1);
		int rc = hp_revert(id);
		arm(0);
		if (rc) {
			printf("BAD: revert failed: %s\n", hp_last_error());
			return 1;
		}
		for (int i = 0; call_name(i); i++)
			if (count_of(call_name(i)) > 0)
				printf("revert %s %d\n", call_name(i), count_of(call_name(i)));
		return 0;
	}

	if (!strcmp(argv[2], "apply")) {
		snapshot(&before);
		arm(1);
		int id = hp_apply(pkg, size);
		arm(0);
		snapshot(&after);
		if (!injected()) {
			printf("apply %s: BAD: not reached\n", fault);
			return 1;
		}
		if (id < 0)
			return report_refused("apply", fault, &before, &after) ? 0 : 1;
		/* Done another way: it must be a whole success, unwind table included. */
		int ok = after.a != old.a && after.b != old.b && after.live == 1 && after.table_count == before.table_count + 1;
		int rc = hp_revert(id);
		printf("apply %s: applied all the same: results %s, unwind table %s, live %d; reverted %s%s\n", fault,
		       after.a != old.a && after.b != old.b ? "new" : "OLD", after.table_count == before.table_count + 1 ?
		       "registered" : "NOT REGISTERED", after.live, rc ? hp_last_error() : "ok", ok && !rc ? "" : " BAD");
		return ok && !rc ? 0 : 1;
	}

	if (!strcmp(argv[2], "revert")) {
		int id = hp_apply(pkg, size);
		if (id < 0) {
			printf("revert %s: BAD: the apply before failed: %s\n", fault, hp_last_error());
			return 1;
		}
		snapshot(&before);
		arm(1);
		int rc = hp_revert(id);
		arm(0);
		snapshot(&after);
		if (!injected()) {
			printf("revert %s: BAD: not reached\n", fault);
			return 1;
		}
		if (rc) {
			int ok = report_refused("revert", fault, &before, &after);
			int again = hp_revert(id);
			struct state last;
			snapshot(&last);
			if (again || last.a != old.a || last.b != old.b || !same_code(&old, &last)) {
				printf("revert %s: BAD: reverting again: %s, results %d %d\n", fault, again ? hp_last_error() : "ok",
				       last.a, last.b);
				return 1;
			}
			return ok ? 0 : 1;
		}
		int ok = same_code(&old, &after) && after.a == old.a && after.b == old.b && after.live == 0;
		printf("revert %s: reverted all the same: code %s, results %s, live %d%s\n", fault,
		       same_code(&old, &after) ? "original" : "NOT ORIGINAL", after.a == old.a && after.b == old.b ? "old" : "NEW",
		       after.live, ok ? "" : " BAD");
		return ok ? 0 : 1;
	}
	return 2;
}

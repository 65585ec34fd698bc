/* replace-threads.c — a test program's fixed part for applying, replacing and reverting packages
 * on AArch64 while other threads call the patched functions (tests/aarch64/runtime-apply.test).
 *
 * Usage: app V2.hp V3.hp CYCLES [REFUSED.hp...].  V2 (fa, fb) and V3 (fa, fc) are made against
 * this build (v1).  Eight threads call fa(), fb(), fc() (in app.c) in tight loops; each result
 * must be one that function has in some version.  The main thread, CYCLES times: applies V2,
 * applies V3 over it (fa's branch rewritten to V3's code, fb given its NOP back, fc redirected),
 * then on even cycles reverts V3, on odd ones applies V2 over V3 (the other way round) and reverts
 * V2; after each step it checks its own calls and the live patches.  At the end the entries hold
 * exactly the bytes they started with.  Then each REFUSED package is applied, and must be
 * refused with the code as it was. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpatch.h"
#include "read_file.h"

#define THREADS 8

int fa(void);
int fb(void);
int fc(void);

static int stop;                                  /* atomic */
static unsigned long long calls, seen[3][2], bad;  /* atomic: [function][old, new] */

static void count(int f, int r, int old, int new1, int new2)
{
	if (r == old)
		__atomic_add_fetch(&seen[f][0], 1, __ATOMIC_RELAXED);
	else if (r == new1 || r == new2)
		__atomic_add_fetch(&seen[f][1], 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
}

static void *caller(void *arg)
{
	(void)arg;
	unsigned long long n = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		count(0, fa(), 110, 210, 310);
		count(1, fb(), 120, 220, 220);
		count(2, fc(), 130, 330, 330);
		n += 3;
	}
	__atomic_add_fetch(&calls, n, __ATOMIC_RELAXED);
	return NULL;
}

/* Whether the main thread's calls give a, b, c and hp_status lists live patches. */
static int state(int a, int b, int c, int live)
{
	struct hp_patch_status st[4];
	return fa() == a && fb() == b && fc() == c && hp_status(st, 4) == live;
}

static int apply(const void *package, size_t size, const char *name)
{
	int id = hp_apply(package, size);
	if (id < 0)
		printf("apply %s failed: %s: %s\n", name, hp_strerror(id), hp_last_error());
	return id;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return 2;
	size_t v2_size, v3_size;
	void *v2 = read_all(argv[1], &v2_size), *v3 = read_all(argv[2], &v3_size);
	int cycles = atoi(argv[3]);
	if (!v2_size || !v3_size)
		return 2;
	uint8_t before[3][8];
	memcpy(before[0], (const void *)fa, 8);
	memcpy(before[1], (const void *)fb, 8);
	memcpy(before[2], (const void *)fc, 8);

	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	long main_bad = 0;
	int replaced_back = 0;
	for (int n = 0; n < cycles; n++) {
		int id2 = apply(v2, v2_size, "v2");
		if (id2 < 0)
			return 1;
		main_bad += !state(210, 220, 130, 1);
		int id3 = apply(v3, v3_size, "v3");
		if (id3 < 0)
			return 1;
		main_bad += !state(310, 120, 330, 1) || hp_revert(id2) != -HP_E_NO_PATCH;
		int last = id3;
		if (n % 2) {  /* V2 over V3: fa back to V2's code, fc its NOP again, fb redirected */
			last = apply(v2, v2_size, "v2 over v3");
			if (last < 0)
				return 1;
			main_bad += !state(210, 220, 130, 1);
			replaced_back++;
		}
		int rc = hp_revert(last);
		if (rc) {
			printf("revert failed: %s: %s\n", hp_strerror(rc), hp_last_error());
			return 1;
		}
		main_bad += !state(110, 120, 130, 0);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("cycles: %d (v3 over v2 %d times, v2 over v3 %d times), threads: %d\n", cycles, cycles, replaced_back,
	       THREADS);
	printf("calls: %llu, bad %llu\n", calls, bad);
	printf("fa old %s, new %s; fb old %s, new %s; fc old %s, new %s\n", seen[0][0] ? "seen" : "NOT SEEN",
	       seen[0][1] ? "seen" : "NOT SEEN", seen[1][0] ? "seen" : "NOT SEEN", seen[1][1] ? "seen" : "NOT SEEN",
	       seen[2][0] ? "seen" : "NOT SEEN", seen[2][1] ? "seen" : "NOT SEEN");
	printf("main thread: bad %ld\n", main_bad);
	int same = !memcmp(before[0], (const void *)fa, 8) && !memcmp(before[1], (const void *)fb, 8) &&
	           !memcmp(before[2], (const void *)fc, 8);
	printf("entries: %s\n", same ? "their original bytes" : "CHANGED");

	for (int i = 4; i < argc; i++) {
		size_t size;
		void *package = read_all(argv[i], &size);
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		int rc = size ? hp_apply(package, size) : -HP_E_PACKAGE;
		same = !memcmp(before[0], (const void *)fa, 8) && !memcmp(before[1], (const void *)fb, 8) &&
		       !memcmp(before[2], (const void *)fc, 8);
		printf("%s: %s (%s): %s; code %s, %s\n", name, rc < 0 ? "refused" : "APPLIED", hp_strerror(rc),
		       hp_last_error(), same ? "as it was" : "CHANGED", state(110, 120, 130, 0) ? "v1" : "NOT v1");
		free(package);
	}
	return 0;
}

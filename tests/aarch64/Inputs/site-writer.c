/* site-writer.c — drives libhotpatch's AArch64 code writer (runtime/site_write.h) on this
 * program's own functions, under qemu (tests/aarch64/runtime-site-write.test).
 *
 * Usage: app CYCLES.  Eight threads call f through a pointer the compiler cannot see through
 * while the main thread, CYCLES times, points f's entry at g (retarget, redirect), every tenth
 * time moves it on to h and back to g (retargets of a live branch), then gives it its NOP back
 * (restore).  Every result a thread gets must be f's, g's or h's; the main thread checks after
 * each step that its own next call runs the function the entry now leads to and that a restore
 * gave back the exact bytes.  Then the refusals, each leaving the code as it was: an address
 * that is not a site, a function built without the plugin, bytes that are not the expected ones,
 * a site someone else changed, new code out of a B's reach. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site_write.h"

#define THREADS 8

__attribute__((noinline)) int f(int x) { return 3 * x + 1; }
__attribute__((noinline)) int g(int x) { return 5 * x + 2; }
__attribute__((noinline)) int h(int x) { return 7 * x + 3; }
int plain(int x);  /* plain.c: built without the plugin */

int (*volatile fp)(int) = f;

static atomic_int stop;

struct counts {
	long calls, f, g, h, wrong;
};

static void *worker(void *arg)
{
	struct counts *c = arg;
	for (int i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i = (i + 1) & 1023) {
		int r = fp(i);
		c->calls++;
		if (r == 3 * i + 1)
			c->f++;
		else if (r == 5 * i + 2)
			c->g++;
		else if (r == 7 * i + 3)
			c->h++;
		else
			c->wrong++;
	}
	return NULL;
}

static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uintptr_t *)arg = info->dlpi_addr;
	return 1;  /* the first listed is the program */
}

static uint32_t word_at(uintptr_t at)
{
	uint32_t w;
	memcpy(&w, (const void *)at, sizeof w);
	return w;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1000;
	uintptr_t base = 0, entry = (uintptr_t)f;
	dl_iterate_phdr(first_module, &base);
	struct hp_site site;
	hp_site_inspect((const uint8_t *)entry, HP_SITE_SPAN, entry, &site);
	if (site.problem) {
		printf("f has no site: %s\n", site.problem);
		return 1;
	}
	int stopped;
	char why[200];
	if (hp_patch_site_check(base, entry, site.offset, NULL, &stopped, why, sizeof why)) {
		printf("f refused: %s\n", why);
		return 1;
	}
	printf("site: +%u, stopped world %d\n", site.offset, stopped);
	uint8_t before[HP_SITE_SPAN];
	memcpy(before, (const void *)entry, sizeof before);

	struct hp_patch_site s;
	struct hp_patch_site *sp = &s;
	hp_patch_site_init(&s, entry, site.offset, NULL);
	pthread_t t[THREADS];
	struct counts c[THREADS];
	memset(c, 0, sizeof c);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &c[i]);

	long main_wrong = 0, retargets = 0;
	for (int n = 0; n < cycles; n++) {
		uintptr_t to = (uintptr_t)g, previous;
		if (hp_patch_sites_retarget(&sp, &to, &previous, 1) || hp_patch_sites_redirect(&sp, 1)) {
			printf("redirect %d failed: %s\n", n, hp_patch_sites_error());
			return 1;
		}
		main_wrong += fp(7) != 37 || !hp_patch_site_redirected(&s);
		if (n % 10 == 0) {
			to = (uintptr_t)h;
			if (hp_patch_sites_retarget(&sp, &to, &previous, 1)) {
				printf("retarget %d failed: %s\n", n, hp_patch_sites_error());
				return 1;
			}
			main_wrong += fp(7) != 52 || previous != (uintptr_t)g || !hp_patch_site_redirected(&s);
			to = (uintptr_t)g;
			if (hp_patch_sites_retarget(&sp, &to, &previous, 1)) {
				printf("retarget %d failed: %s\n", n, hp_patch_sites_error());
				return 1;
			}
			main_wrong += fp(7) != 37 || previous != (uintptr_t)h;
			retargets += 2;
		}
		if (hp_patch_sites_restore(&sp, 1)) {
			printf("restore %d failed: %s\n", n, hp_patch_sites_error());
			return 1;
		}
		main_wrong += fp(7) != 22 || memcmp(before, (const void *)entry, sizeof before) || hp_patch_site_redirected(&s);
	}
	atomic_store(&stop, 1);
	struct counts sum = { 0 };
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum.calls += c[i].calls;
		sum.f += c[i].f;
		sum.g += c[i].g;
		sum.h += c[i].h;
		sum.wrong += c[i].wrong;
	}
	printf("cycles: %d, retargets: %ld, threads: %d\n", cycles, retargets, THREADS);
	printf("calls: %ld: f %ld, g %ld, h %ld, wrong %ld\n", sum.calls, sum.f, sum.g, sum.h, sum.wrong);
	printf("main thread: wrong %ld\n", main_wrong);
	printf("bytes restored: %s\n", memcmp(before, (const void *)entry, sizeof before) ? "no" : "yes");

	/* Refusals. */
	uintptr_t inside = entry + site.offset + 4;
	printf("inside f: %s\n", hp_patch_site_check(base, inside, 0, NULL, &stopped, why, sizeof why) ? why : "accepted");
	printf("plain: %s\n",
	       hp_patch_site_check(base, (uintptr_t)plain, 0, NULL, &stopped, why, sizeof why) ? why : "accepted");
	uint8_t wrong[HP_SITE_SPAN];
	memcpy(wrong, before, sizeof wrong);
	wrong[site.offset] ^= 1;
	printf("holds expected: %d, holds other: %d\n",
	       hp_patch_site_holds(entry, NULL, before, site.offset + HP_SITE_SIZE),
	       hp_patch_site_holds(entry, NULL, wrong, site.offset + HP_SITE_SIZE));

	/* Someone else's branch at the site (another record of the same entry sent it to h). */
	struct hp_patch_site other;
	struct hp_patch_site *op = &other;
	hp_patch_site_init(&other, entry, site.offset, NULL);
	uintptr_t to = (uintptr_t)h;
	if (hp_patch_sites_retarget(&op, &to, NULL, 1) || hp_patch_sites_redirect(&op, 1)) {
		printf("other redirect failed: %s\n", hp_patch_sites_error());
		return 1;
	}
	uint32_t now = word_at(entry + site.offset);
	to = (uintptr_t)g;
	hp_patch_sites_retarget(&sp, &to, NULL, 1);
	int rc = hp_patch_sites_redirect(&sp, 1);
	printf("changed site: %s: %s\n", rc ? "refused" : "written", rc ? hp_patch_sites_error() : "");
	printf("changed site after: %s, f(7) %d\n", word_at(entry + site.offset) == now ? "as it was" : "CHANGED", fp(7));
	if (hp_patch_sites_restore(&op, 1)) {
		printf("other restore failed: %s\n", hp_patch_sites_error());
		return 1;
	}

	/* New code 256 MiB away: no B reaches it. */
	to = entry + ((uintptr_t)256 << 20);
	hp_patch_sites_retarget(&sp, &to, NULL, 1);
	rc = hp_patch_sites_redirect(&sp, 1);
	printf("out of reach: %s: %s\n", rc ? "refused" : "written", rc ? hp_patch_sites_error() : "");
	printf("after the refusals: %s, f(7) %d\n", memcmp(before, (const void *)entry, sizeof before) ? "CHANGED" : "as before",
	       fp(7));
	return 0;
}

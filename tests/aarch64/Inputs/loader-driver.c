/* loader-driver.c — libhotpatch's AArch64 loader (runtime/loader.c) and code writer together,
 * under qemu (tests/aarch64/runtime-loader.test), on a package made here in its decoded form, so
 * that each relocation kind is surely there: new code for f that reads a constant of its own
 * rodata (ADRP + LDR: HP_RELOC_A64_ADR_PAGE21, LDST32_LO12) and tail-calls a function of the
 * program (B: HP_RELOC_A64_BRANCH26), so that new_f(x) = helper(x + 7) = 2x + 14.
 *
 * Usage: app CYCLES.  hp_load maps it within a B's reach of the program; eight threads call f
 * while the main thread redirects f to it and back CYCLES times.  Then the refusals: a branch
 * relocation out of reach (HP_E_RANGE, nothing left mapped) and, with every address within
 * 128 MiB of the program taken, no room (HP_E_MEMORY); once the room is given back the same
 * package loads again. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "runtime.h"
#include "site_write.h"

#define THREADS 8

__attribute__((noinline)) int helper(int x) { return 2 * x; }
__attribute__((noinline)) int f(int x) { return 3 * x + 1; }

int (*volatile fp)(int) = f;

static atomic_int stop;

struct counts {
	long calls, old, new, wrong;
};

static void *worker(void *arg)
{
	struct counts *c = arg;
	for (int i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i = (i + 1) & 1023) {
		int r = fp(i);
		c->calls++;
		if (r == 3 * i + 1)
			c->old++;
		else if (r == 2 * i + 14)
			c->new++;
		else
			c->wrong++;
	}
	return NULL;
}

/* adrp x16, <rodata>; ldr w17, [x16, #:lo12:<rodata>]; add w0, w0, w17; b helper */
static const uint32_t text[] = { 0x90000010u, 0xb9400211u, 0x0b110000u, 0x14000000u };
static const uint32_t seven = 7;

static struct hp_pkg_reloc relocs[3];
static struct hp_package_module module;
static struct hp_package package;

static void make_package(const struct hp_loaded *mod, uint64_t branch_to)
{
	relocs[0] = (struct hp_pkg_reloc){ .segment = HP_SEG_TEXT, .type = HP_RELOC_A64_ADR_PAGE21,
		                           .target_kind = HP_TARGET_SEGMENT, .target_segment = HP_SEG_RODATA, .offset = 0 };
	relocs[1] = (struct hp_pkg_reloc){ .segment = HP_SEG_TEXT, .type = HP_RELOC_A64_LDST32_LO12,
		                           .target_kind = HP_TARGET_SEGMENT, .target_segment = HP_SEG_RODATA, .offset = 4 };
	relocs[2] = (struct hp_pkg_reloc){ .segment = HP_SEG_TEXT, .type = HP_RELOC_A64_BRANCH26,
		                           .target_kind = HP_TARGET_MODULE, .offset = 12, .target = branch_to - mod->base };
	memset(&module, 0, sizeof module);
	module.name = "app";
	module.arch = HP_ARCH_AARCH64;
	module.reloc_count = 3;
	module.relocs = relocs;
	module.segment[HP_SEG_TEXT] = (const uint8_t *)text;
	module.segment_size[HP_SEG_TEXT] = sizeof text;
	module.segment[HP_SEG_RODATA] = (const uint8_t *)&seven;
	module.segment_size[HP_SEG_RODATA] = sizeof seven;
	memset(&package, 0, sizeof package);
	package.module_count = 1;
	package.modules = &module;
}

/* What take_near holds, given back by give_back. */
static void *taken[4096];
static size_t taken_size[4096], taken_count;

static void take(uintptr_t at, size_t size)
{
	void *p = mmap((void *)at, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return;
	if ((uintptr_t)p != at || taken_count == sizeof taken / sizeof *taken) {
		munmap(p, size);  /* taken already (an emulator may treat the address as a hint) */
		return;
	}
	taken[taken_count] = p;
	taken_size[taken_count++] = size;
}

/* Takes every free page within 130 MiB of the module (a MiB at a time where it can), so that no
 * mapping can be placed within a B's reach of it. */
static void take_near(const struct hp_loaded *mod)
{
	const uintptr_t mib = 1u << 20, page = 4096, reach = 130 * mib;
	uintptr_t lo = (mod->start & ~(mib - 1)) - reach, hi = ((mod->end + mib - 1) & ~(mib - 1)) + reach;
	for (uintptr_t a = lo; a < hi; a += mib) {
		size_t before = taken_count;
		take(a, mib);
		if (taken_count == before)  /* partly in use: page by page */
			for (uintptr_t p = a; p < a + mib; p += page)
				take(p, page);
	}
}

static void give_back(void)
{
	while (taken_count)
		--taken_count, munmap(taken[taken_count], taken_size[taken_count]);
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 1000;
	struct hp_loaded mod;
	uint8_t id[32];
	size_t id_size;
	if (hp_find_module_named(argv[0], &mod, id, &id_size)) {
		printf("the program is not found as %s\n", argv[0]);
		return 1;
	}
	printf("program: build-id %zu bytes, %s\n", id_size, mod.program ? "the main program" : "a library");

	char err[300];
	struct hp_mapping map;
	make_package(&mod, (uintptr_t)helper);
	int rc = hp_load(&package, 0, &mod, &map, err, sizeof err);
	if (rc) {
		printf("hp_load failed: %d %s\n", rc, err);
		return 1;
	}
	uintptr_t lo = (uintptr_t)map.base < mod.start ? (uintptr_t)map.base : mod.start;
	uintptr_t hi = (uintptr_t)map.base + map.size > mod.end ? (uintptr_t)map.base + map.size : mod.end;
	printf("mapped: program and new code within %s of each other\n",
	       hi - lo < ((uintptr_t)128 << 20) ? "128 MiB" : "MORE than 128 MiB");
	int (*new_f)(int) = (int (*)(int))map.segment[HP_SEG_TEXT];
	printf("new code: new_f(5) = %d\n", new_f(5));

	uintptr_t entry = (uintptr_t)f;
	struct hp_site site;
	hp_site_inspect((const uint8_t *)entry, HP_SITE_SPAN, entry, &site);
	struct hp_patch_site s;
	struct hp_patch_site *sp = &s;
	hp_patch_site_init(&s, entry, site.offset, NULL);
	uint8_t before[HP_SITE_SPAN];
	memcpy(before, (const void *)entry, sizeof before);

	pthread_t t[THREADS];
	struct counts c[THREADS];
	memset(c, 0, sizeof c);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, &c[i]);
	long main_wrong = 0;
	for (int n = 0; n < cycles; n++) {
		uintptr_t to = map.segment[HP_SEG_TEXT];
		if (hp_patch_sites_retarget(&sp, &to, NULL, 1) || hp_patch_sites_redirect(&sp, 1) ||
		    (main_wrong += fp(5) != 24, hp_patch_sites_restore(&sp, 1))) {
			printf("cycle %d failed: %s\n", n, hp_patch_sites_error());
			return 1;
		}
		main_wrong += fp(5) != 16 || memcmp(before, (const void *)entry, sizeof before);
	}
	atomic_store(&stop, 1);
	struct counts sum = { 0 };
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sum.calls += c[i].calls;
		sum.old += c[i].old;
		sum.new += c[i].new;
		sum.wrong += c[i].wrong;
	}
	printf("cycles: %d, threads: %d\n", cycles, THREADS);
	printf("calls: %ld: old %ld, new %ld, wrong %ld\n", sum.calls, sum.old, sum.new, sum.wrong);
	printf("main thread: wrong %ld\n", main_wrong);

	/* A branch to 200 MiB past the program. */
	struct hp_mapping far;
	make_package(&mod, mod.end + ((uintptr_t)200 << 20));
	rc = hp_load(&package, 0, &mod, &far, err, sizeof err);
	printf("far branch: %s (%s): %s; mapping %s\n", rc ? "refused" : "LOADED", hp_strerror(rc), rc ? err : "",
	       rc && !far.base ? "none" : "LEFT");

	/* No room within reach. */
	take_near(&mod);
	make_package(&mod, (uintptr_t)helper);
	rc = hp_load(&package, 0, &mod, &far, err, sizeof err);
	printf("no room: %s (%s): %s\n", rc ? "refused" : "LOADED", hp_strerror(rc), rc ? err : "");
	give_back();
	rc = hp_load(&package, 0, &mod, &far, err, sizeof err);
	printf("room again: %s\n", rc ? err : "loaded");
	return 0;
}

/* site_write_x86_64.c — the x86-64 code writer (site_write.h): the atomic stores of the padding
 * jump, the site jump and the slot, and the order between them.  Which entries are sites and the
 * path the stores take are shared with every architecture (site_write.c, site_write_path.h).
 * What is x86-64 here is that one aligned 8-byte store rewrites the padding and one aligned store
 * the site, and that code changed by stores needs no cache maintenance beyond a serialising
 * event on each core (the membarrier after each step).
 *
 * Atomicity through /proc/self/mem (docs/design.md, "The prologue"): the kernel copies with its
 * memcpy.  Without FSRM, a 2-byte memcpy is two 1-byte stores, the second byte first, so an
 * instruction fetch on another core could see the site's new first byte with its old second one:
 * a 2-byte write is never made that way.  Every write here is 8 bytes at an 8-byte-aligned
 * address (the padding; for the site, the aligned word holding it, its other 6 bytes as they
 * are), which that memcpy stores as two identical aligned 8-byte stores, each atomic.  With FSRM
 * the kernel's memcpy is `rep movsb`, for which the architecture promises only byte atomicity;
 * current cores move 8 aligned bytes in one store, which tests/runtime/threads-stress.test
 * exercises, but it is not a guarantee.  The mprotect path keeps the single 8- and 2-byte stores. */
#define _GNU_SOURCE
#include "site_write_path.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

/* Every store on x86-64 is seen by the instruction fetch of every core once that core
 * serialises (the membarrier after each step), whichever mapping it went through. */
int hp_code_fetch_sees_mem(int fd, char *why, size_t why_size)
{
	(void)fd;
	(void)why;
	(void)why_size;
	return 1;
}

static int store_word(struct hp_code_writer *w, uintptr_t at, uint64_t value)
{
	return hp_code_store(w, at, value, sizeof value);
}

/* The site's 2 bytes: through /proc/self/mem as the aligned word holding them (its other bytes as
 * they are: nothing else writes a function's first bytes), on the mprotect path one 2-byte store. */
_Static_assert(HP_SITE_ALIGN % 8 == 0 && (HP_SITE_MARKER_SIZE % 8) + HP_SITE_SIZE <= 8,
               "the site lies within one aligned 8-byte word");
static int store_site(struct hp_code_writer *w, const struct hp_patch_site *s, const uint8_t bytes[HP_SITE_SIZE])
{
	uintptr_t site = s->entry + s->site_offset, word = site & ~(uintptr_t)7;
	if (w->fd < 0) {
		uint16_t v;
		memcpy(&v, bytes, sizeof v);
		return hp_code_store(w, site, v, sizeof v);
	}
	uint8_t b[8];
	memcpy(b, (const void *)word, sizeof b);
	memcpy(b + (site - word), bytes, HP_SITE_SIZE);
	uint64_t v;
	memcpy(&v, b, sizeof v);
	return store_word(w, word, v);
}

/* ---- redirecting and restoring ------------------------------------------------------------------ */

/* The padding's jump through the slot, and the site's short jump back to the padding's start
 * (contract/site.h), as the values one atomic store writes. */
_Static_assert(HP_SLOT_JUMP_SIZE == sizeof(uint64_t) && HP_SITE_SIZE == sizeof(uint16_t),
               "each jump is written by one aligned atomic store");
static uint64_t padding_jump(const struct hp_patch_site *s)
{
	uint8_t b[HP_SLOT_JUMP_SIZE];
	uint64_t v;
	hp_site_slot_jump(s->entry - HP_SITE_PADDING + HP_SLOT_JUMP_END, (uintptr_t)s->slot, b);
	memcpy(&v, b, sizeof v);
	return v;
}

static uint64_t padding_original(const struct hp_patch_site *s)
{
	uint64_t v;
	memcpy(&v, s->original, sizeof v);
	return v;
}

static void site_jump(const struct hp_patch_site *s, uint8_t out[HP_SITE_SIZE])
{
	hp_site_entry_jump(s->site_offset, out);
}

static const uint8_t *site_original(const struct hp_patch_site *s)
{
	return s->original + HP_SITE_PADDING + s->site_offset;
}

/* Sets the paddings [0, n) to the jumps (jump) or their original bytes, or the sites. */
static int set_paddings(struct hp_code_writer *w, size_t n, int jump, size_t *done)
{
	for (*done = 0; *done < n; ++*done) {
		const struct hp_patch_site *s = w->sites[*done];
		if (store_word(w, s->entry - HP_SITE_PADDING, jump ? padding_jump(s) : padding_original(s)))
			return -1;
	}
	return 0;
}

static int set_sites(struct hp_code_writer *w, size_t n, int jump, size_t *done)
{
	for (*done = 0; *done < n; ++*done) {
		const struct hp_patch_site *s = w->sites[*done];
		uint8_t b[HP_SITE_SIZE];
		if (jump)
			site_jump(s, b);
		else
			memcpy(b, site_original(s), sizeof b);
		if (store_site(w, s, b))
			return -1;
	}
	return 0;
}

/* Redirects (redirect) or restores the batch.  Redirect: paddings, serialize, sites, serialize;
 * restore: sites, serialize, paddings, serialize (no thread may reach a padding whose site no
 * longer leads there).  A failure takes back what was done, in the reverse order, so that the
 * entries are as they were; the first error is the one reported. */
static int write_sites(struct hp_patch_site *const *sites, size_t count, int redirect)
{
	struct hp_code_writer w;
	if (!count)
		return 0;
	if (hp_code_begin(&w, sites, count))
		return -1;
	char error[320];
	size_t first = 0, second = 0;
	int step;  /* how far it got: 1 first stores, 2 first sync, 3 second stores, 4 second sync, 5 end */
	int failed = redirect ? set_paddings(&w, count, 1, &first) : set_sites(&w, count, 0, &first);
	step = 1;
	if (!failed) {
		step = 2;
		failed = hp_code_sync_cores();
	}
	if (!failed) {
		step = 3;
		failed = redirect ? set_sites(&w, count, 1, &second) : set_paddings(&w, count, 0, &second);
	}
	if (!failed) {
		step = 4;
		failed = hp_code_sync_cores();
	}
	if (!failed) {
		if (!hp_code_end(&w))
			return 0;
		/* Only the mprotect path gets here: the pages writable again for the undo. */
		step = 5;
		int again = hp_code_protect(sites, count, PROT_READ | PROT_WRITE | PROT_EXEC);
		if (again) {
			snprintf(error, sizeof error, "%s", hp_patch_sites_error());
			return hp_code_error("%s, and making them writable again to undo the change failed: %s: the code is "
			                     "changed and some of its pages may stay writable", error, strerror(again));
		}
	}
	/* Back to the state before the call; a second failure meanwhile is added to the first. */
	snprintf(error, sizeof error, "%s", hp_patch_sites_error());
	size_t ignored;
	int undo = 0;
	if (step >= 3) {
		undo |= redirect ? set_sites(&w, second, 0, &ignored) : set_paddings(&w, second, 1, &ignored);
		undo |= hp_code_sync_cores();
	}
	undo |= redirect ? set_paddings(&w, step == 1 ? first : count, 0, &ignored) :
	                   set_sites(&w, step == 1 ? first : count, 1, &ignored);
	undo |= hp_code_sync_cores();
	undo |= hp_code_end(&w);
	if (undo) {
		char again[320];
		snprintf(again, sizeof again, "%s", hp_patch_sites_error());
		return hp_code_error("%s; undoing it failed too (%s): the code may be left changed", error, again);
	}
	return hp_code_error("%s", error);
}

int hp_patch_sites_redirect(struct hp_patch_site *const *sites, size_t count)
{
	return write_sites(sites, count, 1);
}

int hp_patch_sites_restore(struct hp_patch_site *const *sites, size_t count)
{
	return write_sites(sites, count, 0);
}

/* One atomic store into each slot: a redirected entry's padding jump reads it at its next call. */
int hp_patch_sites_retarget(struct hp_patch_site *const *sites, const uintptr_t *targets, uintptr_t *previous,
                            size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (previous)
			previous[i] = (uintptr_t)__atomic_load_n(sites[i]->slot, __ATOMIC_ACQUIRE);
		__atomic_store_n(sites[i]->slot, (uint64_t)targets[i], __ATOMIC_RELEASE);
	}
	return 0;
}

int hp_patch_site_redirected(const struct hp_patch_site *s)
{
	uint64_t padding;
	uint8_t jump[HP_SITE_SIZE];
	memcpy(&padding, (const void *)(s->entry - HP_SITE_PADDING), sizeof padding);
	site_jump(s, jump);
	return padding == padding_jump(s) && !memcmp((const void *)(s->entry + s->site_offset), jump, sizeof jump);
}

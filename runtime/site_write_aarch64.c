/* site_write_aarch64.c — the AArch64 code writer (site_write.h): an entry's NOP becomes
 * `B new_code`, a retarget rewrites that B, a restore writes the NOP back; each is one aligned
 * 4-byte store, followed by the cache maintenance the architecture asks for and a membarrier.
 * Which entries are sites and the path the stores take are shared with every architecture
 * (site_write.c, site_write_path.h).
 *
 * Why one store is enough (docs/design.md, "The AArch64 site"): the Arm ARM's rules on the
 * concurrent modification and execution of instructions let one core replace an instruction
 * that others may be executing, with no stop and no other synchronisation, when the old and the
 * new one are both among B, BL, NOP, BRK, SVC, HVC, SMC and ISB: every core then executes either
 * the old or the new instruction, never a mix.  The site is always the plugin's NOP, written only
 * as a B or the NOP again, so this holds for a redirect, a retarget and a restore alike.  There
 * is no slot: a B's reach (±128 MiB) is where the loader maps the new code (loader.c), so the
 * branch goes there directly.
 *
 * Making the change seen: after the stores, the data cache is cleaned and the instruction cache
 * invalidated to the point of unification for each word written (__builtin___clear_cache: DC
 * CVAU, DSB ISH, IC IVAU, DSB ISH, ISB, skipped where CTR_EL0 says the core does not need them);
 * the invalidation reaches every core of the inner shareable domain, and the membarrier
 * (site_write.c) makes each of them take a context synchronisation event, after which none runs
 * an instruction it fetched before.  Without the membarrier command a core may still run the old
 * instruction until its next exception return; either instruction is correct meanwhile, since
 * the registry keeps every mapping a thread may have entered.
 *
 * Atomicity through /proc/self/mem: the kernel's memcpy copies 4 bytes as one aligned 4-byte
 * store (or twice the same, loading the first and last word of the range), single-copy atomic
 * either way, and cleans and invalidates the caches itself when the page is executable; the
 * mprotect path is one 4-byte store-release.
 *
 * The path's one AArch64 question (hp_code_fetch_sees_mem): whether instructions see what is
 * written through /proc/self/mem at all.  A core does, after the maintenance above.  A user-mode
 * emulator that caches translated code (qemu-user, on which the tests run this code) notices the
 * program's own stores to a code page and drops what it translated from it, but not the
 * kernel's write into that page: it would run the old translation for ever.  So the first batch
 * asks once, on a page of its own: it runs a function, rewrites it through /proc/self/mem, runs
 * it again; if the old one answers, the stores take the mprotect path. */
#define _GNU_SOURCE
#include "site_write_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hp_package.h"
#include "reloc.h"

_Static_assert(HP_SITE_PADDING == 0 && HP_SITE_SIZE == 4 && HP_SITE_ALIGN == 4,
               "the site is one aligned instruction word, with no padding");

static uintptr_t site_of(const struct hp_patch_site *s)
{
	return s->entry + s->site_offset;
}

static uint32_t live_word(const struct hp_patch_site *s)
{
	return __atomic_load_n((const uint32_t *)site_of(s), __ATOMIC_RELAXED);
}

static uint32_t original_word(const struct hp_patch_site *s)
{
	uint32_t w;
	memcpy(&w, s->original + s->site_offset, sizeof w);
	return w;
}

/* `B target` at the entry's site; -1 with why when target is out of a B's reach. */
static int encode_branch(const struct hp_patch_site *s, uintptr_t target, uint32_t *out, const char **why)
{
	uint8_t b[4];
	uint32_t w = HP_AARCH64_B;
	memcpy(b, &w, sizeof b);
	if (hp_reloc_write(HP_RELOC_A64_BRANCH26, b, target, site_of(s), why))
		return -1;
	memcpy(out, b, sizeof b);
	return 0;
}

/* The same, the error said for hp_patch_sites_error(). */
static int branch_word(const struct hp_patch_site *s, uintptr_t target, uint32_t *out)
{
	const char *why = "cannot be encoded";
	if (encode_branch(s, target, out, &why))
		return hp_code_error("a branch from the function at %#lx to new code at %#lx %s (a B reaches ±128 MiB); "
		                     "nothing was written", (unsigned long)s->entry, (unsigned long)target, why);
	return 0;
}

/* ---- does the instruction stream see /proc/self/mem? -------------------------------------------- */

#define A64_MOV_W0_1 0x52800020u  /* mov w0, #1 */
#define A64_MOV_W0_2 0x52800040u  /* mov w0, #2 */
#define A64_RET 0xd65f03c0u

static int probe_state;           /* 0: not asked yet; 1: seen; -1: not seen (probe_why says how) */
static char probe_why[160];

/* 1 when seen, or when the probe cannot tell (no page to run: the host's word is then taken, as
 * on x86-64); 0 when not, with probe_why. */
static int probe(int fd)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t *code = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 1;
	code[0] = A64_MOV_W0_1;
	code[1] = A64_RET;
	int seen = 1;
	if (!mprotect(code, page, PROT_READ | PROT_EXEC)) {
		__builtin___clear_cache((char *)code, (char *)(code + 2));
		int (*run)(void) = (int (*)(void))(uintptr_t)code;
		uint32_t there[2], two = A64_MOV_W0_2;
		if (run() != 1) {
			seen = 1;  /* cannot tell */
		} else if (pread(fd, there, sizeof there, (off_t)(uintptr_t)code) != (ssize_t)sizeof there) {
			seen = 1;  /* the stores' own pwrite will say why, or fall back */
		} else if (memcmp(there, code, sizeof there)) {
			/* Its offsets are not this program's addresses: an emulator's own memory, say. */
			snprintf(probe_why, sizeof probe_why, "/proc/self/mem does not hold this program's memory at its "
			         "addresses");
			seen = 0;
		} else if (pwrite(fd, &two, sizeof two, (off_t)(uintptr_t)code) == (ssize_t)sizeof two) {
			__builtin___clear_cache((char *)code, (char *)(code + 2));
			seen = run() == 2;
			if (!seen)
				snprintf(probe_why, sizeof probe_why, "instructions do not see writes through /proc/self/mem "
				         "here (an emulator that caches translated code)");
		}
	}
	munmap(code, page);
	return seen;
}

int hp_code_fetch_sees_mem(int fd, char *why, size_t why_size)
{
	if (!probe_state)
		probe_state = probe(fd) ? 1 : -1;
	if (probe_state < 0)
		snprintf(why, why_size, "%s", probe_why);
	return probe_state > 0;
}

/* ---- the stores ----------------------------------------------------------------------------------- */

/* Stores words[0, n) at the sites, each followed by its cache maintenance; *done counts those
 * stored. */
static int store_words(struct hp_code_writer *w, struct hp_patch_site *const *sites, const uint32_t *words,
                       size_t n, size_t *done)
{
	for (*done = 0; *done < n; ++*done) {
		uintptr_t at = site_of(sites[*done]);
		if (hp_code_store(w, at, words[*done], sizeof *words))
			return -1;
		__builtin___clear_cache((char *)at, (char *)at + sizeof *words);
	}
	return 0;
}

/* Writes to[i] over from[i] (what each site holds now) at every site, then serialises every
 * core.  All or nothing: a failure puts back from[] where to[] was stored, and says why; the
 * first error is the one reported. */
static int write_words(struct hp_patch_site *const *sites, const uint32_t *from, const uint32_t *to, size_t count)
{
	struct hp_code_writer w;
	if (!count)
		return 0;
	if (hp_code_begin(&w, sites, count))
		return -1;
	size_t done = 0;
	int failed = store_words(&w, sites, to, count, &done);
	if (!failed)
		failed = hp_code_sync_cores();
	char error[320];
	if (!failed) {
		if (!hp_code_end(&w))
			return 0;
		/* Only the mprotect path gets here: the pages writable again for the undo. */
		int again = hp_code_protect(sites, count, PROT_READ | PROT_WRITE | PROT_EXEC);
		if (again) {
			snprintf(error, sizeof error, "%s", hp_patch_sites_error());
			return hp_code_error("%s, and making them writable again to undo the change failed: %s: the code is "
			                     "changed and some of its pages may stay writable", error, strerror(again));
		}
	}
	snprintf(error, sizeof error, "%s", hp_patch_sites_error());
	size_t ignored;
	int undo = store_words(&w, sites, from, done, &ignored);
	undo |= hp_code_sync_cores();
	undo |= hp_code_end(&w);
	if (undo) {
		char again[320];
		snprintf(again, sizeof again, "%s", hp_patch_sites_error());
		return hp_code_error("%s; undoing it failed too (%s): the code may be left changed", error, again);
	}
	return hp_code_error("%s", error);
}

/* The words of a batch: what each site holds, and what it is to hold. */
struct batch {
	struct hp_patch_site **sites;
	uint32_t *from, *to;
	size_t count;
};

static int batch_alloc(struct batch *b, size_t count)
{
	b->count = 0;
	b->sites = calloc(count + 1, sizeof *b->sites);
	b->from = calloc(count + 1, sizeof *b->from);
	b->to = calloc(count + 1, sizeof *b->to);
	return b->sites && b->from && b->to ? 0 : hp_code_error("out of memory");
}

static void batch_free(struct batch *b)
{
	free(b->sites);
	free(b->from);
	free(b->to);
}

/* Adds a site to the batch if it holds expected (what the runtime wrote or found there): a word
 * that is neither was written by someone else, and the whole batch is refused before anything is
 * written. */
static int batch_add(struct batch *b, struct hp_patch_site *s, uint32_t expected, uint32_t to)
{
	uint32_t now = live_word(s);
	if (now != expected)
		return hp_code_error("the function at %#lx holds %08x at its site, not %08x as the runtime left it "
		                     "(changed by someone else); nothing was written", (unsigned long)s->entry, now,
		                     expected);
	b->sites[b->count] = s;
	b->from[b->count] = now;
	b->to[b->count++] = to;
	return 0;
}

/* What a site holds as the runtime left it: its B when redirected, else the NOP it was found with. */
static int expected_word(const struct hp_patch_site *s, uint32_t *out)
{
	if (!s->live) {
		*out = original_word(s);
		return 0;
	}
	return branch_word(s, s->target, out);
}

/* Every branch is encoded (and its reach checked) and every site checked before anything is
 * written. */
int hp_patch_sites_redirect(struct hp_patch_site *const *sites, size_t count)
{
	struct batch b;
	int rc = batch_alloc(&b, count);
	for (size_t i = 0; i < count && !rc; i++) {
		uint32_t branch;
		if (sites[i]->live)
			rc = hp_code_error("the function at %#lx is redirected already", (unsigned long)sites[i]->entry);
		else
			rc = branch_word(sites[i], sites[i]->target, &branch);
		if (!rc)
			rc = batch_add(&b, sites[i], original_word(sites[i]), branch);
	}
	if (!rc)
		rc = write_words(b.sites, b.from, b.to, b.count);
	for (size_t i = 0; i < count && !rc; i++)
		sites[i]->live = 1;
	batch_free(&b);
	return rc;
}

int hp_patch_sites_restore(struct hp_patch_site *const *sites, size_t count)
{
	struct batch b;
	int rc = batch_alloc(&b, count);
	for (size_t i = 0; i < count && !rc; i++) {
		uint32_t expected;
		rc = expected_word(sites[i], &expected);
		if (!rc)
			rc = batch_add(&b, sites[i], expected, original_word(sites[i]));
	}
	if (!rc)
		rc = write_words(b.sites, b.from, b.to, b.count);
	for (size_t i = 0; i < count && !rc; i++)
		sites[i]->live = 0;
	batch_free(&b);
	return rc;
}

/* An entry not redirected has only its target recorded; a redirected one has its B rewritten. */
int hp_patch_sites_retarget(struct hp_patch_site *const *sites, const uintptr_t *targets, uintptr_t *previous,
                            size_t count)
{
	for (size_t i = 0; previous && i < count; i++)
		previous[i] = sites[i]->target;
	struct batch b;
	int rc = batch_alloc(&b, count);
	for (size_t i = 0; i < count && !rc; i++) {
		uint32_t expected, branch;
		if (!sites[i]->live)
			continue;
		rc = expected_word(sites[i], &expected);
		if (!rc)
			rc = branch_word(sites[i], targets[i], &branch);
		if (!rc)
			rc = batch_add(&b, sites[i], expected, branch);
	}
	if (!rc)
		rc = write_words(b.sites, b.from, b.to, b.count);
	for (size_t i = 0; i < count && !rc; i++)
		sites[i]->target = targets[i];
	batch_free(&b);
	return rc;
}

int hp_patch_site_redirected(const struct hp_patch_site *s)
{
	uint32_t branch;
	const char *why;
	return s->live && !encode_branch(s, s->target, &branch, &why) && live_word(s) == branch;
}

/* site_write.c — writing the running code (site_write.h): checking that an entry is a real patch
 * site, the atomic stores of the padding jump, the site jump and the slot, the order between
 * them, the cross-core serialisation that makes every thread see them, and the path the stores
 * take, which never leaves a page writable and executable.  The bytes written come from
 * contract/site.h's encodings; what is x86-64 here is that one aligned 8-byte store rewrites the
 * padding and one aligned store the site, and that code changed by stores needs no cache
 * maintenance beyond a serialising event on each core: another architecture adds its own file
 * next to this one.
 *
 * How the code is written.  The text pages stay read+execute: every store goes through
 * /proc/self/mem, whose write path (FOLL_FORCE) copies the page on write like a store into a
 * private mapping would, then stores through the kernel's own, non-executable, mapping of that
 * page.  A host that allows no page writable and executable (SELinux execmod and deny_execmem,
 * PaX MPROTECT) allows that.  Only when /proc/self/mem cannot be opened or the kernel refuses the
 * forced write (no /proc, a non-dumpable process, proc_mem.force_override=never) are the pages
 * made writable for the stores, as before, if the host allows it; otherwise the error says both.
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
#include "site_write.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/membarrier.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Why the last redirect or restore failed (the registry's lock serialises every caller). */
static char last_error[320];

static int set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return -1;
}

const char *hp_patch_sites_error(void)
{
	return last_error;
}

/* 1: private expedited sync-core registered; -1: unavailable (a fence is all there is). */
static int membarrier_state;

static void register_membarrier(void)
{
	if (membarrier_state == 0)
		membarrier_state =
		    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0 ? 1 : -1;
}

/* Registering costs the kernel an RCU grace period once threads exist: done when the library
 * loads, while the process is normally single-threaded, and not on the first apply. */
__attribute__((constructor)) static void hp_site_write_init(void)
{
	register_membarrier();
}

/* Makes every thread of the process serialize its instruction stream, so that none runs stale
 * bytes of the code just changed.  Registered, the command does not fail; if it does, the change
 * cannot be known to be seen, and the caller takes it back. */
static int sync_cores(void)
{
	register_membarrier();
	if (membarrier_state < 0) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	}
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		return set_error("membarrier sync-core failed: %s", strerror(errno));
	return 0;
}

/* ---- which entries are sites ------------------------------------------------------------------ */

struct segment_search {
	uintptr_t base, at;           /* the module's load base; an address to find */
	int module;                   /* a module loaded at base was listed */
	int found;                    /* and one of its PT_LOAD segments holds at */
	uintptr_t end;
	unsigned flags;               /* that segment's PF_* */
};

static int find_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct segment_search *f = arg;
	if (info->dlpi_addr != f->base)
		return 0;
	f->module = 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
		if (ph->p_type == PT_LOAD && f->at >= start && f->at < end) {
			f->found = 1;
			f->end = end;
			f->flags = ph->p_flags;
			return 1;
		}
	}
	return 0;
}

int hp_patch_site_check(uintptr_t base, uintptr_t entry, unsigned site_offset, const struct hp_patch_site *redirected,
                        int *needs_stopped_world, char *why, size_t why_size)
{
	*needs_stopped_world = 0;
	const uintptr_t start = entry - HP_SITE_PADDING, end = entry + site_offset + HP_SITE_SIZE;
	if (site_offset > HP_SITE_MARKER_SIZE || entry < HP_SITE_PADDING || end < entry) {
		snprintf(why, why_size, "no patch site can be at %#lx (site +%u)", (unsigned long)entry, site_offset);
		return -1;
	}
	if (start % HP_SITE_ALIGN) {  /* the plugin aligns the function with its padding (site.h) */
		snprintf(why, why_size, "its padding at %#lx is not aligned to %d bytes", (unsigned long)start, HP_SITE_ALIGN);
		return -1;
	}
	struct segment_search f = { .base = base, .at = start };
	dl_iterate_phdr(find_segment, &f);
	if (!f.module) {
		snprintf(why, why_size, "dl_iterate_phdr lists no module loaded at %#lx", (unsigned long)base);
		return -1;
	}
	if (!f.found || !(f.flags & PF_X) || end > f.end) {
		snprintf(why, why_size, "%#lx is not in an executable segment of the module (%s)", (unsigned long)entry,
		         !f.found ? "in none of its segments" : !(f.flags & PF_X) ? "in a segment that is not executable" :
		                                                            "past the end of its segment");
		return -1;
	}
	/* What the entry held before any patch: the live bytes, or those recorded when it was first
	 * redirected (the live ones are jumps now). */
	size_t len = redirected ? HP_SITE_PADDING + redirected->site_offset + HP_SITE_SIZE :
	                          (f.end - start < HP_SITE_SPAN ? f.end - start : HP_SITE_SPAN);
	struct hp_site site;
	hp_site_inspect(redirected ? redirected->original : (const uint8_t *)start, len, entry, &site);
	if (site.problem) {
		snprintf(why, why_size, "%s", site.problem);
		return -1;
	}
	if (site.offset != site_offset) {
		snprintf(why, why_size, "the package puts its site at +%u, the code has it at +%u", site_offset,
		         (unsigned)site.offset);
		return -1;
	}
	*needs_stopped_world = site.needs_stopped_world;
	return 0;
}

int hp_patch_site_holds(uintptr_t entry, const struct hp_patch_site *redirected, const uint8_t *expected,
                        size_t size)
{
	const uint8_t *now = redirected ? redirected->original : (const uint8_t *)(entry - HP_SITE_PADDING);
	return !memcmp(now, expected, size);
}

void hp_patch_site_init(struct hp_patch_site *s, uintptr_t entry, unsigned site_offset, uint64_t *slot)
{
	s->entry = entry;
	s->site_offset = (uint8_t)site_offset;
	s->slot = slot;
	memcpy(s->original, (const void *)(entry - HP_SITE_PADDING), HP_SITE_PADDING + site_offset + HP_SITE_SIZE);
}

uintptr_t hp_patch_site_retarget(struct hp_patch_site *s, uintptr_t target)
{
	uint64_t previous = __atomic_load_n(s->slot, __ATOMIC_ACQUIRE);
	__atomic_store_n(s->slot, (uint64_t)target, __ATOMIC_RELEASE);
	return (uintptr_t)previous;
}

/* ---- the path the stores take ------------------------------------------------------------------- */

static int page_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return (x > y) - (x < y);
}

/* Changes the protection of the pages holding the sites' padding and entry, merging adjacent
 * pages into one call: each mprotect interrupts every other core to flush its TLB.  Returns 0 or
 * the errno of the first call that failed (the others are still made). */
static int protect_sites(struct hp_patch_site *const *sites, size_t count, int prot)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t *pages = malloc((2 * count + 1) * sizeof *pages);
	if (!pages)
		return ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		pages[n++] = (sites[i]->entry - HP_SITE_PADDING) & ~(page - 1);
		pages[n++] = (sites[i]->entry + sites[i]->site_offset + 1) & ~(page - 1);
	}
	qsort(pages, n, sizeof *pages, page_cmp);
	int error = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		uintptr_t end = pages[i] + page;
		while (j < n && pages[j] <= end) {
			if (pages[j] == end)
				end += page;
			j++;
		}
		if (mprotect((void *)pages[i], end - pages[i], prot) && !error)
			error = errno;
		i = j;
	}
	free(pages);
	return error;
}

/* How one batch of stores reaches the code. */
struct writer {
	int fd;                       /* /proc/self/mem, or -1: the pages were made writable */
	int written;                  /* a store went through fd: its refusal is no longer "not allowed" */
	struct hp_patch_site *const *sites;
	size_t count;
	char mem_error[128];          /* why /proc/self/mem was not usable, for the fallback's error */
};

/* The errors that mean "this kernel or process does not offer /proc/self/mem writes", as opposed
 * to a failure of this one call: no /proc, no permission, forced writes disabled. */
static int mem_unavailable(int error)
{
	return error == ENOENT || error == EACCES || error == EPERM || error == EROFS || error == EIO;
}

/* Falls back to making the pages writable for the batch, when the host allows that. */
static int begin_mprotect(struct writer *w)
{
	int error = protect_sites(w->sites, w->count, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (!error)
		return 0;
	protect_sites(w->sites, w->count, PROT_READ | PROT_EXEC);
	return set_error("cannot write code: %s, and mprotect read-write-execute failed: %s", w->mem_error,
	                 strerror(error));
}

static int begin(struct writer *w, struct hp_patch_site *const *sites, size_t count)
{
	memset(w, 0, sizeof *w);
	w->sites = sites;
	w->count = count;
	w->fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (w->fd >= 0)
		return 0;
	if (!mem_unavailable(errno))
		return set_error("cannot write code: open /proc/self/mem failed: %s", strerror(errno));
	snprintf(w->mem_error, sizeof w->mem_error, "open /proc/self/mem failed: %s", strerror(errno));
	return begin_mprotect(w);
}

/* Stores the aligned 8-byte word at `at`, with one store of the whole word as other threads see
 * it (see the top of this file).  A refusal of the first forced write switches the batch to the
 * mprotect path when /proc/self/mem writes are not allowed here. */
static int store_word(struct writer *w, uintptr_t at, uint64_t value)
{
	if (w->fd >= 0) {
		ssize_t n = pwrite(w->fd, &value, sizeof value, (off_t)at);
		if (n == (ssize_t)sizeof value) {
			w->written = 1;
			return 0;
		}
		int error = n < 0 ? errno : EIO;
		if (w->written || !mem_unavailable(error))
			return set_error("cannot write code: pwrite /proc/self/mem failed: %s", strerror(error));
		snprintf(w->mem_error, sizeof w->mem_error, "pwrite /proc/self/mem failed: %s", strerror(error));
		close(w->fd);
		w->fd = -1;
		if (begin_mprotect(w))
			return -1;
	}
	__atomic_store_n((uint64_t *)at, value, __ATOMIC_RELEASE);
	return 0;
}

/* The site's 2 bytes: through /proc/self/mem as the aligned word holding them (its other bytes as
 * they are: nothing else writes a function's first bytes), on the mprotect path one 2-byte store. */
_Static_assert(HP_SITE_ALIGN % 8 == 0 && (HP_SITE_MARKER_SIZE % 8) + HP_SITE_SIZE <= 8,
               "the site lies within one aligned 8-byte word");
static int store_site(struct writer *w, const struct hp_patch_site *s, const uint8_t bytes[HP_SITE_SIZE])
{
	uintptr_t site = s->entry + s->site_offset, word = site & ~(uintptr_t)7;
	if (w->fd < 0) {
		uint16_t v;
		memcpy(&v, bytes, sizeof v);
		__atomic_store_n((uint16_t *)site, v, __ATOMIC_RELEASE);
		return 0;
	}
	uint8_t b[8];
	memcpy(b, (const void *)word, sizeof b);
	memcpy(b + (site - word), bytes, HP_SITE_SIZE);
	uint64_t v;
	memcpy(&v, b, sizeof v);
	return store_word(w, word, v);
}

/* Ends a batch: the pages read+execute again on the mprotect path.  Returns 0 or -1. */
static int end(struct writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		return 0;
	}
	int error = protect_sites(w->sites, w->count, PROT_READ | PROT_EXEC);
	return error ? set_error("mprotect read-execute failed: %s", strerror(error)) : 0;
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
static int set_paddings(struct writer *w, size_t n, int jump, size_t *done)
{
	for (*done = 0; *done < n; ++*done) {
		const struct hp_patch_site *s = w->sites[*done];
		if (store_word(w, s->entry - HP_SITE_PADDING, jump ? padding_jump(s) : padding_original(s)))
			return -1;
	}
	return 0;
}

static int set_sites(struct writer *w, size_t n, int jump, size_t *done)
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
	struct writer w;
	if (!count)
		return 0;
	if (begin(&w, sites, count))
		return -1;
	char error[sizeof last_error];
	size_t first = 0, second = 0;
	int step;  /* how far it got: 1 first stores, 2 first sync, 3 second stores, 4 second sync, 5 end */
	int failed = redirect ? set_paddings(&w, count, 1, &first) : set_sites(&w, count, 0, &first);
	step = 1;
	if (!failed) {
		step = 2;
		failed = sync_cores();
	}
	if (!failed) {
		step = 3;
		failed = redirect ? set_sites(&w, count, 1, &second) : set_paddings(&w, count, 0, &second);
	}
	if (!failed) {
		step = 4;
		failed = sync_cores();
	}
	if (!failed) {
		if (!end(&w))
			return 0;
		/* Only the mprotect path gets here: the pages writable again for the undo. */
		step = 5;
		int again = protect_sites(sites, count, PROT_READ | PROT_WRITE | PROT_EXEC);
		if (again)
			return set_error("%s, and making them writable again to undo the change failed: %s: the code is "
			                 "changed and some of its pages may stay writable", last_error, strerror(again));
	}
	/* Back to the state before the call; a second failure meanwhile is added to the first. */
	snprintf(error, sizeof error, "%s", last_error);
	size_t ignored;
	int undo = 0;
	if (step >= 3) {
		undo |= redirect ? set_sites(&w, second, 0, &ignored) : set_paddings(&w, second, 1, &ignored);
		undo |= sync_cores();
	}
	undo |= redirect ? set_paddings(&w, step == 1 ? first : count, 0, &ignored) :
	                   set_sites(&w, step == 1 ? first : count, 1, &ignored);
	undo |= sync_cores();
	undo |= end(&w);
	if (undo)
		return set_error("%s; undoing it failed too (%s): the code may be left changed", error, last_error);
	snprintf(last_error, sizeof last_error, "%s", error);
	return -1;
}

int hp_patch_sites_redirect(struct hp_patch_site *const *sites, size_t count)
{
	return write_sites(sites, count, 1);
}

int hp_patch_sites_restore(struct hp_patch_site *const *sites, size_t count)
{
	return write_sites(sites, count, 0);
}

int hp_patch_site_redirected(const struct hp_patch_site *s)
{
	uint64_t padding;
	uint8_t jump[HP_SITE_SIZE];
	memcpy(&padding, (const void *)(s->entry - HP_SITE_PADDING), sizeof padding);
	site_jump(s, jump);
	return padding == padding_jump(s) && !memcmp((const void *)(s->entry + s->site_offset), jump, sizeof jump);
}

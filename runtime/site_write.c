/* site_write.c — what every architecture's code writer shares (site_write.h, site_write_path.h):
 * which entries are patch sites (checked on the process itself), the bytes an entry held before
 * it was first redirected, the path a batch of stores takes into the code, and the membarrier
 * that makes every core see it.  The stores themselves, their order and any cache maintenance
 * are the processor's: site_write_x86_64.c, site_write_aarch64.c. */
#define _GNU_SOURCE
#include "site_write_path.h"

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

/* Why the last redirect, restore or retarget failed (the registry's lock serialises every caller). */
static char last_error[320];

int hp_code_error(const char *fmt, ...)
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

/* Registered, the command does not fail; if it does, the change cannot be known to be seen, and
 * the caller takes it back.  Unregistered (a kernel without the command), every core still
 * serialises at its next exception return (a system call, an interrupt, a preemption), which is
 * what the command would have forced at once: a thread may until then run the instruction it
 * fetched before the store, and no later one.  The processor's file says why either instruction
 * is safe to run meanwhile. */
int hp_code_sync_cores(void)
{
	register_membarrier();
	if (membarrier_state < 0) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	}
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		return hp_code_error("membarrier sync-core failed: %s", strerror(errno));
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
	memset(s, 0, sizeof *s);
	s->entry = entry;
	s->site_offset = (uint8_t)site_offset;
	s->slot = slot;
	memcpy(s->original, (const void *)(entry - HP_SITE_PADDING), HP_SITE_PADDING + site_offset + HP_SITE_SIZE);
}

/* ---- the path the stores take ------------------------------------------------------------------- */

static int page_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return (x > y) - (x < y);
}

/* Merges adjacent pages into one call: each mprotect interrupts every other core to flush its
 * TLB.  The others are still made after one fails. */
int hp_code_protect(struct hp_patch_site *const *sites, size_t count, int prot)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t *pages = malloc((2 * count + 1) * sizeof *pages);
	if (!pages)
		return ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		pages[n++] = (sites[i]->entry - HP_SITE_PADDING) & ~(page - 1);
		pages[n++] = (sites[i]->entry + sites[i]->site_offset + HP_SITE_SIZE - 1) & ~(page - 1);
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

/* The errors that mean "this kernel or process does not offer /proc/self/mem writes", as opposed
 * to a failure of this one call: no /proc, no permission, forced writes disabled. */
static int mem_unavailable(int error)
{
	return error == ENOENT || error == EACCES || error == EPERM || error == EROFS || error == EIO;
}

/* Falls back to making the pages writable for the batch, when the host allows that. */
static int begin_mprotect(struct hp_code_writer *w)
{
	int error = hp_code_protect(w->sites, w->count, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (!error)
		return 0;
	hp_code_protect(w->sites, w->count, PROT_READ | PROT_EXEC);
	return hp_code_error("cannot write code: %s, and mprotect read-write-execute failed: %s", w->mem_error,
	                     strerror(error));
}

int hp_code_begin(struct hp_code_writer *w, struct hp_patch_site *const *sites, size_t count)
{
	memset(w, 0, sizeof *w);
	w->sites = sites;
	w->count = count;
	w->fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (w->fd < 0) {
		if (!mem_unavailable(errno))
			return hp_code_error("cannot write code: open /proc/self/mem failed: %s", strerror(errno));
		snprintf(w->mem_error, sizeof w->mem_error, "open /proc/self/mem failed: %s", strerror(errno));
		return begin_mprotect(w);
	}
	if (hp_code_fetch_sees_mem(w->fd, w->mem_error, sizeof w->mem_error))
		return 0;
	close(w->fd);
	w->fd = -1;
	return begin_mprotect(w);
}

int hp_code_store(struct hp_code_writer *w, uintptr_t at, uint64_t value, unsigned size)
{
	if (w->fd >= 0) {
		uint8_t b[8];
		memcpy(b, &value, sizeof b);  /* little-endian: the low size bytes are the first */
		ssize_t n = pwrite(w->fd, b, size, (off_t)at);
		if (n == (ssize_t)size) {
			w->written = 1;
			return 0;
		}
		int error = n < 0 ? errno : EIO;
		if (w->written || !mem_unavailable(error))
			return hp_code_error("cannot write code: pwrite /proc/self/mem failed: %s", strerror(error));
		snprintf(w->mem_error, sizeof w->mem_error, "pwrite /proc/self/mem failed: %s", strerror(error));
		close(w->fd);
		w->fd = -1;
		if (begin_mprotect(w))
			return -1;
	}
	switch (size) {
	case 2:
		__atomic_store_n((uint16_t *)at, (uint16_t)value, __ATOMIC_RELEASE);
		break;
	case 4:
		__atomic_store_n((uint32_t *)at, (uint32_t)value, __ATOMIC_RELEASE);
		break;
	default:
		__atomic_store_n((uint64_t *)at, value, __ATOMIC_RELEASE);
		break;
	}
	return 0;
}

int hp_code_end(struct hp_code_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		return 0;
	}
	int error = hp_code_protect(w->sites, w->count, PROT_READ | PROT_EXEC);
	return error ? hp_code_error("mprotect read-execute failed: %s", strerror(error)) : 0;
}

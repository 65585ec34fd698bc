/* site_write.c — writing the running code (site_write.h): checking that an entry is a real patch
 * site, page protection, the atomic stores of the padding jump, the site jump and the slot, the
 * order between them, and the cross-core serialisation that makes every thread see them.  The bytes written come from contract/site.h's
 * encodings; what is x86-64 here is that one aligned 8-byte store rewrites the padding and one
 * 2-byte store the site, and that code changed by stores needs no cache maintenance beyond a
 * serialising event on each core: another architecture adds its own file next to this one. */
#define _GNU_SOURCE
#include "site_write.h"

#include <elf.h>
#include <link.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
 * bytes of the code just changed. */
static void sync_cores(void)
{
	register_membarrier();
	if (membarrier_state > 0)
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
	else
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

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
                        char *why, size_t why_size)
{
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

static int page_cmp(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return (x > y) - (x < y);
}

/* Changes the protection of the pages holding the sites' padding and entry, merging adjacent
 * pages into one call: each mprotect interrupts every other core to flush its TLB. */
static int protect_sites(struct hp_patch_site *const *sites, size_t count, int prot)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t *pages = malloc((2 * count + 1) * sizeof *pages);
	if (!pages)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		pages[n++] = (sites[i]->entry - HP_SITE_PADDING) & ~(page - 1);
		pages[n++] = (sites[i]->entry + sites[i]->site_offset + 1) & ~(page - 1);
	}
	qsort(pages, n, sizeof *pages, page_cmp);
	int rc = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		uintptr_t end = pages[i] + page;
		while (j < n && pages[j] <= end) {
			if (pages[j] == end)
				end += page;
			j++;
		}
		rc |= mprotect((void *)pages[i], end - pages[i], prot);
		i = j;
	}
	free(pages);
	return rc;
}

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

static uint16_t site_jump(const struct hp_patch_site *s)
{
	uint8_t b[HP_SITE_SIZE];
	uint16_t v;
	hp_site_entry_jump(s->site_offset, b);
	memcpy(&v, b, sizeof v);
	return v;
}

/* Redirects or restores sites: writes text, which is writable only for that moment. */
static int write_sites(struct hp_patch_site *const *sites, size_t count, int redirect)
{
	if (protect_sites(sites, count, PROT_READ | PROT_WRITE | PROT_EXEC)) {
		protect_sites(sites, count, PROT_READ | PROT_EXEC);
		return -1;
	}
	if (redirect) {
		for (size_t i = 0; i < count; i++)  /* nothing executes padding: plain stores do */
			__atomic_store_n((uint64_t *)(sites[i]->entry - HP_SITE_PADDING), padding_jump(sites[i]), __ATOMIC_RELEASE);
		sync_cores();
		for (size_t i = 0; i < count; i++)
			__atomic_store_n((uint16_t *)(sites[i]->entry + sites[i]->site_offset), site_jump(sites[i]),
			                 __ATOMIC_RELEASE);
	} else {
		for (size_t i = 0; i < count; i++) {
			uint16_t v;
			memcpy(&v, sites[i]->original + HP_SITE_PADDING + sites[i]->site_offset, sizeof v);
			__atomic_store_n((uint16_t *)(sites[i]->entry + sites[i]->site_offset), v, __ATOMIC_RELEASE);
		}
		sync_cores();
		for (size_t i = 0; i < count; i++) {
			uint64_t v;
			memcpy(&v, sites[i]->original, sizeof v);
			__atomic_store_n((uint64_t *)(sites[i]->entry - HP_SITE_PADDING), v, __ATOMIC_RELEASE);
		}
	}
	sync_cores();
	return protect_sites(sites, count, PROT_READ | PROT_EXEC);
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
	uint16_t site;
	memcpy(&padding, (const void *)(s->entry - HP_SITE_PADDING), sizeof padding);
	memcpy(&site, (const void *)(s->entry + s->site_offset), sizeof site);
	return padding == padding_jump(s) && site == site_jump(s);
}

/* site_write.c — writing the running code (site_write.h): page protection, the atomic stores of
 * the padding jump, the site jump and the slot, the order between them, and the cross-core
 * serialisation that makes every thread see them.  The bytes written come from contract/site.h's
 * encodings; what is x86-64 here is that one aligned 8-byte store rewrites the padding and one
 * 2-byte store the site, and that code changed by stores needs no cache maintenance beyond a
 * serialising event on each core: another architecture adds its own file next to this one. */
#define _GNU_SOURCE
#include "site_write.h"

#include <linux/membarrier.h>
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

int hp_patch_site_within(uintptr_t entry, unsigned site_offset, uintptr_t start, uintptr_t end)
{
	return entry - HP_SITE_PADDING >= start && entry + site_offset + HP_SITE_SIZE <= end;
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

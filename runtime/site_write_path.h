/* site_write_path.h — inside the code writer only (site_write.c and site_write_<processor>.c):
 * the path a batch of stores into code takes, which is the same on every architecture, and the
 * cross-core serialisation after it.  What is stored, in which order, and what else a processor
 * needs before its other cores may run the new instructions is the processor's file's.
 *
 * The path: every store goes through /proc/self/mem, whose write path (FOLL_FORCE) copies the
 * page on write as a store into a private mapping would, then stores through the kernel's own,
 * non-executable mapping of that page: the text pages stay read+execute, which a host that
 * allows no page writable and executable (SELinux execmod and deny_execmem, PaX MPROTECT)
 * permits.  Only when /proc/self/mem cannot be opened or the kernel refuses the forced write (no
 * /proc, a non-dumpable process, proc_mem.force_override=never), or the processor's file finds
 * that instructions do not see what is written there (hp_code_fetch_sees_mem), are the pages
 * made writable for the stores, if the host allows it; otherwise the error says both. */
#ifndef HP_SITE_WRITE_PATH_H
#define HP_SITE_WRITE_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "site_write.h"

/* How one batch of stores reaches the code. */
struct hp_code_writer {
	int fd;                       /* /proc/self/mem, or -1: the pages were made writable */
	int written;                  /* a store went through fd: its refusal is no longer "not allowed" */
	struct hp_patch_site *const *sites;  /* the entries whose pages the batch writes */
	size_t count;
	char mem_error[160];          /* why /proc/self/mem was not usable, for the fallback's error */
};

/* Sets the reason hp_patch_sites_error() gives (printf-style); returns -1. */
int hp_code_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the batch: /proc/self/mem, or the pages of every site made writable.  Returns 0 or -1. */
int hp_code_begin(struct hp_code_writer *w, struct hp_patch_site *const *sites, size_t count);

/* Stores the size bytes (2, 4 or 8) of value at at, aligned to size: through /proc/self/mem one
 * write of those bytes, on the other path one atomic store.  A refusal of the batch's first
 * forced write moves it to the other path when /proc/self/mem writes are not allowed here.
 * Returns 0 or -1. */
int hp_code_store(struct hp_code_writer *w, uintptr_t at, uint64_t value, unsigned size);

/* Closes the batch: the pages read+execute again if they were made writable.  Returns 0 or -1
 * (the pages may then still be writable). */
int hp_code_end(struct hp_code_writer *w);

/* Sets the protection of the pages holding the sites' padding and site.  Returns 0 or the errno
 * of the first mprotect that failed. */
int hp_code_protect(struct hp_patch_site *const *sites, size_t count, int prot);

/* Makes every thread of the process serialise its instruction stream (membarrier sync-core), so
 * that none runs stale instructions of code just changed.  Returns 0 or -1. */
int hp_code_sync_cores(void);

/* The processor's file's word on the /proc/self/mem path (fd open on it): 1 when an instruction
 * fetch sees what is written there once the processor's own maintenance is done, 0 when not,
 * with why in why; asked once per batch before any store. */
int hp_code_fetch_sees_mem(int fd, char *why, size_t why_size);

#endif

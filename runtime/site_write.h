/* site_write.h — writing the running code: the only part of libhotpatch that changes a function's
 * entry.  The registry (hotpatch.c) decides which entries to redirect, restore or retarget and
 * keeps them; this interface does it, knowing what bytes go where (contract/site.h), with which
 * stores, through which path (never a page both writable and executable, where the host allows
 * another), and how every thread is made to see the change.
 *
 * A redirected entry (docs/design.md, "The runtime", "The AArch64 site"):
 *   - x86-64: its padding becomes a jump through an 8-byte slot holding the new code's address,
 *     then its site a short jump back into the padding, each with one atomic store; moving it
 *     to other new code is one store into the slot, which the registry provides near the module
 *     (HP_PATCH_SITE_SLOTS);
 *   - AArch64: its site, a NOP, becomes `B new_code` with one atomic 4-byte store; moving it to
 *     other new code rewrites that B.  There is no slot: the branch is its own.
 * The caller serialises every call (the registry's lock). */
#ifndef HP_SITE_WRITE_H
#define HP_SITE_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "site.h"

/* Whether a redirected entry reads its target from a slot the registry gives hp_patch_site_init
 * (an 8-byte cell within reach of the module), or holds it in its own code. */
#if defined(__x86_64__)
#define HP_PATCH_SITE_SLOTS 1
#else
#define HP_PATCH_SITE_SLOTS 0
#endif

/* A function entry as the writer knows it, from hp_patch_site_init on. */
struct hp_patch_site {
	uintptr_t entry;              /* the function's symbol */
	uint8_t site_offset;          /* of the site past the symbol: 0, or after a branch-target marker */
	uint8_t original[HP_SITE_SPAN];  /* padding, marker if any, site: as found */
	uint64_t *slot;               /* where its padding jump reads the target (HP_PATCH_SITE_SLOTS) */
	uintptr_t target;             /* without slots: the new code its branch leads to, or will */
	uint8_t live;                 /* without slots: its branch is written (redirected, not restored) */
};

/* Whether the entry at entry, in the module loaded at base, is a patch site the runtime may
 * write, checked on the process itself and not on a package's word: its padding (the function
 * with its prefix) aligned to HP_SITE_ALIGN, padding and site inside one executable PT_LOAD
 * segment of that module (dl_iterate_phdr), and hp_site_inspect's checks passed on its bytes
 * (the live ones, or for an entry already redirected the ones it held before), with the site
 * where the package puts it.  Returns 0 and in *needs_stopped_world whether the site may be
 * written only with every thread stopped (site.h), or -1 with why (lowercase, no function name)
 * in why. */
int hp_patch_site_check(uintptr_t base, uintptr_t entry, unsigned site_offset, const struct hp_patch_site *redirected,
                        int *needs_stopped_world, char *why, size_t why_size);

/* Whether the entry holds the size bytes expected, from the padding's start: the bytes in the
 * code now, or for an entry already redirected (redirected, else NULL), what it held before. */
int hp_patch_site_holds(uintptr_t entry, const struct hp_patch_site *redirected, const uint8_t *expected,
                        size_t size);

/* Takes an entry not yet redirected: records its bytes and the slot it will jump through (NULL
 * without HP_PATCH_SITE_SLOTS). */
void hp_patch_site_init(struct hp_patch_site *s, uintptr_t entry, unsigned site_offset, uint64_t *slot);

/* Points each entry at targets[i], previous[i] receiving the target it had: a redirected entry
 * runs the new target from then on (x86-64: one atomic store into its slot; AArch64: its B
 * rewritten, then every core serialised), one not redirected yet will when it is.  All or
 * nothing, like the redirect: returns 0, or -1 with every entry as before and the reason in
 * hp_patch_sites_error() (x86-64 cannot fail).  previous may be NULL; when not, it is filled in
 * either case (on failure, with the targets the entries still have). */
int hp_patch_sites_retarget(struct hp_patch_site *const *sites, const uintptr_t *targets, uintptr_t *previous,
                            size_t count);

/* Redirects the entries through their slots, or gives them their original bytes back.  All or
 * nothing: returns 0, or -1 with every entry as it was before the call and the reason, naming
 * the system call that failed, in hp_patch_sites_error(). */
int hp_patch_sites_redirect(struct hp_patch_site *const *sites, size_t count);
int hp_patch_sites_restore(struct hp_patch_site *const *sites, size_t count);

/* Whether a redirected entry still holds what hp_patch_sites_redirect wrote (x86-64: its padding
 * jump through its slot and its site jump; AArch64: the B to its target): the registry checks before it writes there again, since a
 * library unloaded and loaded again, or another tool, may have changed the code meanwhile.  The
 * caller first makes sure the entry's module is still mapped. */
int hp_patch_site_redirected(const struct hp_patch_site *s);

/* Why the last redirect or restore failed: one line, lowercase. */
const char *hp_patch_sites_error(void);

#endif

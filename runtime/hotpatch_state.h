/* hotpatch_state.h — what a patch author writes in the NEW source when a fix touches data: state
 * hooks the runtime runs around the switch, shadow data that gives live objects extra fields, and
 * the explicit, reviewed acceptance of a data change hpdiff would otherwise refuse.
 * docs/patch-author-guide.md ("Fixes that touch data") has worked examples.
 *
 * Hooks and acceptances are records in the object file (the ".hotpatch.state" section, below),
 * read by hpdiff, which carries them into the package; the code they name travels as new code.
 * The shadow functions are libhotpatch's (linked statically or shared: the runtime resolves a
 * package's calls to them to itself either way).
 *
 * Hooks.  Each macro begins the definition of a file-local function, which the runtime calls
 * while a package is switched in or out of a running process:
 *
 *   HOTPATCH_PRE_APPLY(check_table) { return table_full() ? "the table is full" : NULL; }
 *   HOTPATCH_POST_APPLY(raise_limit) { limit = 20; }
 *
 * Pre hooks return NULL to go on, or a one-line reason that vetoes: the apply or revert is then
 * refused with that reason (hpctl exits 8, "vetoed") and the process left as it was.  Post hooks
 * cannot fail the switch.  The order, for the package's modules loaded in the process, each
 * module's hooks in source order:
 *
 *   apply:   every pre-apply hook (new code mapped, not yet reachable; other threads run on),
 *            the switch, every post-apply hook (new code live).  When a pre-apply hook vetoes,
 *            or the apply fails after them, the post-revert hooks run (those of the modules whose
 *            pre-apply hooks ran), so that what the pre-apply hooks prepared is undone.
 *   revert:  every pre-revert hook (still live), the switch back, every post-revert hook (the new
 *            code is no longer reachable but still mapped, so a hook may still run).
 *   replace: a package that replaces a live one (cumulative) runs its own apply hooks only; the
 *            replaced package's revert hooks are not run, so a cumulative package's hooks must
 *            expect the state any earlier package of the baseline left.
 *
 * Hooks run in the thread that applies or reverts (the runtime's control thread for hpctl, the
 * caller of hp_apply/hp_revert otherwise, a constructor before main for packages applied as the
 * program starts), one at a time, while the runtime holds its lock: they may take the program's
 * own locks and use shadow data, but calling hp_apply, hp_revert or hp_status from a hook fails
 * (HP_E_CONFLICT).  One exception to "other threads run on": under hpctl apply --safe (a package
 * whose entries need a stopped world) the pre-apply hooks run while hpctl holds the other threads,
 * so a pre-apply hook must not wait for a lock another thread may hold (the switch would give up
 * after hpctl's hold time, nothing changed).
 *
 * Shadow data (the model of the Linux kernel's klp_shadow): extra fields for existing live
 * objects, kept beside them instead of in a changed layout.  An object and a caller-chosen id
 * name one shadow block; every call is thread-safe, and hp_shadow_get takes no lock that a
 * writer of another object can hold long.  When a module's live patch is reverted (not
 * replaced), the runtime frees, after the post-revert hooks, every block that the patch's code
 * (or an earlier package's of that module) allocated and did not free.
 *
 * Acceptances: a data change hpdiff refuses is accepted only when the new source says so next to
 * the code that handles it, with a one-line reason that hpdiff records in the package and shows
 * in --explain, --json and hpdump.  A marker that matches no refused change is an error:
 *
 *   HOTPATCH_ACCEPT_LAYOUT(struct conn, "the flag bit sits in padding; conns are calloc'ed");
 *   HOTPATCH_ACCEPT_LAYOUT_MIGRATED(struct conn, convert_conns, "...");
 *   HOTPATCH_ACCEPT_VALUE(limit, "the live limit is set by the post-apply hook raise_limit");
 *   HOTPATCH_ACCEPT_VALUE_MIGRATED(limit, raise_limit, "...");
 *
 * A layout is named as hpdiff's refusal names it ("struct conn", "union u", a typedef's name),
 * and a marker speaks for every file that sees the same change of it (a struct of a shared
 * header), not for another file's private type of the same name; a variable by its name in C (a
 * static local as "function.variable"; a file-local one's marker must be in its own file).  LAYOUT: live objects keep
 * their old bytes and are valid under the new layout as they are; MIGRATED: the named pre-apply
 * or post-apply hook of the same package converts them.  VALUE: the live variable keeps its
 * value and never gets the new initializer; VALUE_MIGRATED: the named hook sets it.  A change of
 * size is never accepted (live objects and variables cannot grow or shrink in place): keep the
 * old definition and hold the new part in shadow data. */
#ifndef HOTPATCH_STATE_H
#define HOTPATCH_STATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Hooks ------------------------------------------------------------------------------ */

#define HOTPATCH_PRE_APPLY(name) HOTPATCH_HOOK_(pre_apply, name, const char *)
#define HOTPATCH_POST_APPLY(name) HOTPATCH_HOOK_(post_apply, name, void)
#define HOTPATCH_PRE_REVERT(name) HOTPATCH_HOOK_(pre_revert, name, const char *)
#define HOTPATCH_POST_REVERT(name) HOTPATCH_HOOK_(post_revert, name, void)

/* ---- Acceptances ------------------------------------------------------------------------ */

#define HOTPATCH_ACCEPT_LAYOUT(type, reason) HOTPATCH_RECORD_(layout, type, , reason)
#define HOTPATCH_ACCEPT_LAYOUT_MIGRATED(type, hook, reason) HOTPATCH_RECORD_(layout, type, hook, reason)
#define HOTPATCH_ACCEPT_VALUE(variable, reason) HOTPATCH_RECORD_(value, variable, , reason)
#define HOTPATCH_ACCEPT_VALUE_MIGRATED(variable, hook, reason) HOTPATCH_RECORD_(value, variable, hook, reason)

/* ---- Shadow data ------------------------------------------------------------------------ */

/* Fills a new shadow block (zeroed before the call); returns 0, or anything else to give up:
 * hp_shadow_get_or_alloc then returns NULL and keeps nothing. */
typedef int hp_shadow_ctor(void *object, void *shadow, void *arg);
/* Releases what a block holds (not the block itself), right before it is freed. */
typedef void hp_shadow_dtor(void *object, void *shadow);

/* The shadow block of (object, id), or NULL when there is none. */
void *hp_shadow_get(const void *object, unsigned long id);

/* A block is known by the code that called hp_shadow_get_or_alloc (its return address), which
 * is how a revert finds the blocks of its package's code: a tail call there would leave the
 * caller's caller's address instead, often the program's, and the block would outlive the
 * revert.  The attribute keeps the call a call (clang; it changes nothing else). */
#if defined(__has_attribute)
#if __has_attribute(not_tail_called)
#define HOTPATCH_NOT_TAIL_CALLED_ __attribute__((not_tail_called))
#endif
#endif
#ifndef HOTPATCH_NOT_TAIL_CALLED_
#define HOTPATCH_NOT_TAIL_CALLED_
#endif

/* The shadow block of (object, id): the existing one, or a new one of size bytes, zeroed and
 * given to ctor (NULL: none) first, published only once ctor succeeded.  Two threads asking at
 * once get the same block, built once.  NULL when memory runs out or ctor fails.  A block that
 * exists already is returned whatever its size: an id names one kind of block. */
HOTPATCH_NOT_TAIL_CALLED_ void *hp_shadow_get_or_alloc(const void *object, unsigned long id, size_t size,
                                                       hp_shadow_ctor *ctor, void *arg);

/* Frees the shadow block of (object, id), if any, after dtor (NULL: none).  Call it where the
 * object is freed, so that a later object at the same address does not find a stale block. */
void hp_shadow_free(const void *object, unsigned long id, hp_shadow_dtor *dtor);

/* Frees every shadow block of id, each after dtor (NULL: none): for a revert hook. */
void hp_shadow_free_all(unsigned long id, hp_shadow_dtor *dtor);

/* ---- The records (the contract with hpdiff, which reads them: differ/state.c) -------------
 *
 * Each hook and acceptance is one char array in the section ".hotpatch.state" of its object:
 * the strings "HP1", kind, subject, hook, reason, each NUL-terminated, back to back.  kind is
 * "pre_apply", "post_apply", "pre_revert", "post_revert" (subject: the hook function, in the
 * same object), "layout" or "value" (subject: the type or variable; hook: the migrating hook, or
 * ""; reason: never empty).  The arrays have alignment 1, so records follow each other; zero
 * bytes between records are skipped. */
#define HOTPATCH_STATE_SECTION ".hotpatch.state"
#define HOTPATCH_STATE_MAGIC "HP1"

#define HOTPATCH_CAT_(a, b) a##b
#define HOTPATCH_CAT(a, b) HOTPATCH_CAT_(a, b)
#define HOTPATCH_RECORD_(kind, subject, hook, reason)                                               \
	__attribute__((section(HOTPATCH_STATE_SECTION), used, aligned(1))) static const char            \
	HOTPATCH_CAT(hotpatch_state_record_, __COUNTER__)[] =                                        \
		HOTPATCH_STATE_MAGIC "\0" #kind "\0" #subject "\0" #hook "\0" reason
#define HOTPATCH_HOOK_(kind, name, result)                                                          \
	static result name(void) __attribute__((used, noinline));                                   \
	HOTPATCH_RECORD_(kind, name, , "");                                                          \
	static result name(void)

#ifdef __cplusplus
}
#endif
#endif

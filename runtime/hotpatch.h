/* hotpatch.h — libhotpatch, the runtime linked into a program so that it can be patched while it
 * runs: apply a package made by hpdiff, revert it, list what is live.
 *
 * Every function returns 0 or a positive value on success and a negative hp_error on failure;
 * hp_strerror() names the error and hp_last_error() gives the details of the last failure in
 * this process (which function, which module).  The library never prints and never exits.
 * A failed apply leaves the process exactly as it was. */
#ifndef HOTPATCH_H
#define HOTPATCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

enum hp_error {
	HP_E_PACKAGE = 1,   /* malformed, truncated or corrupt package */
	HP_E_MODULE,        /* none of the package's modules is loaded (by build-id), or one runs
	                       here as another build (same file name, other build-id) */
	HP_E_MISMATCH,      /* a function entry does not hold the bytes the package expects */
	HP_E_MEMORY,        /* no memory within reach of the module (±2 GiB on x86-64, ±128 MiB on
	                       AArch64), or out of memory */
	HP_E_SYMBOL,        /* a symbol the package imports is not in the process */
	HP_E_RANGE,         /* a relocated value does not fit its field */
	HP_E_PROTECT,       /* code could not be written, or a page's protection set */
	HP_E_NO_PATCH,      /* no live patch with that id */
	HP_E_CONFLICT,      /* another live patch redirects a function of this package; or a state hook
	                       called hp_apply, hp_revert, hp_status or hp_patch_modules */
	HP_E_UNTRUSTED,     /* this process has a trust policy, and the package is unsigned, signed
	                       by a key it does not trust, or changed since it was signed */
	HP_E_DOWNGRADE,     /* the package's sequence is lower than the live patch's it would replace */
	HP_E_STOPPED_WORLD, /* a function's entry (code built with the plugin's entry=padding-only) can
	                       be switched only with every thread stopped (hpctl apply --safe) */
	HP_E_VETOED,        /* a pre-apply or pre-revert hook of the package (hotpatch_state.h) refused
	                       the switch, with its reason: nothing changed */
};

/* Applies a package (the bytes of a .hp file; the library keeps what it needs).  A package made
 * from a build tree may hold several modules (programs and libraries): it applies to every one of
 * them loaded in this process, all or none (every loaded one is verified before any is mapped,
 * and every one is mapped before any is redirected), and skips those not loaded here; it is
 * refused when none is, and when a module of the same file name as one of them (the program's
 * executable, a library's loaded name or soname file) runs here with another build-id.  A package for a module that already has a live patch replaces
 * that patch: each function both patch is switched with one atomic store, unless the package's
 * sequence number is lower than that patch's (HP_E_DOWNGRADE; hp_apply_ex can force it).
 * Every apply, revert and refusal is kept in the process's history and logged to syslog.
 * Returns the new patch's id (> 0). */
int hp_apply(const void *package, size_t size);

enum hp_module_state {
	HP_MODULE_APPLIED = 1,        /* redirected in this process */
	HP_MODULE_SKIPPED,            /* not loaded in this process: nothing to patch */
};

/* What became of one module of a package. */
struct hp_module_result {
	char name[256];               /* the module's name in the package (its path in the build tree) */
	char path[256];               /* where it is loaded in this process; "" when skipped */
	int state;                    /* enum hp_module_state */
	unsigned functions;           /* redirected; 0 when skipped */
};

/* hp_apply, also telling what became of each of the package's modules: up to max results in
 * out, in the package's order; *count (unless NULL) gets how many modules the package has.  On
 * failure nothing is applied and out is not filled. */
int hp_apply_modules(const void *package, size_t size, struct hp_module_result *out, size_t max,
                     size_t *count);

enum {
	HP_APPLY_FORCE = 1u << 0,     /* apply even over a live patch with a higher sequence number */
};

/* hp_apply_modules with flags (HP_APPLY_*; unknown bits refuse the call).  Without
 * HP_APPLY_FORCE, a package whose sequence number is lower than that of a live patch it would
 * replace (in any of its modules) is refused with HP_E_DOWNGRADE, nothing changed. */
int hp_apply_ex(const void *package, size_t size, unsigned flags, struct hp_module_result *out, size_t max,
                size_t *count);

/* The modules of live patch id, applied and skipped, as hp_apply_modules reported them: fills up
 * to max entries and returns how many there are, or -HP_E_NO_PATCH. */
int hp_patch_modules(int id, struct hp_module_result *out, size_t max);

/* Reverts a live patch (id 0: the newest): every entry gets its original bytes back.  Threads
 * already running the new code finish in it; the new code stays mapped. */
int hp_revert(int id);

struct hp_patch_status {
	int id;
	char module[256];             /* path of the patched module in this process */
	uint8_t build_id[32];
	size_t build_id_size;
	uint8_t checksum[16];         /* of the package */
	unsigned functions;           /* redirected */
	time_t applied;
};

/* Fills up to max entries with the live patches, oldest first; returns how many are live. */
int hp_status(struct hp_patch_status *out, size_t max);

const char *hp_strerror(int error);

/* Details of the last failure in this process ("module ./app: redirect 2 (parse): expected
 * bytes differ"), or "" when none. */
const char *hp_last_error(void);

/* Starts the control channel hpctl talks to, in a process where the runtime does not start it by
 * itself: a forked child (a server calls this in each worker it forks, after fork; a child that
 * execs needs nothing) and a setuid, setgid or file-capability program (AT_SECURE: the program
 * opts in; root alone may then patch it).  HOTPATCH_DISABLE=1 still wins.  Returns 1 when the
 * process listens (now, or already), 0 when it does not. */
int hp_control_enable(void);

#ifdef __cplusplus
}
#endif
#endif

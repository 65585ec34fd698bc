/* diff.h — comparing one module between two builds and deciding what its patch holds.
 *
 * The phases, in order (each in its own file; diff_internal.h states what each reads and
 * guarantees to the next):
 *   correlate   pair functions and variables by identity (unit-unique symbol name)
 *   compare     SAME / CHANGED / NEW / REMOVED by fingerprint, confirmed by machine code
 *   verify      refuse what cannot be applied to a live process (hazards.md)
 *   redirect    changed functions: their new code and a redirect from the old entry
 *   resolve     bind every relocation of the new code: old module, package, or import,
 *               including what the new code needs that the old module lacks
 *   unwind      the new code's unwind records
 * The result is one module of a package (hp_package.h), kept in memory until written. */
#ifndef HP_DIFF_H
#define HP_DIFF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "build.h"
#include "hp_package.h"

struct hp_diff_options {
	int allow_unfingerprinted;    /* accept functions without metadata (objects without plugin) */
	int allow_lost_state;         /* accept a removed static local */
	int patch_line_changes;       /* patch functions whose code differs only in __LINE__ values */
};

enum hp_status { HP_SAME, HP_CHANGED, HP_NEW, HP_REMOVED };

/* What was decided about a symbol (a unit, a type, an object).  Only HP_VERDICT_REFUSED stops
 * a package; the word --explain and --json print for each is hp_verdict_word's. */
enum hp_verdict {
	HP_VERDICT_PATCHED,           /* changed: new code in the package, the old entry redirected */
	HP_VERDICT_KEPT,              /* changed, and how it is called too: the old entry stays as it
	                                 is and every caller is patched */
	HP_VERDICT_ADDED,             /* new in this build, copied because patched code needs it */
	HP_VERDICT_COPIED,            /* read-only data with new contents, copied for its readers */
	HP_VERDICT_SAME,              /* IR or line numbers changed, the machine code did not (or an
	                                 object built without the plugin is unchanged): not patched */
	HP_VERDICT_SKIPPED,           /* changed but not patched: its code never runs in the running
	                                 module, or --allow-unfingerprinted accepted leaving it */
	HP_VERDICT_PARTIAL,           /* carried without part of it (an FDE's exception table) */
	HP_VERDICT_REFUSED,           /* unsafe to patch: no package is written */
	HP_VERDICT_ACCEPTED,          /* would be refused, but the author's marker in the new source
	                                 accepts it, with the reason shown (hotpatch_state.h) */
	HP_VERDICT_COUNT
};

/* "patched", "kept", "added", "copied", "same", "skipped", "partial", "refused", "accepted". */
const char *hp_verdict_word(enum hp_verdict v);

/* One line of --explain: what happened to a symbol and why. */
struct hp_note {
	char *symbol, *unit;
	const char *kind;             /* "function", "variable", "symbol", "unit", "type", "object",
	                                 "unwind", "hook", "marker" */
	enum hp_verdict verdict;
	char *why;
	uint64_t size;
};

/* The package content for one module. */
struct hp_out_module {
	char *name;
	uint8_t arch;                 /* enum hp_pkg_arch */
	uint8_t build_id[32];
	size_t build_id_size;
	struct hp_pkg_redirect *redirects;
	char **redirect_names;
	size_t redirect_count;
	struct hp_out_import { char *name; uint32_t flags; } *imports;  /* flags: HP_IMPORT_* */
	size_t import_count;
	struct hp_pkg_reloc *relocs;
	size_t reloc_count;
	uint8_t *segment[HP_SEG_COUNT];
	size_t segment_size[HP_SEG_COUNT];
	uint32_t segment_align[HP_SEG_COUNT];
	uint32_t eh_frame_offset, eh_frame_size;
	struct hp_out_hook { uint8_t kind; uint32_t offset; char *name; } *hooks;  /* kind: HP_HOOK_* */
	size_t hook_count;
	struct hp_out_accept { uint32_t kind; char *subject, *hook, *reason; } *accepts;  /* HP_ACCEPT_* */
	size_t accept_count;
};

struct hp_module_diff {
	struct hp_out_module out;
	struct hp_note *notes;        /* in the order decided */
	size_t note_count;
	size_t refusals;              /* notes with verdict HP_VERDICT_REFUSED */
	size_t changed;               /* functions redirected or data changed */
};

/* Compares old and new (the same module in two builds); objects of the new build supply code.
 * Returns 0 (see d->refusals and d->changed), or -1 with err set for errors of input. */
int hp_diff_module(struct hp_module *old_mod, struct hp_module *new_mod, struct hp_build *new_build,
                   const struct hp_diff_options *opt, struct hp_module_diff *d, char *err,
                   size_t err_size);
void hp_module_diff_free(struct hp_module_diff *d);

#endif

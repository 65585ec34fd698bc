/* diff_internal.h — what the differ's phases share (not used outside differ/diff*.c and the
 * phase files): the model of one module's comparison, and per phase what it reads and what it
 * guarantees to the phases after it.  hp_diff_module (diff.c) runs them in this order:
 *
 *   correlate  (correlate.c)  reads both modules' records and the old module's symbols.
 *              Guarantees: c->ents sorted by name, one per name; old/new hold the definition
 *              that won the link (hazard 11), with old_ambiguous/new_ambiguous/new_lost set;
 *              old_sym is the old module's code or data for it, when it has code there.
 *   compare    (compare.c, machine_code.c, plain.c for code built without the plugin)
 *              reads the entities, the new build's objects and the old module's bytes.
 *              Guarantees: every entity has its status; a CHANGED function has its reason in
 *              why; compiler-made variants are paired by code (pair_variant); a function whose
 *              IR changed but whose machine code is the same is SAME, with a "same" note; after
 *              hp_propagate_variants, callers of a variant with new code are CHANGED.
 *              Statuses are final from here on.
 *   verify     (verify.c, plain.c, state.c) reads statuses, records and options, and only
 *              records decisions: every refusal that the records (or, for code built without
 *              the plugin, the machine code) prove is noted, unless the author's marker in the
 *              new source accepts it (hotpatch_state.h; an "accepted" note then); a marker that
 *              accepts nothing is refused.  Guarantees: d->out.accepts complete.
 *   redirect   (redirect.c) for each CHANGED function with code not refused above: a refusal
 *              (signature, patch site), a "skipped"/"kept" note, or its new code included
 *              (include.c) and a redirect with the exact bytes expected at the old entry.
 *              Guarantees: d->out.redirects complete and d->changed counted.
 *   hooks      (state.c) places the code of every hook the new source declares.
 *              Guarantees: d->out.hooks complete.
 *   resolve    (resolve.c, placing through include.c) binds every relocation of every copy,
 *              copying in what new code needs that the old module lacks ("added"/"copied"
 *              notes) and refusing what cannot be bound (new TLS, direct references to other
 *              modules).  Guarantees: every copy resolved; d->out relocations, imports and
 *              slots complete.
 *   unwind     (unwind.c) reads the text copies and places their CIE/FDE records; nothing is
 *              placed after it.
 *   collect    (diff.c, only when something was refused) runs redirect and resolve again with
 *              c->collecting set, over what they skipped or stopped at: the new code of refused
 *              functions, and whatever came after an error that the refusals explain.  Only
 *              refusals are recorded, nothing is redirected and errors are dropped, so that one
 *              run names every reason and the package, never written, is not changed in effect.
 *
 * Decisions are hp_note() lines (diff.c); whether a package may be written is d->refusals. */
#ifndef HP_DIFF_INTERNAL_H
#define HP_DIFF_INTERNAL_H

#include <elf.h>
#include <libelf.h>
#include <stdint.h>
#include <string.h>

#include "arch.h"
#include "diff.h"
#include "xalloc.h"

/* Appends a value to a growing array (out of memory ends hpdiff: xalloc.h). */
#define PUSH(array, count, value)                                                                  \
	do {                                                                                       \
		(array) = hp_xrealloc((array), ((count) + 1) * sizeof *(array));                    \
		(array)[(count)++] = (value);                                                      \
	} while (0)

/* A function or variable, paired across the two builds by its symbol name (file-local names
 * carry their unit's suffix, so the name is the identity). */
struct entity {
	const char *name;
	const struct hp_rec *old, *new;
	const struct hp_symbol *old_sym;  /* its code or data in the running module */
	int old_ambiguous, new_ambiguous; /* defined twice with different fingerprints */
	const struct hp_rec *new_lost;    /* a weak new definition that lost the link */
	enum hp_status status;
	char why[200];
	struct copy *copy;                /* its new code or data in the package */
	struct hp_object *plain;          /* no record: a function of this object built without the
	                                     plugin (only for comparing its machine code) */
	int redirect_decided;             /* the redirect phase has decided about it */
};

/* A piece of a new object's section placed in one of the package's segments. */
struct copy {
	struct hp_object *obj;
	size_t section;
	uint64_t start, size;             /* the piece: the whole section or one merged constant */
	int segment;
	uint32_t offset;                  /* where the piece starts in its segment */
	int resolved;                     /* its relocations have been processed */
};

/* An 8-byte slot the runtime fills with an address (a private GOT entry), or an import stub. */
struct slot {
	uint8_t kind, segment;
	uint64_t value;
	uint32_t offset;                  /* of the slot in rodata */
	uint32_t stub;                    /* of its jump stub in text, or UINT32_MAX */
};

struct target {
	uint8_t kind;                     /* HP_TARGET_* */
	uint8_t segment;
	uint64_t value;
	int via_got;                      /* value is the old module's GOT slot holding the address */
	uint32_t got_type;                /* that slot's dynamic relocation type (GLOB_DAT, JUMP_SLOT) */
};

static inline struct target in_module(uint64_t offset)
{
	return (struct target){ .kind = HP_TARGET_MODULE, .value = offset };
}

static inline struct target in_segment(int segment, uint64_t offset)
{
	return (struct target){ .kind = HP_TARGET_SEGMENT, .segment = (uint8_t)segment, .value = offset };
}

static inline struct target of_import(uint32_t index)
{
	return (struct target){ .kind = HP_TARGET_IMPORT, .value = index };
}

static inline struct target absolute(int64_t value)
{
	return (struct target){ .kind = HP_TARGET_ABSOLUTE, .value = (uint64_t)value };
}

struct ctx {
	const struct hp_arch *arch;       /* of the module's code (arch.h) */
	struct hp_module *old, *new;
	struct hp_build *new_build;
	const struct hp_diff_options *opt;
	struct hp_module_diff *d;
	struct entity *ents;
	size_t ent_count;
	struct copy **copies;
	size_t copy_count;
	struct slot *slots;
	size_t slot_count;
	struct hp_dynreloc *dyn;          /* the old module's GOT slots and TLS entries */
	size_t dyn_count;
	struct plain_memo **plain_memo;   /* per object without metadata: hp_same_plain_section's answers */
	unsigned plain_depth;             /* hp_same_plain_section calls in progress */
	int collecting;                   /* the package is refused: redirect and resolve run on
	                                     only to name every refusal (hp_collect_refusals), and
	                                     record nothing else */
	struct state_record *state;       /* hooks and acceptances of the new source (state.c) */
	size_t state_count;
	char *err;
	size_t err_size;
};

static inline int same16(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, 16);
}

static inline int is_zero16(const uint8_t *a)
{
	static const uint8_t zero[16];
	return same16(a, zero);
}

/* ---- Shared by every phase (diff.c) ------------------------------------------------------- */

/* Records one decision (one line of --explain); the same reason for the same symbol once.
 * size: the bytes its copy takes in the package (0 when none). */
void hp_note(struct ctx *c, const char *kind, const char *symbol, const char *unit, enum hp_verdict verdict,
             uint64_t size, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Records a refusal and its reason: a package is then not written (d->refusals). */
void hp_refuse(struct ctx *c, const char *kind, const char *symbol, const char *unit, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Whether a refusal names the symbol. */
int hp_refused(struct ctx *c, const char *name);
const char *hp_unit_of(const struct entity *e);
int hp_has_code(const struct hp_rec *r);
struct entity *hp_find_entity(struct ctx *c, const char *name);
int hp_entity_cmp(const void *a, const void *b);  /* by name, for sorting c->ents */

/* ---- correlate (correlate.c) -------------------------------------------------------------- */

void hp_correlate(struct ctx *c);

/* ---- compare (compare.c, machine_code.c) -------------------------------------------------- */

void hp_compare(struct ctx *c);
void hp_propagate_variants(struct ctx *c);
/* Where a compiler-made copy's suffix (".cold", ".specialized.N", ...) starts; 0 for none. */
size_t hp_variant_base(const char *name);
/* 1 same machine code as the old module's, 2 the same but for line numbers, 0 not proven. */
int hp_same_machine_code(struct ctx *c, struct entity *e);
/* The bytes at an address of the old module, or NULL. */
static inline const uint8_t *hp_old_bytes(struct ctx *c, uint64_t addr, size_t len)
{
	return hp_elf_bytes_at(&c->old->elf, addr, len);
}
int hp_same_merged_piece(struct ctx *c, const struct hp_section *ms, uint64_t at, uint64_t old_addr);
int hp_old_named_at(struct ctx *c, const char *name, uint64_t addr, uint64_t size);

/* ---- code built without the plugin (plain.c): compared as machine code, verified ---------- */

int hp_same_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base);
int hp_same_plain_target(struct ctx *c, struct hp_object *o, const struct hp_reloc *r, uint64_t target,
                         int pcrel);
void hp_verify_plain(struct ctx *c);

/* ---- verify (verify.c) -------------------------------------------------------------------- */

void hp_verify_units(struct ctx *c);
void hp_verify_entities(struct ctx *c);

/* ---- state (state.c): hooks and acceptances (hotpatch_state.h) --------------------------- */

/* Reads the records of the new module's objects.  Returns 0, or -1 with c->err set. */
int hp_read_state(struct ctx *c);
/* The author's reason when a marker accepts the change of the type from o to n in unit (a marker
 * in a unit that sees the same change: the same name, and the same layouts old and new), or
 * the change of the variable's initial value (for a file-local one, a marker in its own unit);
 * NULL when none does. */
const char *hp_accepted_layout(struct ctx *c, const char *unit, const struct hp_type *o, const struct hp_type *n);
const char *hp_accepted_value(struct ctx *c, const char *name, const char *unit, int file_local);
/* Refuses markers that accepted nothing or name a missing hook; records the rest in the package. */
void hp_verify_state(struct ctx *c);
/* Places every hook's code in the package (before resolve binds it).  Returns 0, or -1 with
 * c->err set. */
int hp_include_hooks(struct ctx *c);

/* ---- redirect (redirect.c) ---------------------------------------------------------------- */

/* Returns 0, or -1 with c->err set. */
int hp_redirect_changed(struct ctx *c);

/* ---- placing new code and data in the package (include.c) --------------------------------- */

uint32_t hp_place(struct ctx *c, int seg, const uint8_t *bytes, uint64_t size, uint64_t align);
struct copy *hp_copy_section(struct ctx *c, struct hp_object *o, size_t section);
struct copy *hp_copy_pointed(struct ctx *c, struct hp_object *o, const GElf_Sym *s);
/* The merged constant holding byte `at` of a SHF_MERGE section, copied alone (arch.h,
 * merged_by_section); the section whole when no piece holds it. */
struct copy *hp_copy_merged(struct ctx *c, struct hp_object *o, size_t section, uint64_t at);
/* An entity's new code or data, copied once; NULL with c->err set when no object has it. */
struct copy *hp_include(struct ctx *c, struct entity *e);

/* ---- resolve (resolve.c) ------------------------------------------------------------------ */

void hp_add_reloc(struct ctx *c, int seg, uint32_t offset, int type, struct target t, int64_t addend);
/* An 8-byte read-only slot in the package holding t's address (once per target); with stub,
 * also a jump through it in text (arch.h, struct hp_stub). */
struct slot *hp_slot_for(struct ctx *c, struct target t, int stub);
const struct hp_dynreloc *hp_old_slot(struct ctx *c, const char *name, uint32_t type1, uint32_t type2);
/* Returns 0, or -1 with c->err set. */
int hp_resolve_all(struct ctx *c);

/* ---- unwind (unwind.c) -------------------------------------------------------------------- */

int hp_build_unwind(struct ctx *c);

#endif

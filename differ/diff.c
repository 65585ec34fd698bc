/* diff.c — one module, two builds: what changed, what is refused, and the patch content.
 * The phases are listed in diff.h; each is a function below, called in order by
 * hp_diff_module at the end of this file. */
#include "diff.h"

#include <elf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "site.h"

/* ---- Memory: hpdiff is a command; running out of memory ends it with a message ------------ */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "hpdiff: out of memory\n");
		exit(1);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

#define PUSH(array, count, value)                                                                  \
	do {                                                                                       \
		(array) = xrealloc((array), ((count) + 1) * sizeof *(array));                       \
		(array)[(count)++] = (value);                                                      \
	} while (0)

/* ---- The model ---------------------------------------------------------------------------- */

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
};

static struct target in_module(uint64_t offset)
{
	return (struct target){ .kind = HP_TARGET_MODULE, .value = offset };
}

static struct target in_segment(int segment, uint64_t offset)
{
	return (struct target){ .kind = HP_TARGET_SEGMENT, .segment = (uint8_t)segment, .value = offset };
}

static struct target of_import(uint32_t index)
{
	return (struct target){ .kind = HP_TARGET_IMPORT, .value = index };
}

static struct target absolute(int64_t value)
{
	return (struct target){ .kind = HP_TARGET_ABSOLUTE, .value = (uint64_t)value };
}

struct ctx {
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
	struct plain_memo **plain_memo;   /* per object without metadata: same_plain_section's answers */
	unsigned plain_depth;             /* same_plain_section calls in progress */
	char *err;
	size_t err_size;
};

static void note(struct ctx *c, const char *kind, const char *symbol, const char *unit,
                 const char *verdict, uint64_t size, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->d->note_count; i++)  /* one line per reason, however often met */
		if (!strcmp(c->d->notes[i].symbol, symbol) && !strcmp(c->d->notes[i].why, why) &&
		    !strcmp(c->d->notes[i].verdict, verdict))
			return;
	struct hp_note n = { xstrdup(symbol), xstrdup(unit ? unit : "-"), kind, verdict, xstrdup(why), size };
	PUSH(c->d->notes, c->d->note_count, n);
	if (!strcmp(verdict, "refused"))
		c->d->refusals++;
}

static const char *unit_of(const struct entity *e)
{
	const struct hp_rec *r = e->new ? e->new : e->old;
	return r ? r->tu->name : NULL;
}

static int has_code(const struct hp_rec *r)
{
	return r && !(r->flags & HP_META_INLINED_AWAY);
}

static int entity_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entity *)a)->name, ((const struct entity *)b)->name);
}

static struct entity *find_entity(struct ctx *c, const char *name)
{
	struct entity key = { .name = name };
	return bsearch(&key, c->ents, c->ent_count, sizeof key, entity_cmp);
}

/* ---- correlate ---------------------------------------------------------------------------- */

static int is_weak(const struct hp_rec *r)
{
	return r->linkage == HP_META_WEAK || r->linkage == HP_META_LINKONCE;
}

/* Keeps the definition that won the link (hazard 11): a strong one over weak ones, and among
 * weak ones the first in link order, which is the order of the metadata. */
static void take_record(struct entity *e, const struct hp_rec *r, int is_new)
{
	const struct hp_rec **slot = is_new ? &e->new : &e->old;
	int *ambiguous = is_new ? &e->new_ambiguous : &e->old_ambiguous;
	const struct hp_rec *had = *slot;
	if (!had || (had->flags & HP_META_INLINED_AWAY && !(r->flags & HP_META_INLINED_AWAY))) {
		*slot = r;
		return;
	}
	if (r->flags & HP_META_INLINED_AWAY || !memcmp(had->fingerprint, r->fingerprint, 16))
		return;
	const struct hp_rec *lost = r;
	if (is_weak(had) && !is_weak(r)) {
		*slot = r;
		lost = had;
	} else if (!is_weak(had) && !is_weak(r)) {
		*ambiguous = 1;  /* two strong (file-local) copies of one name: one unit linked twice */
		return;
	}
	if (is_new)
		e->new_lost = lost;
}

static void correlate(struct ctx *c)
{
	for (int side = 0; side < 2; side++) {
		struct hp_meta *m = side ? &c->new->meta : &c->old->meta;
		for (size_t t = 0; t < m->tu_count; t++)
			for (size_t i = 0; i < m->tus[t].record_count; i++) {
				const struct hp_rec *r = &m->tus[t].records[i];
				struct entity e = { .name = r->name };
				PUSH(c->ents, c->ent_count, e);
			}
	}
	qsort(c->ents, c->ent_count, sizeof *c->ents, entity_cmp);
	size_t n = 0;  /* unique names */
	for (size_t i = 0; i < c->ent_count; i++)
		if (!n || strcmp(c->ents[n - 1].name, c->ents[i].name))
			c->ents[n++] = c->ents[i];
	c->ent_count = n;
	for (int side = 0; side < 2; side++) {
		struct hp_meta *m = side ? &c->new->meta : &c->old->meta;
		for (size_t t = 0; t < m->tu_count; t++)
			for (size_t i = 0; i < m->tus[t].record_count; i++) {
				const struct hp_rec *r = &m->tus[t].records[i];
				take_record(find_entity(c, r->name), r, side);
			}
	}
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_symbol *s = hp_elf_find_symbol(&c->old->elf, e->name);
		e->old_sym = has_code(e->old) && s && s->section != SHN_UNDEF ? s : NULL;
	}
}

/* ---- compare ------------------------------------------------------------------------------ */

static int same16(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, 16);
}

static int is_zero16(const uint8_t *a)
{
	static const uint8_t zero[16];
	return same16(a, zero);
}

/* Whether a function's source changed other than in line numbers: its source fingerprint
 * differs, and so does the one with line values masked (where the plugin recorded it). */
static int source_changed(const struct hp_rec *o, const struct hp_rec *n)
{
	if (same16(o->source_fingerprint, n->source_fingerprint))
		return 0;
	return is_zero16(o->lines_fingerprint) || !same16(o->lines_fingerprint, n->lines_fingerprint);
}

/* Why a function's code changed, from what the plugin recorded: its same-file callees (any
 * may have been inlined), its source (Clang's ODR hash of the body, which includes literal
 * values such as a __LINE__; and the same with line values masked), and its shape (code
 * without integer constants).  Functions that changed only in line numbers never get here
 * (lines.c); these are the reasons for the rest, each the one the records prove. */
static void explain_function(struct ctx *c, struct entity *e)
{
	const struct hp_rec *o = e->old, *n = e->new;
	/* Changed callees, nearest first: the call lists are followed breadth-first through the
	 * unit, since a callee's callee may have been inlined too (a report function that inlines
	 * a version string). */
	const char *callee = NULL, *via = NULL;
	size_t callees = 0, count = n->tu->record_count, head = 0, tail = 0;
	uint32_t *queue = xrealloc(NULL, (count + 1) * sizeof *queue);
	uint32_t *first_step = xrealloc(NULL, (count + 1) * sizeof *first_step);  /* direct callee it is reached by */
	uint8_t *seen = memset(xrealloc(NULL, count + 1), 0, count + 1);
	uint32_t self = (uint32_t)(n - n->tu->records);
	seen[self] = 1;
	queue[tail++] = self;
	while (head < tail) {
		uint32_t from = queue[head++];
		const struct hp_rec *at = &n->tu->records[from];
		for (uint32_t k = 0; k < at->call_count; k++) {
			uint32_t next = at->calls[k];
			if (next >= count || seen[next])
				continue;
			seen[next] = 1;
			first_step[next] = from == self ? next : first_step[from];
			queue[tail++] = next;
			const struct hp_rec *r = &n->tu->records[next];
			struct entity *ce = find_entity(c, r->name);
			if (ce && ce->old && ce->new && source_changed(ce->old, ce->new) && !callees++) {
				callee = r->name;
				via = first_step[next] == next ? NULL : n->tu->records[first_step[next]].name;
			}
		}
	}
	free(queue);
	free(first_step);
	free(seen);
	int own = !is_zero16(o->source_fingerprint) && !same16(o->source_fingerprint, n->source_fingerprint);
	int own_lines_only = own && !source_changed(o, n);
	int lines_moved = o->line_count != n->line_count ||
	                  (o->line_count && memcmp(o->lines, n->lines, o->line_count * sizeof *o->lines));
	int constants_only = !is_zero16(o->shape_fingerprint) && same16(o->shape_fingerprint, n->shape_fingerprint);
	char more[600] = "";
	if (via)
		snprintf(more, sizeof more, ", through %s", via);
	if (callees > 1)
		snprintf(more + strlen(more), sizeof more - strlen(more), " (and %zu more it calls)", callees - 1);
	if (callee && own && !own_lines_only)
		snprintf(e->why, sizeof e->why, "code changed; inlined callee %s changed too%s", callee, more);
	else if (callee)
		snprintf(e->why, sizeof e->why, "inlined callee %s changed%s", callee, more);
	else if (own_lines_only)
		snprintf(e->why, sizeof e->why,
		         "its source only moved lines, but its machine code differs beyond the line numbers");
	else if (constants_only)
		snprintf(e->why, sizeof e->why, "only integer constants changed%s",
		         lines_moved ? ", line numbers among them" : "");
	else if (own || is_zero16(o->source_fingerprint))
		snprintf(e->why, sizeof e->why, "code changed");
	else if (!same16(o->layout_fingerprint, n->layout_fingerprint))
		snprintf(e->why, sizeof e->why, "a type it uses changed layout");
	else
		snprintf(e->why, sizeof e->why, "compiled code changed (constant data it reads, or a compiler decision)");
}

/* Compiler-made copies of a function (hazard 7): their numbering is not an identity. */
static size_t variant_base(const char *name)
{
	static const char *const marks[] = { ".specialized.", ".cold", ".part.", ".constprop.",
		                             ".isra.", ".llvm.", ".outlined" };
	size_t base = 0;
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		const char *m = strstr(name, marks[i]);
		if (m && (!base || (size_t)(m - name) < base))
			base = (size_t)(m - name);
	}
	return base;
}

/* A variant pairs with an old variant of the same parent that has the same code, whatever its
 * number; a variant with new code is a new function, and the old one is never redirected to
 * it (it may be a different specialization that happens to carry the same number). */
static void pair_variant(struct ctx *c, struct entity *e)
{
	size_t base = variant_base(e->name);
	e->old_sym = NULL;
	e->status = HP_NEW;
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *x = &c->ents[i];
		if (x->old && has_code(x->old) && x->old_sym && variant_base(x->name) == base &&
		    !strncmp(x->name, e->name, base) && same16(x->old->fingerprint, e->new->fingerprint)) {
			e->old_sym = x->old_sym;
			e->status = HP_SAME;
			return;
		}
	}
}

static int bundled_symbol(struct hp_object *o, size_t section, GElf_Sym *out, const char **name);
static const struct hp_dynreloc *old_slot(struct ctx *c, const char *name, uint32_t type1, uint32_t type2);

/* The bytes at an address of the old module, or NULL. */
static const uint8_t *old_bytes(struct ctx *c, uint64_t addr, size_t len)
{
	size_t n = 0;
	elf_getshdrnum(c->old->elf.elf, &n);
	for (size_t i = 1; i < n; i++) {
		struct hp_section sec;
		if (hp_elf_section_at(&c->old->elf, i, &sec) || !sec.data || !(sec.shdr.sh_flags & SHF_ALLOC))
			continue;
		if (addr >= sec.shdr.sh_addr && addr + len <= sec.shdr.sh_addr + sec.shdr.sh_size)
			return sec.data + (addr - sec.shdr.sh_addr);
	}
	return NULL;
}

/* Whether the old module's code at addr is a PLT stub jumping through name's GOT slot. */
static int is_plt_stub_for(struct ctx *c, uint64_t addr, const char *name)
{
	const struct hp_dynreloc *slot = old_slot(c, name, R_X86_64_JUMP_SLOT, R_X86_64_GLOB_DAT);
	const uint8_t *code = old_bytes(c, addr, 16);
	for (int k = 0; slot && code && k + 6 <= 16; k++)
		if (code[k] == 0xff && code[k + 1] == 0x25) {  /* jmp *disp32(%rip) */
			int32_t disp;
			memcpy(&disp, code + k + 2, 4);
			return addr + (uint64_t)k + 6 + (uint64_t)(int64_t)disp == slot->offset;
		}
	return 0;
}

/* Whether the merged constant at offset `at` of section ms (a string up to its NUL, or one entry
 * of a table of constants) has the same bytes at old_addr in the old module: the linker merges
 * such pieces and puts them anywhere, so only their contents can be compared. */
static int same_merged_piece(struct ctx *c, const struct hp_section *ms, uint64_t at, uint64_t old_addr)
{
	if (!ms->data || at >= ms->shdr.sh_size)
		return 0;
	const uint8_t *piece = ms->data + at;
	uint64_t room = ms->shdr.sh_size - at;
	size_t len;
	if (ms->shdr.sh_flags & SHF_STRINGS) {
		const uint8_t *nul = memchr(piece, 0, room);
		if (!nul)
			return 0;
		len = (size_t)(nul - piece) + 1;
	} else {
		if (!ms->shdr.sh_entsize || ms->shdr.sh_entsize > room)
			return 0;
		len = ms->shdr.sh_entsize;
	}
	const uint8_t *old = old_bytes(c, old_addr, len);
	return old && !memcmp(old, piece, len);
}

/* Whether the old module has a symbol of that name at addr (of that size, unless size is -1):
 * file-local names may repeat across objects, and the address tells which one is meant. */
static int old_named_at(struct ctx *c, const char *name, uint64_t addr, uint64_t size)
{
	const struct hp_symbol *s = NULL;
	size_t n = hp_elf_count_symbols(&c->old->elf, name, &s);
	for (size_t i = 0; i < n; i++)
		if (s[i].value == addr && (size == (uint64_t)-1 || s[i].size == size))
			return 1;
	return 0;
}

static int same_plain_target(struct ctx *c, struct hp_object *o, const struct hp_reloc *r, uint64_t target,
                             int pcrel);
static int check_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base);

/* What same_plain_section found for a section: asked once per function and per reference, it
 * is checked once.  A section met again while it is being checked (a vtable pointing at its own
 * type's functions, which point back) is taken as the same: if anything in the cycle differs,
 * the check that entered it fails. */
struct plain_memo {
	uint64_t base;
	int8_t state;                     /* 0 not asked, 1 being checked, 2 the same, 3 not */
};

/* Whether a section of an object built without the plugin sits, unchanged, at base in the old
 * module: every function and variable it defines at the same offset with the same size (so
 * references the assembler resolved inside it still reach the same things), and for data,
 * the same bytes and relocated fields pointing at the same things.  Code is compared function
 * by function by same_machine_code. */
static int same_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base)
{
	size_t which = (size_t)(o - c->new_build->plain_objects), sections = 0;
	elf_getshdrnum(o->elf.elf, &sections);
	if (which >= c->new_build->plain_object_count || index >= sections)
		return 0;
	if (!c->plain_memo)
		c->plain_memo = memset(xrealloc(NULL, c->new_build->plain_object_count * sizeof *c->plain_memo), 0,
		                       c->new_build->plain_object_count * sizeof *c->plain_memo);
	if (!c->plain_memo[which])
		c->plain_memo[which] = memset(xrealloc(NULL, sections * sizeof **c->plain_memo), 0,
		                              sections * sizeof **c->plain_memo);
	struct plain_memo *m = &c->plain_memo[which][index];
	if (m->state)
		return m->base == base && m->state != 3;  /* one section cannot be at two places */
	/* Data that points at data thousands of sections deep (a long chain of structures built
	 * with -fdata-sections) would overflow the stack: past this depth it is not proven the same. */
	if (c->plain_depth >= 8000)
		return 0;
	m->state = 1;
	m->base = base;
	c->plain_depth++;
	int same = check_plain_section(c, o, index, base);
	c->plain_depth--;
	m->state = same ? 2 : 3;
	return same;
}

/* Whether the old module's dynamic linker fills the 8 bytes at addr with name + addend (a
 * pointer in data to something of another module: the file holds no address to compare). */
static int dynamic_pointer(struct ctx *c, const char *name, uint64_t addr, int64_t addend)
{
	for (size_t i = 0; i < c->dyn_count; i++)
		if (c->dyn[i].offset == addr && c->dyn[i].type == R_X86_64_64 && c->dyn[i].addend == addend &&
		    !strcmp(c->dyn[i].name, name))
			return 1;
	return 0;
}

/* The named functions and variables of each section of an object, indexed once. */
static void index_members(struct hp_object *o, size_t sections)
{
	o->member_start = memset(xrealloc(NULL, (sections + 2) * sizeof *o->member_start), 0,
	                         (sections + 2) * sizeof *o->member_start);
	o->members = xrealloc(NULL, (o->elf.symtab_count + 1) * sizeof *o->members);
	/* Counting sort: counts at [section + 2], summed into starts at [section + 1], which the
	 * second pass advances to the ends, so that section s is [member_start[s], [s + 1]). */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 1; i < o->elf.symtab_count; i++) {
			GElf_Sym s;
			const char *name;
			if (hp_elf_symbol_at(&o->elf, i, &s, &name) || s.st_shndx >= sections || !*name ||
			    (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_OBJECT))
				continue;
			if (pass == 0)
				o->member_start[s.st_shndx + 2]++;
			else
				o->members[o->member_start[s.st_shndx + 1]++] = i;
		}
		if (pass == 0)
			for (size_t k = 2; k < sections + 2; k++)
				o->member_start[k] += o->member_start[k - 1];
	}
}

static int check_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base)
{
	struct hp_section sec;
	size_t sections = 0;
	if (hp_elf_section_at(&o->elf, index, &sec) || !(sec.shdr.sh_flags & SHF_ALLOC) ||
	    (sec.shdr.sh_flags & (SHF_MERGE | SHF_TLS)) || elf_getshdrnum(o->elf.elf, &sections) || index >= sections)
		return 0;
	if (!o->member_start)
		index_members(o, sections);
	for (size_t k = o->member_start[index]; k < o->member_start[index + 1]; k++) {
		GElf_Sym s;
		const char *name;
		if (hp_elf_symbol_at(&o->elf, o->members[k], &s, &name) || !old_named_at(c, name, base + s.st_value, s.st_size))
			return 0;
	}
	if ((sec.shdr.sh_flags & SHF_EXECINSTR) || sec.shdr.sh_type == SHT_NOBITS)
		return 1;
	if (!sec.data)
		return 0;
	size_t size = sec.shdr.sh_size;
	const uint8_t *was = old_bytes(c, base, size);
	uint8_t *covered = calloc(size ? size : 1, 1);
	struct hp_reloc *rel = NULL;
	long n = hp_elf_relocations(&o->elf, index, &rel);
	int same = was && covered && n >= 0;
	for (long j = 0; same && j < n; j++) {
		int pcrel = rel[j].type == R_X86_64_PC32;
		int width = rel[j].type == R_X86_64_64 ? 8 : 4;
		if ((!pcrel && rel[j].type != R_X86_64_64 && rel[j].type != R_X86_64_32 && rel[j].type != R_X86_64_32S) ||
		    rel[j].offset > size || (uint64_t)width > size - rel[j].offset) {  /* no wrap-around */
			same = 0;
			break;
		}
		size_t at = (size_t)rel[j].offset;
		memset(covered + at, 1, (size_t)width);
		if (rel[j].type == R_X86_64_64 && rel[j].sym.st_shndx == SHN_UNDEF &&
		    dynamic_pointer(c, rel[j].sym_name, base + at, rel[j].addend))
			continue;
		uint64_t field = 0;
		memcpy(&field, was + at, (size_t)width);
		if (width == 4)
			field = pcrel || rel[j].type == R_X86_64_32S ? (uint64_t)(int64_t)(int32_t)field : (uint32_t)field;
		same = same_plain_target(c, o, &rel[j], field - (uint64_t)rel[j].addend + (pcrel ? base + at : 0), pcrel);
	}
	for (size_t k = 0; same && k < size; k++)
		same = covered[k] || sec.data[k] == was[k];
	free(rel);
	free(covered);
	return same;
}

/* Whether a relocated field of code or data built without the plugin, which points at target
 * (the symbol's address, without the addend) in the old module, points at the same thing. */
static int same_plain_target(struct ctx *c, struct hp_object *o, const struct hp_reloc *r, uint64_t target,
                             int pcrel)
{
	if (r->sym.st_shndx == SHN_UNDEF) {
		const struct hp_symbol *old = hp_elf_find_symbol(&c->old->elf, r->sym_name);
		return old && old->value == target;
	}
	if (r->sym.st_shndx >= SHN_LORESERVE)
		return 0;
	int section = GELF_ST_TYPE(r->sym.st_info) == STT_SECTION;
	struct hp_section ms;
	if (!pcrel && !hp_elf_section_at(&o->elf, r->sym.st_shndx, &ms) && (ms.shdr.sh_flags & SHF_MERGE) && ms.data) {
		/* A pointer to a merged constant (a string in a table). */
		return same_merged_piece(c, &ms, (section ? 0 : r->sym.st_value) + (uint64_t)r->addend,
		                         target + (uint64_t)r->addend);
	}
	if (section)
		return same_plain_section(c, o, r->sym.st_shndx, target);
	return old_named_at(c, r->sym_name, target, r->sym.st_size) &&
	       same_plain_section(c, o, r->sym.st_shndx, target - r->sym.st_value);
}

/* A reference through the GOT (mov/call x@GOTPCREL(%rip)) in new code, against the old module's
 * bytes at P: 1 when the linker relaxed it there to a direct reference (mov -> lea, call * ->
 * addr32 call: the caller then checks the target as for PC32), 2 when it goes through the old
 * module's GOT slot for the same name, 0 when neither is proven. */
static int got_reference(struct ctx *c, const struct hp_reloc *r, const uint8_t *now, const uint8_t *was,
                         size_t at, uint64_t size, uint64_t p)
{
	if (at < 2 || at + 4 > size || !r->sym_name[0])
		return 0;
	int32_t field;
	memcpy(&field, was + at, 4);
	if (now[at - 2] == was[at - 2] && now[at - 1] == was[at - 1]) {
		const struct hp_dynreloc *slot = old_slot(c, r->sym_name, R_X86_64_GLOB_DAT, R_X86_64_GLOB_DAT);
		return slot && slot->offset == p + (uint64_t)(int64_t)field - (uint64_t)r->addend ? 2 : 0;
	}
	if (now[at - 2] == 0x8b && was[at - 2] == 0x8d)
		return 1;
	if (now[at - 2] == 0xff && now[at - 1] == 0x15 && was[at - 2] == 0x67 && was[at - 1] == 0xe8)
		return 1;
	return 0;
}

/* Fingerprints come from IR; when they differ, the machine code may still be the same (a
 * refreshed profile, an inferred attribute that changed nothing: hazard 25).  Same means: equal
 * size, equal bytes outside relocated fields, and every relocated field pointing, in the old
 * module, at the old copy of the same thing.  Anything not proven the same is "changed".
 * Returns 1 for the same code, 2 when it differs only in line numbers (lines.c), else 0. */
static int same_machine_code(struct ctx *c, struct entity *e)
{
	if (!e->old_sym || !e->old_sym->size || e->old_sym->type != STT_FUNC)
		return 0;
	struct hp_object *o = e->plain ? e->plain : hp_build_object_for(c->new_build, e->new->tu->name, e->name);
	const struct hp_symbol *ns = o ? hp_elf_find_symbol(&o->elf, e->name) : NULL;
	struct hp_section sec;
	if (!ns || ns->size != e->old_sym->size || hp_elf_section_at(&o->elf, ns->section, &sec) || !sec.data ||
	    ns->value > sec.shdr.sh_size || ns->size > sec.shdr.sh_size - ns->value)
		return 0;
	if (e->plain && !same_plain_section(c, o, ns->section, e->old_sym->value - ns->value))
		return 0;  /* without function sections, what shares its section must not have moved */
	const uint8_t *now = sec.data + ns->value;
	const uint8_t *was = old_bytes(c, e->old_sym->value, ns->size);
	uint8_t *covered = calloc(ns->size, 1);
	const struct hp_reloc *rel = NULL;
	long n = hp_elf_relocations_in(&o->elf, ns->section, ns->value, ns->value + ns->size, &rel);
	int same = was && covered && n >= 0;
	for (long j = 0; same && j < n; j++) {
		if (rel[j].offset < ns->value || rel[j].offset >= ns->value + ns->size)
			continue;
		size_t at = (size_t)(rel[j].offset - ns->value);
		int width = rel[j].type == R_X86_64_64 ? 8 : 4;
		int pcrel = rel[j].type == R_X86_64_PC32 || rel[j].type == R_X86_64_PLT32;
		if (rel[j].type == R_X86_64_GOTPCREL || rel[j].type == R_X86_64_GOTPCRELX ||
		    rel[j].type == R_X86_64_REX_GOTPCRELX) {
			int got = got_reference(c, &rel[j], now, was, at, ns->size, e->old_sym->value + at);
			if (got <= 0) {
				same = 0;
				break;
			}
			memset(covered + at - 2, 1, 6);
			if (got == 2) {
				/* Through the old module's slot for the same name: the same thing, unless
				 * it is a variant with new code or data with new contents (reached anew). */
				struct entity *t = find_entity(c, rel[j].sym_name);
				same = !(t && t != e && ((variant_base(t->name) && t->status != HP_SAME) ||
				                         (t->new && t->new->kind == HP_META_VARIABLE && t->status != HP_SAME)));
				continue;
			}
			pcrel = 1;  /* relaxed by the linker to a direct reference: checked as one below */
		}
		if ((!pcrel && rel[j].type != R_X86_64_64 && rel[j].type != R_X86_64_32S && rel[j].type != R_X86_64_32) ||
		    at + (size_t)width > ns->size) {
			same = 0;  /* TLS: resolved differently by the linker */
			break;
		}
		memset(covered + at, 1, (size_t)width);
		uint64_t p = e->old_sym->value + at, field = 0;
		memcpy(&field, was + at, (size_t)width);
		if (width == 4)
			field = pcrel || rel[j].type == R_X86_64_32S ? (uint64_t)(int64_t)(int32_t)field : (uint32_t)field;
		uint64_t target = field - (uint64_t)rel[j].addend + (pcrel ? p : 0);  /* S in the old module */
		const char *name = rel[j].sym_name;
		if (e->plain && rel[j].sym.st_shndx != SHN_UNDEF && !(name[0] == '.' && name[1] == 'L')) {
			same = same_plain_target(c, o, &rel[j], target, pcrel);  /* no records: by place and bytes */
			continue;
		}
		GElf_Sym b = rel[j].sym;
		uint64_t offset = 0;
		if (GELF_ST_TYPE(rel[j].sym.st_info) == STT_SECTION) {
			if (!bundled_symbol(o, rel[j].sym.st_shndx, &b, &name)) {
				same = 0;  /* inside a section of its own: a jump table, a constant pool */
				break;
			}
			offset = b.st_value;
		}
		if (name[0] == '.' && name[1] == 'L') {
			/* A merged constant: the old field must point at the same bytes. */
			struct hp_section cs;
			same = !hp_elf_section_at(&o->elf, rel[j].sym.st_shndx, &cs) && (cs.shdr.sh_flags & SHF_MERGE) &&
			       same_merged_piece(c, &cs, rel[j].sym.st_value, target);
			continue;
		}
		struct entity *t = find_entity(c, name);
		if (t && t != e && ((variant_base(t->name) && t->status != HP_SAME) ||
		                    (t->new && t->new->kind == HP_META_VARIABLE && t->status != HP_SAME))) {
			same = 0;  /* a variant with new code, or data with new contents: reached only anew */
			break;
		}
		if (t && t->old_sym) {
			same = t->old_sym->value - offset == target;
		} else if (b.st_shndx == SHN_UNDEF) {
			/* Defined elsewhere: the old module's own symbol, or its PLT stub for an import. */
			const struct hp_symbol *old = hp_elf_find_symbol(&c->old->elf, name);
			same = old && old->section != SHN_UNDEF ? old->value == target : pcrel && is_plt_stub_for(c, target, name);
		} else {
			/* Defined here without a record: a split-off part of code (never proven the same),
			 * or compiler-made read-only data, the same only if its bytes are. */
			struct hp_section ds;
			struct hp_reloc *inner = NULL;
			long k = hp_elf_section_at(&o->elf, b.st_shndx, &ds) || !ds.data ? -1 :
			         hp_elf_relocations(&o->elf, b.st_shndx, &inner);
			same = GELF_ST_TYPE(b.st_info) == STT_OBJECT && k == 0 && !(ds.shdr.sh_flags & SHF_WRITE) && b.st_size &&
			       b.st_value <= ds.shdr.sh_size && b.st_size <= ds.shdr.sh_size - b.st_value;
			if (same) {
				const uint8_t *old_piece = old_bytes(c, target + offset, b.st_size);
				same = old_piece && !memcmp(old_piece, ds.data + b.st_value, b.st_size);
			}
			free(inner);
		}
	}
	int bytes = 1;
	for (size_t k = 0; same && bytes && k < ns->size; k++)
		bytes = covered[k] || now[k] == was[k];
	if (same && !bytes)  /* code without records (e->plain) has no line lists */
		same = !e->plain && hp_lines_only_change(e->old, e->new, was, now, covered, ns->size) ? 2 : 0;
	free(covered);
	return same;
}

static void compare(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		int o = e->old && (e->old->kind == HP_META_VARIABLE || has_code(e->old));
		int n = e->new && (e->new->kind == HP_META_VARIABLE || has_code(e->new));
		if (o && n) {
			int same = same16(e->old->fingerprint, e->new->fingerprint) && e->old->size == e->new->size;
			e->status = same ? HP_SAME : HP_CHANGED;
		} else {
			e->status = n ? HP_NEW : o ? HP_REMOVED : HP_SAME;
		}
		if (n && e->new->kind == HP_META_FUNCTION && variant_base(e->name) && e->status != HP_SAME)
			pair_variant(c, e);
	}
	/* With every status known: changed IR may still be the same machine code. */
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		if (e->status != HP_CHANGED || e->new->kind != HP_META_FUNCTION || variant_base(e->name))
			continue;
		int same = same_machine_code(c, e);
		if (same == 2 && !c->opt->patch_line_changes) {
			e->status = HP_SAME;
			note(c, "function", e->name, unit_of(e), "same", 0, "only line numbers changed: not patched");
		} else if (same == 2) {
			snprintf(e->why, sizeof e->why, "only line numbers changed");
		} else if (same) {
			e->status = HP_SAME;
			note(c, "function", e->name, unit_of(e), "same", 0,
			     "its IR changed, but the machine code is identical: not patched");
		} else {
			explain_function(c, e);
		}
	}
}

static int bundled_symbol(struct hp_object *o, size_t section, GElf_Sym *out, const char **name);

/* Functions that call a compiler-made variant whose code is new must be patched too, since the
 * old variant is never redirected (pair_variant).  The plugin's call lists come from the source,
 * which knows no variants, so callers are found in the new objects' relocations; repeated until
 * no caller is added (a caller may be a variant itself). */
static void propagate_variants(struct ctx *c)
{
	int any = 0;
	for (size_t i = 0; i < c->ent_count && !any; i++)
		any = c->ents[i].status == HP_NEW && variant_base(c->ents[i].name);
	for (int again = any; again;) {
		again = 0;
		for (size_t oi = 0; oi < c->new_build->object_count; oi++) {
			struct hp_object *o = &c->new_build->objects[oi];
			size_t sections = 0;
			elf_getshdrnum(o->elf.elf, &sections);
			for (size_t sec = 1; sec < sections; sec++) {
				GElf_Sym fs, ts;
				const char *fname, *tname;
				struct hp_section info;
				if (hp_elf_section_at(&o->elf, sec, &info) || !(info.shdr.sh_flags & SHF_EXECINSTR) ||
				    !bundled_symbol(o, sec, &fs, &fname))
					continue;
				struct entity *caller = find_entity(c, fname);
				if (!caller || caller->status != HP_SAME || !caller->old_sym || !caller->new ||
				    caller->new->kind != HP_META_FUNCTION)
					continue;
				struct hp_reloc *rel = NULL;
				long n = hp_elf_relocations(&o->elf, sec, &rel);
				for (long j = 0; j < n; j++) {
					tname = rel[j].sym_name;
					if (GELF_ST_TYPE(rel[j].sym.st_info) == STT_SECTION &&
					    !bundled_symbol(o, rel[j].sym.st_shndx, &ts, &tname))
						continue;
					struct entity *v = find_entity(c, tname);
					if (!v || !variant_base(v->name) || v->status != HP_NEW || v == caller)
						continue;
					caller->status = HP_CHANGED;
					snprintf(caller->why, sizeof caller->why,
					         "calls %s, a compiler-made copy whose code changed", v->name);
					again = 1;
					break;
				}
				free(rel);
			}
		}
	}
}

/* ---- verify ------------------------------------------------------------------------------- */

/* Two units that hold the same functions must have been compiled alike (hazard 24), whatever
 * their names; units of the same name must keep the layout of every type live code uses. */
static void verify_unit_pair(struct ctx *c, const struct hp_tu *o, const struct hp_tu *n)
{
	if (n->flags & HP_META_TU_LTO)
		note(c, "unit", n->name, n->name, "refused", 0,
		     "built with LTO: its fingerprints predate link-time optimization");
	if (strcmp(o->producer, n->producer))
		note(c, "unit", n->name, n->name, "refused", 0, "compiler differs: old '%s', new '%s'", o->producer,
		     n->producer);
	else if (strcmp(o->triple, n->triple))
		note(c, "unit", n->name, n->name, "refused", 0, "target differs: old %s, new %s", o->triple, n->triple);
	else if (!same16(o->options_hash, n->options_hash))
		note(c, "unit", n->name, n->name, "refused", 0, "code generation options differ: old '%s', new '%s'",
		     o->options, n->options);
	if (strcmp(o->name, n->name))
		return;
	for (size_t a = 0; a < o->type_count; a++)
		for (size_t b = 0; b < n->type_count; b++) {
			if (strcmp(o->types[a].name, n->types[b].name) || same16(o->types[a].layout, n->types[b].layout))
				continue;
			const char *user = NULL;
			for (size_t r = 0; r < o->record_count && !user; r++)
				for (uint32_t k = 0; k < o->records[r].type_count && !user; k++)
					if (o->records[r].types[k] == a)
						user = o->records[r].name;
			if (user)
				note(c, "type", o->types[a].name, n->name, "refused", 0,
				     "layout changed (size %u -> %u) while live code uses it (%s)", o->types[a].size,
				     n->types[b].size, user);
		}
}

static const struct hp_tu *unit_named(const struct hp_meta *m, const char *name)
{
	for (size_t t = 0; t < m->tu_count; t++)
		if (!strcmp(m->tus[t].name, name))
			return &m->tus[t];
	return NULL;
}

static const char *file_part(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static size_t external_functions(const struct hp_tu *u)
{
	size_t n = 0;
	for (size_t r = 0; r < u->record_count; r++)
		n += u->records[r].kind == HP_META_FUNCTION && u->records[r].linkage == HP_META_EXTERNAL;
	return n;
}

/* The same non-empty set of external functions: a unit's public face, which a different
 * root= does not change. */
static int same_external_functions(const struct hp_tu *a, const struct hp_tu *b)
{
	size_t count = external_functions(a);
	if (!count || count != external_functions(b))
		return 0;
	for (size_t r = 0; r < a->record_count; r++) {
		const struct hp_rec *x = &a->records[r];
		if (x->kind != HP_META_FUNCTION || x->linkage != HP_META_EXTERNAL)
			continue;
		int found = 0;
		for (size_t k = 0; k < b->record_count && !found; k++)
			found = b->records[k].kind == HP_META_FUNCTION && b->records[k].linkage == HP_META_EXTERNAL &&
			        !strcmp(b->records[k].name, x->name);
		if (!found)
			return 0;
	}
	return 1;
}

/* A unit's source identity (the path the plugin records, relative to root=) names its
 * file-local functions, so builds that name the same file differently (a different root=, an
 * out-of-tree build directory inside the path) see every static function removed and added:
 * a changed one is "added" and never redirected, and only its callers are patched.  A unit of
 * OLD without a namesake in NEW that looks like one of NEW's units without a namesake in OLD
 * (the same file name, else the same external functions) is therefore refused; a file that is
 * really new or removed has no such look-alike and stays allowed. */
static void verify_unit_identities(struct ctx *c)
{
	const struct hp_meta *om = &c->old->meta, *nm = &c->new->meta;
	char *taken = calloc(nm->tu_count + 1, 1);
	if (!taken)
		return;
	for (int pass = 0; pass < 2; pass++)  /* file names first, so that they win over externals */
		for (size_t i = 0; i < om->tu_count; i++) {
			const struct hp_tu *o = &om->tus[i];
			if (unit_named(nm, o->name))
				continue;
			for (size_t k = 0; k < nm->tu_count; k++) {
				const struct hp_tu *n = &nm->tus[k];
				if (taken[k] || unit_named(om, n->name))
					continue;
				if (pass == 0 ? strcmp(file_part(o->name), file_part(n->name)) : !same_external_functions(o, n))
					continue;
				taken[k] = 1;
				note(c, "unit", o->name, n->name, "refused", 0,
				     "unit %s in OLD is named %s in NEW: build both with the same -fplugin-arg-hotpatch-root= "
				     "(the source identities must match)", o->name, n->name);
				break;
			}
		}
	free(taken);
}

static void verify_units(struct ctx *c)
{
	verify_unit_identities(c);
	const struct hp_tu **seen = NULL;
	size_t seen_count = 0;
	for (size_t i = 0; i < c->ent_count; i++) {
		const struct entity *e = &c->ents[i];
		if (!e->old || !e->new)
			continue;
		int done = 0;
		for (size_t k = 0; k + 1 < seen_count && !done; k += 2)
			done = seen[k] == e->old->tu && seen[k + 1] == e->new->tu;
		if (done)
			continue;
		PUSH(seen, seen_count, e->old->tu);
		PUSH(seen, seen_count, e->new->tu);
		verify_unit_pair(c, e->old->tu, e->new->tu);
	}
	for (size_t t = 0; t < c->new->meta.tu_count; t++)  /* a new unit under LTO, paired or not */
		if (c->new->meta.tus[t].flags & HP_META_TU_LTO)
			note(c, "unit", c->new->meta.tus[t].name, c->new->meta.tus[t].name, "refused", 0,
			     "built with LTO: its fingerprints predate link-time optimization");
	free(seen);
}

static void verify_entities(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_rec *o = e->old, *n = e->new;
		const char *unit = unit_of(e);
		if (e->new_lost && e->new && !same16(e->new_lost->fingerprint, e->new->fingerprint))
			note(c, "function", e->name, e->new_lost->tu->name, "skipped", 0,
			     "weak definition that lost the link to the one in %s: its code never runs", e->new->tu->name);
		if (e->old_ambiguous || e->new_ambiguous) {
			note(c, "symbol", e->name, unit, "refused", 0,
			     "defined more than once with different code in the %s build: which copy runs cannot be told",
			     e->old_ambiguous ? "old" : "new");
			continue;
		}
		if (e->status == HP_REMOVED && o->kind == HP_META_VARIABLE && (o->flags & HP_META_STATIC_LOCAL)) {
			if (!c->opt->allow_lost_state)
				note(c, "variable", e->name, unit, "refused", 0,
				     "static local removed: the state it holds would be lost (--allow-lost-state to accept)");
			continue;
		}
		if (e->status == HP_NEW && n->kind == HP_META_VARIABLE && (n->flags & HP_META_THREAD_LOCAL))
			continue;  /* refused only if new code uses it (resolve) */
		if (e->status != HP_CHANGED)
			continue;
		if (n->kind == HP_META_VARIABLE) {
			if (n->flags & HP_META_CONSTANT && o->flags & HP_META_CONSTANT)
				continue;  /* read-only: the new contents travel with the code that reads them */
			note(c, "variable", e->name, unit, "refused", 0,
			     "%s of %s changed: live state cannot be re-initialized by a patch; keep the old "
			     "definition and migrate the state in code (a state hook)",
			     o->size != n->size ? "size" : "initializer",
			     n->flags & HP_META_STATIC_LOCAL ? "a static local" : "writable data");
			continue;
		}
		if (n->flags & (HP_META_CONSTRUCTOR | HP_META_DESTRUCTOR))
			note(c, "function", e->name, unit, "refused", 0, "%s changed: it already ran",
			     n->flags & HP_META_CONSTRUCTOR ? "constructor" : "destructor");
		else if ((o->flags | n->flags) & HP_META_NO_PATCH)
			note(c, "function", e->name, unit, "refused", 0, "changed, but marked not patchable (hotpatch_exclude)");
	}
}

/* Whether a module was linked from an object built without the plugin: it defines every global
 * function and variable of the object.  (Objects of other programs of the tree, or left over,
 * are not its code.) */
static int linked_from(struct hp_module *m, struct hp_object *o)
{
	int globals = 0;
	for (size_t i = 0; i < o->elf.symbol_count; i++) {
		const struct hp_symbol *s = &o->elf.symbols[i];
		if (s->bind == STB_LOCAL || (s->type != STT_FUNC && s->type != STT_OBJECT) || s->section >= SHN_LORESERVE)
			continue;
		if (!hp_elf_find_symbol(&m->elf, s->name))
			return 0;
		globals++;
	}
	return globals > 0;
}

/* Of the old module's `count` file-local functions named like s (from `first` on), the one at
 * the place of s's section: the section is placed by another of its functions or variables
 * whose name is unique.  NULL when nothing places it. */
static const struct hp_symbol *plain_old_symbol(struct ctx *c, struct hp_object *o, const struct hp_symbol *s,
                                                size_t count, const struct hp_symbol *first)
{
	size_t sections = 0;
	if (elf_getshdrnum(o->elf.elf, &sections) || s->section >= sections)
		return NULL;
	if (!o->member_start)
		index_members(o, sections);
	for (size_t k = o->member_start[s->section]; k < o->member_start[s->section + 1]; k++) {
		GElf_Sym m;
		const char *name;
		const struct hp_symbol *placed = NULL;
		if (hp_elf_symbol_at(&o->elf, o->members[k], &m, &name) ||
		    hp_elf_count_symbols(&c->old->elf, name, &placed) != 1)
			continue;
		uint64_t base = placed->value - m.st_value;
		for (size_t i = 0; i < count; i++)
			if (first[i].value == base + s->value)
				return &first[i];
		return NULL;
	}
	return NULL;
}

/* Objects built without the plugin have no fingerprints: their functions are compared as
 * machine code with the running module's (same_machine_code).  Identical code needs nothing;
 * changed code cannot be patched from here, so it is refused unless --allow-unfingerprinted. */
static void verify_plain(struct ctx *c)
{
	/* The other way round: a function OLD has from code built without the plugin, now with a
	 * record.  Its old copy has no fingerprint to compare and no patchable entry to redirect,
	 * so whatever changed in it would silently keep running. */
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_symbol *s = e->old || !e->new || e->new->kind != HP_META_FUNCTION || !has_code(e->new) ||
		                                    variant_base(e->name) ? NULL : hp_elf_find_symbol(&c->old->elf, e->name);
		if (s && s->type == STT_FUNC && c->opt->allow_unfingerprinted)
			note(c, "function", e->name, unit_of(e), "skipped", 0,
			     "the running module has it from code built without the plugin; not patched "
			     "(--allow-unfingerprinted)");
		else if (s && s->type == STT_FUNC)
			note(c, "function", e->name, unit_of(e), "refused", 0,
			     "the running module has it from code built without the plugin: it can be neither compared "
			     "nor redirected; rebuild the baseline with -fplugin=hotpatch");
	}
	for (size_t oi = 0; oi < c->new_build->plain_object_count; oi++) {
		struct hp_object *o = &c->new_build->plain_objects[oi];
		if (!linked_from(c->new->elf.has_symtab ? c->new : c->old, o))  /* a stripped NEW lists no locals */
			continue;
		/* Functions that are new or changed size are named first: without function sections,
		 * one of them moves every function after it, and those are only "moved". */
		struct differing { const struct hp_symbol *s; size_t olds; int resized; } *list = NULL;
		size_t same = 0, differ = 0;
		for (size_t i = 0; i < o->elf.symbol_count; i++) {
			const struct hp_symbol *s = &o->elf.symbols[i];
			if (s->type != STT_FUNC || s->section >= SHN_LORESERVE)
				continue;
			struct entity e = { .name = s->name, .plain = o };
			size_t olds = hp_elf_count_symbols(&c->old->elf, s->name, &e.old_sym);
			if (olds > 1 && (e.old_sym = plain_old_symbol(c, o, s, olds, e.old_sym)))
				olds = 1;
			if (olds == 1 && same_machine_code(c, &e)) {
				same++;
				continue;
			}
			struct differing d = { s, olds, olds == 0 || (olds == 1 && e.old_sym->size != s->size) };
			PUSH(list, differ, d);
		}
		size_t named = 0;
		for (int pass = 1; pass >= 0; pass--)
			for (size_t i = 0; i < differ && named < 3; i++) {
				if (list[i].resized != pass)
					continue;
				named++;
				const char *what = list[i].olds == 0 ? "this function is new" :
				                   list[i].olds > 1 ? "the running module has several file-local functions of that name" :
				                                      "its machine code changed";
				if (c->opt->allow_unfingerprinted)
					note(c, "function", list[i].s->name, o->name, "skipped", 0,
					     "built without the plugin and %s; not patched (--allow-unfingerprinted)", what);
				else
					note(c, "function", list[i].s->name, o->name, "refused", 0,
					     "built without the plugin and %s: rebuild it with -fplugin=hotpatch", what);
			}
		if (!differ)
			note(c, "object", o->name, o->name, "same", 0,
			     "built without the plugin; machine code of its %zu function(s) identical", same);
		else if (differ > named)
			note(c, "object", o->name, o->name, c->opt->allow_unfingerprinted ? "skipped" : "refused", 0,
			     "built without the plugin, and %zu more of its functions changed or moved%s", differ - named,
			     c->opt->allow_unfingerprinted ? "; not patched (--allow-unfingerprinted)" :
			                                     ": rebuild it with -fplugin=hotpatch");
		free(list);
	}
}

/* ---- include and resolve ------------------------------------------------------------------ */

static int segment_of(const GElf_Shdr *sh)
{
	if (sh->sh_flags & SHF_EXECINSTR)
		return HP_SEG_TEXT;
	if (sh->sh_type == SHT_NOBITS)
		return HP_SEG_BSS;
	return sh->sh_flags & SHF_WRITE ? HP_SEG_DATA : HP_SEG_RODATA;
}

static uint32_t place(struct ctx *c, int seg, const uint8_t *bytes, uint64_t size, uint64_t align)
{
	struct hp_out_module *m = &c->d->out;
	if (align < 1)
		align = 1;
	if (align > m->segment_align[seg])
		m->segment_align[seg] = (uint32_t)align;
	size_t at = (m->segment_size[seg] + align - 1) & ~(size_t)(align - 1);
	if (seg != HP_SEG_BSS) {
		/* Text is padded with int3, everything else with zeros. */
		m->segment[seg] = xrealloc(m->segment[seg], at + size);
		memset(m->segment[seg] + m->segment_size[seg], seg == HP_SEG_TEXT ? HP_SITE_TRAP : 0, at - m->segment_size[seg]);
		if (bytes)
			memcpy(m->segment[seg] + at, bytes, size);
		else
			memset(m->segment[seg] + at, 0, size);
	}
	m->segment_size[seg] = at + size;
	return (uint32_t)at;
}

/* Copies a piece of a section into the package (once) and returns it. */
static struct copy *copy_piece(struct ctx *c, struct hp_object *o, size_t section, uint64_t start,
                               uint64_t size)
{
	for (size_t i = 0; i < c->copy_count; i++) {
		struct copy *k = c->copies[i];
		if (k->obj == o && k->section == section && k->start == start)
			return k;
	}
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, section, &sec))
		return NULL;
	struct copy *k = xrealloc(NULL, sizeof *k);
	*k = (struct copy){ o, section, start, size, segment_of(&sec.shdr), 0, 0 };
	uint64_t align = start ? 1 : sec.shdr.sh_addralign;
	if (sec.shdr.sh_flags & SHF_MERGE && !(sec.shdr.sh_flags & SHF_STRINGS) && sec.shdr.sh_entsize)
		align = sec.shdr.sh_entsize <= 64 ? sec.shdr.sh_entsize : 16;
	k->offset = place(c, k->segment, sec.data ? sec.data + start : NULL, size, align);
	PUSH(c->copies, c->copy_count, k);
	return k;
}

static struct copy *copy_section(struct ctx *c, struct hp_object *o, size_t section)
{
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, section, &sec))
		return NULL;
	return copy_piece(c, o, section, 0, sec.shdr.sh_size);
}

/* Includes an entity's new code or data: its section from the object that defines it. */
static struct copy *include(struct ctx *c, struct entity *e)
{
	if (e->copy)
		return e->copy;
	struct hp_object *o = hp_build_object_for(c->new_build, e->new->tu->name, e->name);
	const struct hp_symbol *s = o ? hp_elf_find_symbol(&o->elf, e->name) : NULL;
	if (!s) {
		snprintf(c->err, c->err_size, "%s: no object in the new build defines %s (unit %s)",
		         c->new_build->root, e->name, e->new->tu->name);
		return NULL;
	}
	e->copy = copy_section(c, o, s->section);
	if (e->copy && e->status == HP_NEW)
		note(c, e->new->kind == HP_META_FUNCTION ? "function" : "variable", e->name, unit_of(e),
		     "added", e->copy->size, "new in this build, needed by the patched code");
	else if (e->copy && e->new->kind == HP_META_VARIABLE)
		note(c, "variable", e->name, unit_of(e), "copied", e->copy->size,
		     "read-only contents changed: the new copy travels with its readers");
	return e->copy;
}

static void add_reloc(struct ctx *c, int seg, uint32_t offset, int type, struct target t, int64_t addend)
{
	struct hp_pkg_reloc r = { (uint8_t)seg, (uint8_t)type, t.kind, t.segment, offset, t.value, addend };
	PUSH(c->d->out.relocs, c->d->out.reloc_count, r);
}

static uint32_t import_index(struct ctx *c, const char *name)
{
	struct hp_out_module *m = &c->d->out;
	for (size_t i = 0; i < m->import_count; i++)
		if (!strcmp(m->imports[i], name))
			return (uint32_t)i;
	PUSH(m->imports, m->import_count, xstrdup(name));
	return (uint32_t)(m->import_count - 1);
}

/* A jump through the slot at target (contract/site.h), placed in text; its displacement is a
 * relocation, the slot's address being known only once the package is mapped. */
static uint32_t place_slot_jump(struct ctx *c, struct target slot)
{
	uint8_t jump[HP_SLOT_JUMP_SIZE];
	hp_site_slot_jump(0, 0, jump);
	uint32_t at = place(c, HP_SEG_TEXT, jump, sizeof jump, 8);
	add_reloc(c, HP_SEG_TEXT, at + HP_SLOT_JUMP_DISP, HP_RELOC_PC32, slot, -(HP_SLOT_JUMP_END - HP_SLOT_JUMP_DISP));
	return at;
}

/* An 8-byte read-only slot holding a target's address; with stub, also a `jmp *slot(%rip)` in
 * text, for calls to code too far away for a rel32 (imports from other libraries). */
static struct slot *slot_for(struct ctx *c, struct target t, int stub)
{
	struct slot *s = NULL;
	for (size_t i = 0; i < c->slot_count && !s; i++)
		if (c->slots[i].kind == t.kind && c->slots[i].segment == t.segment && c->slots[i].value == t.value)
			s = &c->slots[i];
	if (!s) {
		static const uint8_t zero[8];
		struct slot n = { t.kind, t.segment, t.value, place(c, HP_SEG_RODATA, zero, 8, 8), UINT32_MAX };
		PUSH(c->slots, c->slot_count, n);
		s = &c->slots[c->slot_count - 1];
		add_reloc(c, HP_SEG_RODATA, s->offset, HP_RELOC_ABS64, t, 0);
	}
	if (stub && s->stub == UINT32_MAX) {
		s->stub = place_slot_jump(c, in_segment(HP_SEG_RODATA, s->offset));
	}
	return s;
}

/* The old module's slot the dynamic linker fills for name, of one of the given types. */
static const struct hp_dynreloc *old_slot(struct ctx *c, const char *name, uint32_t type1, uint32_t type2)
{
	for (size_t i = 0; i < c->dyn_count; i++)
		if ((c->dyn[i].type == type1 || c->dyn[i].type == type2) && !strcmp(c->dyn[i].name, name))
			return &c->dyn[i];
	return NULL;
}

/* A `jmp *slot(%rip)` stub in text through the old module's GOT slot, once per slot. */
static uint32_t got_stub(struct ctx *c, struct target got)
{
	for (size_t i = 0; i < c->slot_count; i++)
		if (c->slots[i].kind == 0 && c->slots[i].value == got.value)
			return c->slots[i].stub;
	struct slot s = { 0, 0, got.value, 0, place_slot_jump(c, got) };
	PUSH(c->slots, c->slot_count, s);
	return s.stub;
}

/* The single named function or variable defined in a section, if any: with function and data
 * sections, a section symbol almost always stands for it.  Indexed once per object. */
static int bundled_symbol(struct hp_object *o, size_t section, GElf_Sym *out, const char **name)
{
	if (!o->section_symbol) {
		size_t n = 0;
		elf_getshdrnum(o->elf.elf, &n);
		o->section_symbol = xrealloc(NULL, (n + 1) * sizeof *o->section_symbol);
		o->section_count = n;
		for (size_t i = 0; i <= n; i++)
			o->section_symbol[i] = -1;
		for (size_t i = 1; i < o->elf.symtab_count; i++) {
			GElf_Sym s;
			const char *nm;
			if (hp_elf_symbol_at(&o->elf, i, &s, &nm) || !*nm || nm[0] == '.' || s.st_shndx >= n)
				continue;
			int t = GELF_ST_TYPE(s.st_info);
			if (t != STT_FUNC && t != STT_OBJECT && t != STT_TLS)
				continue;
			long *slot = &o->section_symbol[s.st_shndx];
			*slot = *slot == -1 ? (long)i : -2;
		}
	}
	if (section >= o->section_count || o->section_symbol[section] < 0)
		return 0;
	return hp_elf_symbol_at(&o->elf, (size_t)o->section_symbol[section], out, name) == 0;
}

static int is_direct_branch(const uint8_t *code, uint64_t offset)
{
	return (offset >= 1 && (code[offset - 1] == 0xe8 || code[offset - 1] == 0xe9)) ||
	       (offset >= 2 && code[offset - 2] == 0x0f && (code[offset - 1] & 0xf0) == 0x80);
}

static struct copy *copy_pointed(struct ctx *c, struct hp_object *o, const GElf_Sym *s)
{
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, s->st_shndx, &sec))
		return NULL;
	if (sec.shdr.sh_flags & SHF_MERGE && sec.data && s->st_value < sec.shdr.sh_size) {
		uint64_t size = sec.shdr.sh_entsize;
		if (sec.shdr.sh_flags & SHF_STRINGS) {
			const uint8_t *end = memchr(sec.data + s->st_value, 0, sec.shdr.sh_size - s->st_value);
			size = end ? (uint64_t)(end - sec.data) - s->st_value + 1 : sec.shdr.sh_size - s->st_value;
		}
		if (size && s->st_value + size <= sec.shdr.sh_size)
			return copy_piece(c, o, s->st_shndx, s->st_value, size);
	}
	return copy_section(c, o, s->st_shndx);
}

/* Binds a named function or variable.  direct: the reference is a call or jump (it may go to
 * the new copy); otherwise the address is taken and stays the original's (hazard 13).
 * Returns 0 (t set), 1 when refused (noted), -1 on error (c->err set). */
static int resolve_named(struct ctx *c, struct hp_object *o, const GElf_Sym *sym, const char *name,
                         int direct, struct target *t)
{
	struct entity *e = find_entity(c, name);
	if (e && e->new && e->new->kind == HP_META_VARIABLE && e->new->flags & HP_META_THREAD_LOCAL &&
	    !e->old_sym && !hp_elf_find_symbol(&c->old->elf, name)) {
		note(c, "variable", name, unit_of(e), "refused", 0, "new thread-local variable: a patch cannot add TLS");
		return 1;
	}
	if (e && e->old_sym) {
		int changed_code = e->status == HP_CHANGED && e->new->kind == HP_META_FUNCTION;
		int changed_const = e->status == HP_CHANGED && e->new->kind == HP_META_VARIABLE &&
		                    (e->new->flags & HP_META_CONSTANT);
		if ((changed_code && direct) || changed_const) {
			struct copy *k = include(c, e);
			if (!k)
				return -1;
			const struct hp_symbol *s = hp_elf_find_symbol(&k->obj->elf, name);
			*t = in_segment(k->segment, k->offset + s->value - k->start);
			return 0;
		}
		*t = in_module(e->old_sym->value);
		return 0;
	}
	if (e && e->new && (e->new->kind == HP_META_VARIABLE || has_code(e->new))) {
		struct copy *k = include(c, e);
		if (!k)
			return -1;
		const struct hp_symbol *s = hp_elf_find_symbol(&k->obj->elf, name);
		*t = in_segment(k->segment, k->offset + s->value - k->start);
		return 0;
	}
	/* No record: toolchain or library code the old module has, or this object's private part
	 * (a split-off cold block, a compiler-made constant), or something from another module. */
	const struct hp_symbol *old = hp_elf_find_symbol(&c->old->elf, name);
	if (sym->st_shndx != SHN_UNDEF) {
		struct copy *k = copy_pointed(c, o, sym);
		if (!k)
			return -1;
		*t = in_segment(k->segment, k->offset + sym->st_value - k->start);
		return 0;
	}
	if (old && old->section != SHN_UNDEF) {
		*t = in_module(old->value);
		return 0;
	}
	/* What the running module already reaches through its GOT (hazard 22): the same binding,
	 * symbol version included.  Anything else is resolved by name at apply time. */
	const struct hp_dynreloc *got = old_slot(c, name, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT);
	if (got) {
		*t = in_module(got->offset);
		t->via_got = 1;
		return 0;
	}
	*t = of_import(import_index(c, name));
	return 0;
}

/* The address a thread-local variable of the running executable has from the thread pointer
 * (x86-64 variant II: the static TLS block ends at %fs:0). */
static int tls_offset(struct ctx *c, const char *name, int64_t *out)
{
	const struct hp_symbol *s = hp_elf_find_symbol(&c->old->elf, name);
	const GElf_Phdr *tls = &c->old->elf.tls;
	if (!s || s->type != STT_TLS || tls->p_type != PT_TLS)
		return -1;
	uint64_t align = tls->p_align ? tls->p_align : 1;
	uint64_t block = (tls->p_memsz + align - 1) & ~(align - 1);
	*out = (int64_t)s->value - (int64_t)block;
	return 0;
}

/* Thread-local variables bind to the running module's own (hazard 21): in the main program,
 * their offset from the thread pointer; in a shared library, the GOT entries its dynamic TLS
 * already uses.  A patch cannot add thread-local storage. */
static int resolve_tls(struct ctx *c, int seg, uint32_t where, const struct hp_reloc *r, const char *name)
{
	struct entity *e = *name ? find_entity(c, name) : NULL;
	const struct hp_symbol *old = *name ? hp_elf_find_symbol(&c->old->elf, name) : NULL;
	if (e && e->new && !e->old) {
		note(c, "variable", name, unit_of(e), "refused", 0, "new thread-local variable: a patch cannot add TLS");
		return 1;
	}
	const char *unit = e ? unit_of(e) : NULL;
	const struct hp_dynreloc *slot;
	int64_t off;
	switch (r->type) {
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
		if (c->old->elf.is_program) {
			if (tls_offset(c, name, &off)) {
				note(c, "variable", name, unit, "refused", 0, "thread-local variable not found in the running module");
				return 1;
			}
			if (r->type == R_X86_64_TPOFF32) {
				add_reloc(c, seg, where, HP_RELOC_ABS32S, absolute(off), r->addend);
			} else {
				struct slot *s = slot_for(c, absolute(off), 0);
				add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_RODATA, s->offset), r->addend);
			}
			return 0;
		}
		slot = old_slot(c, name, R_X86_64_TPOFF64, R_X86_64_TPOFF64);
		break;
	case R_X86_64_TLSGD:
		slot = old_slot(c, name, R_X86_64_DTPMOD64, R_X86_64_DTPMOD64);
		break;
	case R_X86_64_TLSLD:
		slot = old_slot(c, "", R_X86_64_DTPMOD64, R_X86_64_DTPMOD64);
		break;
	default: /* DTPOFF32/64: the variable's offset in the module's TLS block */
		if (!old || old->type != STT_TLS) {
			note(c, "variable", name, unit, "refused", 0, "thread-local variable not found in the running module");
			return 1;
		}
		add_reloc(c, seg, where, r->type == R_X86_64_DTPOFF64 ? HP_RELOC_ABS64 : HP_RELOC_ABS32S,
		          absolute((int64_t)old->value), r->addend);
		return 0;
	}
	if (!slot || r->type == R_X86_64_TPOFF32) {
		note(c, "variable", name, unit, "refused", 0,
		     "the running module has no thread-local entry for it to share");
		return 1;
	}
	add_reloc(c, seg, where, HP_RELOC_PC32, in_module(slot->offset), r->addend);
	return 0;
}

static int resolve_reloc(struct ctx *c, struct copy *k, const struct hp_section *sec, const struct hp_reloc *r)
{
	uint32_t where = k->offset + (uint32_t)(r->offset - k->start);
	int seg = k->segment;
	const char *name = r->sym_name;
	int type = GELF_ST_TYPE(r->sym.st_info);
	int direct = seg == HP_SEG_TEXT && sec->data && (r->type == R_X86_64_PLT32 || r->type == R_X86_64_PC32) &&
	             is_direct_branch(sec->data, r->offset);
	struct target t;
	int64_t addend = r->addend;

	switch (r->type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
	case R_X86_64_TLSGD:
	case R_X86_64_TLSLD:
	case R_X86_64_DTPOFF32:
	case R_X86_64_DTPOFF64:
		return resolve_tls(c, seg, where, r, name);
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
	case R_X86_64_64:
	case R_X86_64_32:
	case R_X86_64_32S:
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		break;
	default:
		snprintf(c->err, c->err_size, "%s: relocation type %u in %s is not supported", k->obj->elf.path,
		         r->type, sec->name);
		return -1;
	}

	if (type == STT_SECTION) {
		GElf_Sym b;
		const char *bname;
		struct hp_section target_sec;
		if (hp_elf_section_at(&k->obj->elf, r->sym.st_shndx, &target_sec))
			return -1;
		int text = (target_sec.shdr.sh_flags & SHF_EXECINSTR) != 0;
		int pcrel = r->type != R_X86_64_64 && r->type != R_X86_64_32 && r->type != R_X86_64_32S;
		int at_entry = 0;
		int bundled = bundled_symbol(k->obj, r->sym.st_shndx, &b, &bname);
		if (bundled && text)
			at_entry = (int64_t)b.st_value == addend + (pcrel ? 4 : 0);
		if (bundled && (!text || at_entry || direct)) {
			/* The section stands for its one symbol: bind that, keep the offset. */
			int rc = resolve_named(c, k->obj, &b, bname, direct, &t);
			if (rc)
				return rc < 0 ? -1 : 0;
			t.value -= b.st_value;
		} else {
			/* Somewhere inside a function (jump tables, block addresses) or an unnamed
			 * constant: the section travels with the code. */
			struct copy *p = copy_section(c, k->obj, r->sym.st_shndx);
			if (!p)
				return -1;
			t = in_segment(p->segment, p->offset);
		}
	} else if (name[0] == '.' && name[1] == 'L' && r->sym.st_shndx != SHN_UNDEF) {
		struct copy *p = copy_pointed(c, k->obj, &r->sym);
		if (!p)
			return -1;
		t = in_segment(p->segment, p->offset + r->sym.st_value - p->start);
	} else {
		int rc = resolve_named(c, k->obj, &r->sym, name, direct, &t);
		if (rc)
			return rc < 0 ? -1 : 0;
	}

	if (t.via_got) {
		switch (r->type) {
		case R_X86_64_GOTPCREL:
		case R_X86_64_GOTPCRELX:
		case R_X86_64_REX_GOTPCRELX:  /* the module's own GOT slot serves */
			add_reloc(c, seg, where, HP_RELOC_PC32, t, addend);
			return 0;
		case R_X86_64_PC32:
		case R_X86_64_PLT32:
			if (direct) {  /* a stub jumping through that slot */
				struct target got = t;
				got.via_got = 0;
				uint32_t stub = got_stub(c, got);
				add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_TEXT, stub), addend);
				return 0;
			}
			break;
		default:
			break;
		}
		t = of_import(import_index(c, name));  /* the address itself is needed */
	}

	switch (r->type) {
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		if (t.kind == HP_TARGET_IMPORT) {
			if (!direct) {
				note(c, "symbol", name, NULL, "refused", 0,
				     "new code addresses %s directly, but it lives in another module (build with -fPIC)", name);
				return 0;
			}
			struct slot *s = slot_for(c, t, 1);
			t = in_segment(HP_SEG_TEXT, s->stub);
		}
		add_reloc(c, seg, where, HP_RELOC_PC32, t, addend);
		break;
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX: {
		struct slot *s = slot_for(c, t, 0);
		add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_RODATA, s->offset), addend);
		break;
	}
	case R_X86_64_64:
		add_reloc(c, seg, where, HP_RELOC_ABS64, t, addend);
		break;
	case R_X86_64_32:
		add_reloc(c, seg, where, HP_RELOC_ABS32, t, addend);
		break;
	case R_X86_64_32S:
		add_reloc(c, seg, where, HP_RELOC_ABS32S, t, addend);
		break;
	}
	return 0;
}

/* Processes the relocations of every copy, including copies that processing adds. */
static int resolve_all(struct ctx *c)
{
	for (size_t i = 0; i < c->copy_count; i++) {
		struct copy *k = c->copies[i];
		if (k->resolved)
			continue;
		k->resolved = 1;
		struct hp_section sec;
		struct hp_reloc *rel = NULL;
		long n = hp_elf_section_at(&k->obj->elf, k->section, &sec) ? -1 :
		         hp_elf_relocations(&k->obj->elf, k->section, &rel);
		if (n < 0) {
			snprintf(c->err, c->err_size, "%s: cannot read relocations of section %zu", k->obj->elf.path, k->section);
			return -1;
		}
		for (long j = 0; j < n; j++) {
			if (rel[j].offset < k->start || rel[j].offset >= k->start + k->size)
				continue;
			if (resolve_reloc(c, k, &sec, &rel[j]) < 0) {
				free(rel);
				return -1;
			}
		}
		free(rel);
	}
	return 0;
}

/* ---- unwind tables ------------------------------------------------------------------------ */

/* The function a text section holds, for notes. */
static const char *sec_symbol_name(struct copy *k)
{
	GElf_Sym s;
	const char *name;
	return bundled_symbol(k->obj, k->section, &s, &name) ? name : "(code)";
}

/* Copies, for every text section in the package, its FDE and the CIE that FDE uses from the
 * object's .eh_frame, so that the runtime can register unwind information for the new code
 * (hazard 27): backtraces and unwinding through patched code keep working.  FDEs whose
 * augmentation points at an exception table are left out (C code rarely has them; noted). */
static int build_unwind(struct ctx *c)
{
	uint8_t *out = NULL;
	size_t len = 0;
	struct pending { uint32_t at; uint32_t text; int64_t addend; } *fix = NULL;
	size_t fix_count = 0;
	struct cie { struct hp_object *obj; uint64_t from; uint32_t at; } *cies = NULL;
	size_t cie_count = 0;
	size_t copies = c->copy_count;

	for (size_t i = 0; i < copies; i++) {
		struct copy *k = c->copies[i];
		if (k->segment != HP_SEG_TEXT || k->start != 0)
			continue;
		struct hp_section eh;
		if (hp_elf_section_named(&k->obj->elf, ".eh_frame", &eh) || !eh.data)
			continue;
		struct hp_reloc *rel = NULL;
		long n = hp_elf_relocations(&k->obj->elf, eh.index, &rel);
		for (long j = 0; j < n; j++) {
			/* An FDE's pc_begin: relocated against this text section. */
			if (GELF_ST_TYPE(rel[j].sym.st_info) != STT_SECTION || rel[j].sym.st_shndx != k->section ||
			    rel[j].offset < 8)
				continue;
			uint64_t fde = rel[j].offset - 8;
			uint32_t length, cie_ptr;
			if (fde + 8 > eh.shdr.sh_size)
				continue;
			memcpy(&length, eh.data + fde, 4);
			memcpy(&cie_ptr, eh.data + fde + 4, 4);
			if (length == 0xffffffffu || fde + 4 + length > eh.shdr.sh_size || cie_ptr > fde + 4)
				continue;
			int other = 0;  /* another relocation inside the FDE: an exception table */
			for (long q = 0; q < n; q++)
				other |= q != j && rel[q].offset > fde && rel[q].offset < fde + 4 + length;
			if (other) {
				note(c, "unwind", sec_symbol_name(k), NULL, "partial", 0,
				     "its exception table is not carried: unwinding through the new code stops there");
				continue;
			}
			uint64_t cie = fde + 4 - cie_ptr;
			uint32_t cie_length;
			memcpy(&cie_length, eh.data + cie, 4);
			if (cie_length == 0xffffffffu || cie + 4 + cie_length > eh.shdr.sh_size)
				continue;
			uint32_t cie_at = UINT32_MAX;
			for (size_t q = 0; q < cie_count; q++)
				if (cies[q].obj == k->obj && cies[q].from == cie)
					cie_at = cies[q].at;
			if (cie_at == UINT32_MAX) {
				cie_at = (uint32_t)len;
				out = xrealloc(out, len + 4 + cie_length);
				memcpy(out + len, eh.data + cie, 4 + cie_length);
				len += 4 + cie_length;
				struct cie e = { k->obj, cie, cie_at };
				PUSH(cies, cie_count, e);
			}
			uint32_t at = (uint32_t)len;
			out = xrealloc(out, len + 4 + length);
			memcpy(out + len, eh.data + fde, 4 + length);
			uint32_t ptr = at + 4 - cie_at;
			memcpy(out + at + 4, &ptr, 4);
			len += 4 + length;
			struct pending p = { at + 8, k->offset, rel[j].addend };
			PUSH(fix, fix_count, p);
		}
		free(rel);
	}
	if (len) {
		out = xrealloc(out, len + 4);
		memset(out + len, 0, 4);  /* the terminator */
		uint32_t base = place(c, HP_SEG_RODATA, out, len + 4, 8);
		for (size_t i = 0; i < fix_count; i++)
			add_reloc(c, HP_SEG_RODATA, base + fix[i].at, HP_RELOC_PC32, in_segment(HP_SEG_TEXT, fix[i].text),
			          fix[i].addend);
		c->d->out.eh_frame_offset = base;
		c->d->out.eh_frame_size = (uint32_t)(len + 4);
	}
	free(out);
	free(fix);
	free(cies);
	return 0;
}

/* Whether a refusal names the symbol (its code is then not listed as patched). */
static int refused(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->d->note_count; i++)
		if (!strcmp(c->d->notes[i].verdict, "refused") && !strcmp(c->d->notes[i].symbol, name))
			return 1;
	return 0;
}

/* Every changed function that the running module has: its new code, and a redirect from the
 * old entry, with the exact bytes the runtime must find there first. */
static int include_changed(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		if (e->status != HP_CHANGED || e->new->kind != HP_META_FUNCTION || !has_code(e->new) || refused(c, e->name))
			continue;
		if (!e->old_sym) {
			note(c, "function", e->name, unit_of(e), "skipped", 0, "%s; not linked into the running module", e->why);
			continue;
		}
		if (!is_zero16(e->old->abi_fingerprint) && !same16(e->old->abi_fingerprint, e->new->abi_fingerprint)) {
			/* Its callers must call it differently now (hazard 8): redirecting the old entry
			 * would feed it the old arguments.  Patched callers call the new copy; safe only if
			 * no unchanged caller still calls the old one. */
			const char *stale = NULL;
			const struct hp_tu *tu = e->old->tu;
			for (size_t r = 0; r < tu->record_count && !stale; r++)
				for (uint32_t k = 0; k < tu->records[r].call_count && !stale; k++) {
					struct entity *caller = find_entity(c, tu->records[r].name);
					if (&tu->records[tu->records[r].calls[k]] == e->old && caller && caller->status != HP_CHANGED &&
					    has_code(&tu->records[r]))
						stale = tu->records[r].name;
				}
			if (e->old->linkage != HP_META_INTERNAL)
				note(c, "function", e->name, unit_of(e), "refused", 0,
				     "its signature changed: callers in other units would call it the old way");
			else if (stale)
				note(c, "function", e->name, unit_of(e), "refused", 0,
				     "the compiler changed how it is called (an argument or return value removed), "
				     "but unchanged %s still calls it the old way", stale);
			else
				note(c, "function", e->name, unit_of(e), "kept", 0,
				     "%s; how it is called changed, so the old entry stays as it is and every caller is patched", e->why);
			continue;
		}
		size_t len = 0;
		const uint8_t *bytes = hp_elf_symbol_bytes(&c->old->elf, e->old_sym, -HP_SITE_PADDING,
		                                           HP_SITE_SPAN, &len);
		struct hp_site p;
		if (bytes)
			hp_site_inspect(bytes, len, e->old_sym->value, &p);
		if (!bytes || p.problem) {
			note(c, "function", e->name, unit_of(e), "refused", 0, "%s, but its running copy cannot be redirected: %s",
			     e->why, bytes ? p.problem : "no patchable padding before the entry");
			continue;
		}
		struct copy *k = include(c, e);
		if (!k)
			return -1;
		const struct hp_symbol *s = hp_elf_find_symbol(&k->obj->elf, e->name);
		struct hp_pkg_redirect rd = { .old_offset = e->old_sym->value,
			                      .new_offset = k->offset + (uint32_t)(s->value - k->start),
			                      .site_offset = (uint8_t)p.offset,
			                      .expected_size = (uint8_t)(HP_SITE_PADDING + p.offset + HP_SITE_SIZE) };
		memcpy(rd.expected, bytes, rd.expected_size);
		if (e->new->flags & HP_META_RECURSIVE)
			rd.flags |= HP_REDIRECT_RECURSIVE;
		if (e->new->flags & HP_META_VARIADIC)
			rd.flags |= HP_REDIRECT_VARIADIC;
		PUSH(c->d->out.redirects, c->d->out.redirect_count, rd);
		c->d->out.redirect_names = xrealloc(c->d->out.redirect_names, c->d->out.redirect_count * sizeof(char *));
		c->d->out.redirect_names[c->d->out.redirect_count - 1] = xstrdup(e->name);
		c->d->changed++;
		note(c, "function", e->name, unit_of(e), "patched", k->size, "%s", e->why);
	}
	return 0;
}

int hp_diff_module(struct hp_module *old_mod, struct hp_module *new_mod, struct hp_build *new_build,
                   const struct hp_diff_options *opt, struct hp_module_diff *d, char *err, size_t err_size)
{
	memset(d, 0, sizeof *d);
	struct ctx c = { .old = old_mod, .new = new_mod, .new_build = new_build, .opt = opt, .d = d,
		         .err = err, .err_size = err_size };
	d->out.name = xstrdup(new_mod->name);
	d->out.build_id_size = old_mod->elf.build_id_size < 32 ? old_mod->elf.build_id_size : 32;
	memcpy(d->out.build_id, old_mod->elf.build_id, d->out.build_id_size);
	for (int s = 0; s < HP_SEG_COUNT; s++)
		d->out.segment_align[s] = 1;
	int rc = -1;
	if (!old_mod->elf.build_id_size) {
		snprintf(err, err_size, "%s: no GNU build-id: link with -Wl,--build-id", old_mod->elf.path);
		goto out;
	}
	if (!old_mod->elf.has_symtab) {
		snprintf(err, err_size, "%s: no symbol table: hpdiff needs the unstripped build", old_mod->elf.path);
		goto out;
	}
	long dyn = hp_elf_dynamic_relocations(&old_mod->elf, &c.dyn);
	c.dyn_count = dyn > 0 ? (size_t)dyn : 0;
	correlate(&c);
	compare(&c);
	propagate_variants(&c);
	verify_units(&c);
	verify_entities(&c);
	verify_plain(&c);
	/* Built even when refused, so that --explain lists what the package would hold; an error
	 * met only because of what was refused already is not reported over the refusals. */
	size_t refused_early = d->refusals;
	if (include_changed(&c) == 0 && resolve_all(&c) == 0 && build_unwind(&c) == 0)
		rc = 0;
	else if (d->refusals && (refused_early || !err[0])) {
		rc = 0;
		err[0] = 0;
	}
out:
	for (size_t i = 0; i < c.copy_count; i++)
		free(c.copies[i]);
	free(c.copies);
	free(c.slots);
	free(c.ents);
	free(c.dyn);
	for (size_t i = 0; c.plain_memo && i < new_build->plain_object_count; i++)
		free(c.plain_memo[i]);
	free(c.plain_memo);
	return rc;
}

void hp_module_diff_free(struct hp_module_diff *d)
{
	struct hp_out_module *m = &d->out;
	for (size_t i = 0; i < m->redirect_count; i++)
		free(m->redirect_names[i]);
	for (size_t i = 0; i < m->import_count; i++)
		free(m->imports[i]);
	for (int s = 0; s < HP_SEG_COUNT; s++)
		free(m->segment[s]);
	free(m->redirect_names);
	free(m->redirects);
	free(m->imports);
	free(m->relocs);
	free(m->name);
	for (size_t i = 0; i < d->note_count; i++) {
		free(d->notes[i].symbol);
		free(d->notes[i].unit);
		free(d->notes[i].why);
	}
	free(d->notes);
	memset(d, 0, sizeof *d);
}

/* plain.c — objects built without the plugin: no records, so their sections are compared by
 * place, bytes and relocation targets with the running module (for compare), and their changed
 * functions refused or skipped (for verify). */
#include "diff_internal.h"

#include <stdlib.h>

int hp_same_plain_target(struct ctx *c, struct hp_object *o, const struct hp_reloc *r, uint64_t target,
                             int pcrel);
static int check_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base);

/* What hp_same_plain_section found for a section: asked once per function and per reference, it
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
 * by function by hp_same_machine_code. */
int hp_same_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base)
{
	size_t which = (size_t)(o - c->new_build->plain_objects), sections = 0;
	elf_getshdrnum(o->elf.elf, &sections);
	if (which >= c->new_build->plain_object_count || index >= sections)
		return 0;
	if (!c->plain_memo)
		c->plain_memo = memset(hp_xrealloc(NULL, c->new_build->plain_object_count * sizeof *c->plain_memo), 0,
		                       c->new_build->plain_object_count * sizeof *c->plain_memo);
	if (!c->plain_memo[which])
		c->plain_memo[which] = memset(hp_xrealloc(NULL, sections * sizeof **c->plain_memo), 0,
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
		if (c->dyn[i].offset == addr && c->dyn[i].type == c->arch->r_abs64 && c->dyn[i].addend == addend &&
		    !strcmp(c->dyn[i].name, name))
			return 1;
	return 0;
}

static int check_plain_section(struct ctx *c, struct hp_object *o, size_t index, uint64_t base)
{
	struct hp_section sec;
	size_t sections = 0;
	if (hp_elf_section_at(&o->elf, index, &sec) || !(sec.shdr.sh_flags & SHF_ALLOC) ||
	    (sec.shdr.sh_flags & (SHF_MERGE | SHF_TLS)) || elf_getshdrnum(o->elf.elf, &sections) || index >= sections)
		return 0;
	const size_t *members;
	size_t member_count = hp_elf_section_members(&o->elf, index, &members);
	for (size_t k = 0; k < member_count; k++) {
		GElf_Sym s;
		const char *name;
		if (hp_elf_symbol_at(&o->elf, members[k], &s, &name) || !hp_old_named_at(c, name, base + s.st_value, s.st_size))
			return 0;
	}
	if ((sec.shdr.sh_flags & SHF_EXECINSTR) || sec.shdr.sh_type == SHT_NOBITS)
		return 1;
	if (!sec.data)
		return 0;
	size_t size = sec.shdr.sh_size;
	const uint8_t *was = hp_old_bytes(c, base, size);
	uint8_t *covered = hp_xcalloc(size, 1);
	struct hp_reloc *rel = NULL;
	long n = hp_elf_relocations(&o->elf, index, &rel);
	int same = was && n >= 0;
	for (long j = 0; same && j < n; j++) {
		struct hp_form f = c->arch->form(rel[j].type);
		uint64_t value;
		int width, pcrel;
		size_t at = (size_t)rel[j].offset;
		if (rel[j].offset > size ||  /* no wrap-around */
		    !c->arch->data_field(rel[j].type, was + at, size - at, base + at, &value, &width, &pcrel)) {
			same = 0;
			break;
		}
		memset(covered + at, 1, (size_t)width);
		if (f.how == HP_FORM_ADDRESS && f.kind == HP_RELOC_ABS64 && rel[j].sym.st_shndx == SHN_UNDEF &&
		    dynamic_pointer(c, rel[j].sym_name, base + at, rel[j].addend))
			continue;
		same = hp_same_plain_target(c, o, &rel[j], value - (uint64_t)rel[j].addend, pcrel && f.pc_bias);
	}
	for (size_t k = 0; same && k < size; k++)
		same = covered[k] || sec.data[k] == was[k];
	free(rel);
	free(covered);
	return same;
}

/* Whether a relocated field of code or data built without the plugin, which points at target
 * (the symbol's address, without the addend) in the old module, points at the same thing. */
int hp_same_plain_target(struct ctx *c, struct hp_object *o, const struct hp_reloc *r, uint64_t target,
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
		return hp_same_merged_piece(c, &ms, (section ? 0 : r->sym.st_value) + (uint64_t)r->addend,
		                         target + (uint64_t)r->addend);
	}
	if (section)
		return hp_same_plain_section(c, o, r->sym.st_shndx, target);
	return hp_old_named_at(c, r->sym_name, target, r->sym.st_size) &&
	       hp_same_plain_section(c, o, r->sym.st_shndx, target - r->sym.st_value);
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
	const size_t *members;
	size_t member_count = hp_elf_section_members(&o->elf, s->section, &members);
	for (size_t k = 0; k < member_count; k++) {
		GElf_Sym m;
		const char *name;
		const struct hp_symbol *placed = NULL;
		if (hp_elf_symbol_at(&o->elf, members[k], &m, &name) ||
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
 * machine code with the running module's (hp_same_machine_code).  Identical code needs nothing;
 * changed code cannot be patched from here, so it is refused unless --allow-unfingerprinted. */
void hp_verify_plain(struct ctx *c)
{
	/* The other way round: a function OLD has from code built without the plugin, now with a
	 * record.  Its old copy has no fingerprint to compare and no patchable entry to redirect,
	 * so whatever changed in it would silently keep running. */
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_symbol *s = e->old || !e->new || e->new->kind != HP_META_FUNCTION || !hp_has_code(e->new) ||
		                                    hp_variant_base(e->name) ? NULL : hp_elf_find_symbol(&c->old->elf, e->name);
		if (s && s->type == STT_FUNC && c->opt->allow_unfingerprinted)
			hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_SKIPPED, 0,
			        "the running module has it from code built without the plugin; not patched "
			        "(--allow-unfingerprinted)");
		else if (s && s->type == STT_FUNC)
			hp_refuse(c, "function", e->name, hp_unit_of(e),
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
			if (olds == 1 && hp_same_machine_code(c, &e)) {
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
					hp_note(c, "function", list[i].s->name, o->name, HP_VERDICT_SKIPPED, 0,
					        "built without the plugin and %s; not patched (--allow-unfingerprinted)", what);
				else
					hp_refuse(c, "function", list[i].s->name, o->name,
					          "built without the plugin and %s: rebuild it with -fplugin=hotpatch", what);
			}
		if (!differ)
			hp_note(c, "object", o->name, o->name, HP_VERDICT_SAME, 0,
			        "built without the plugin; machine code of its %zu function(s) identical", same);
		else if (differ > named && c->opt->allow_unfingerprinted)
			hp_note(c, "object", o->name, o->name, HP_VERDICT_SKIPPED, 0,
			           "built without the plugin, and %zu more of its functions changed or moved; not patched "
			        "(--allow-unfingerprinted)", differ - named);
		else if (differ > named)
			hp_refuse(c, "object", o->name, o->name,
			          "built without the plugin, and %zu more of its functions changed or moved: rebuild it "
			          "with -fplugin=hotpatch", differ - named);
		free(list);
	}
}

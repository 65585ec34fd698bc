/* machine_code.c — part of compare: whether a function's new machine code is the same as the
 * running module's, byte for byte outside relocated fields and every relocated field reaching
 * the same thing (hazard 25: changed IR, same code). */
#include "diff_internal.h"

#include <stdlib.h>

#include "lines.h"

/* Whether the old module's code at addr is a PLT stub jumping through name's GOT slot. */
static int is_plt_stub_for(struct ctx *c, uint64_t addr, const char *name)
{
	const struct hp_dynreloc *slot = hp_old_slot(c, name, c->arch->r_jump_slot, c->arch->r_glob_dat);
	uint64_t through;
	return slot && c->arch->stub_slot(&c->old->elf, addr, &through) && through == slot->offset;
}

/* Whether the merged constant at offset `at` of section ms (a string up to its NUL, or one entry
 * of a table of constants) has the same bytes at old_addr in the old module: the linker merges
 * such pieces and puts them anywhere, so only their contents can be compared. */
int hp_same_merged_piece(struct ctx *c, const struct hp_section *ms, uint64_t at, uint64_t old_addr)
{
	uint64_t len = hp_elf_merged_piece(ms, at);
	const uint8_t *old = len ? hp_old_bytes(c, old_addr, len) : NULL;
	return old && !memcmp(old, ms->data + at, len);
}

/* Where the merged constant holding byte `at` of a SHF_MERGE section starts. */
static uint64_t merged_piece_start(const struct hp_section *ms, uint64_t at)
{
	if (!ms->data || at >= ms->shdr.sh_size)
		return at;
	if (ms->shdr.sh_flags & SHF_STRINGS) {
		while (at > 0 && ms->data[at - 1])
			at--;
		return at;
	}
	return ms->shdr.sh_entsize ? at - at % ms->shdr.sh_entsize : at;
}

/* Whether the old module has a symbol of that name at addr (of that size, unless size is -1):
 * file-local names may repeat across objects, and the address tells which one is meant. */
int hp_old_named_at(struct ctx *c, const char *name, uint64_t addr, uint64_t size)
{
	const struct hp_symbol *s = NULL;
	size_t n = hp_elf_count_symbols(&c->old->elf, name, &s);
	for (size_t i = 0; i < n; i++)
		if (s[i].value == addr && (size == (uint64_t)-1 || s[i].size == size))
			return 1;
	return 0;
}

/* Whether the old module's GOT slot at `at` holds the address of name, a symbol of the module
 * itself (entity t, when it has a record): a slot the dynamic linker fills with a RELATIVE
 * relocation, left by a linker that did not relax the load (arch.h, r_relative). */
static int own_slot(struct ctx *c, const struct entity *t, const char *name, uint64_t at)
{
	const struct hp_symbol *s = t && t->old_sym ? t->old_sym : name[0] ? hp_elf_find_symbol(&c->old->elf, name) : NULL;
	if (!c->arch->r_relative || !s || s->section == SHN_UNDEF)
		return 0;
	for (size_t i = 0; i < c->dyn_count; i++)
		if (c->dyn[i].offset == at && c->dyn[i].type == c->arch->r_relative)
			return (uint64_t)c->dyn[i].addend == s->value;
	return 0;
}

/* Fingerprints come from IR; when they differ, the machine code may still be the same (a
 * refreshed profile, an inferred attribute that changed nothing: hazard 25).  Same means: equal
 * size, equal bytes outside relocated fields, and every relocated field pointing, in the old
 * module, at the old copy of the same thing.  Anything not proven the same is "changed".
 * Returns 1 for the same code, 2 when it differs only in line numbers (lines.c), else 0. */
int hp_same_machine_code(struct ctx *c, struct entity *e)
{
	if (!e->old_sym || !e->old_sym->size || e->old_sym->type != STT_FUNC)
		return 0;
	struct hp_object *o = e->plain ? e->plain : hp_build_object_for(c->new_build, e->new->tu->name, e->name);
	const struct hp_symbol *ns = o ? hp_elf_find_symbol(&o->elf, e->name) : NULL;
	struct hp_section sec;
	if (!ns || ns->size != e->old_sym->size || hp_elf_section_at(&o->elf, ns->section, &sec) || !sec.data ||
	    ns->value > sec.shdr.sh_size || ns->size > sec.shdr.sh_size - ns->value)
		return 0;
	if (e->plain && !hp_same_plain_section(c, o, ns->section, e->old_sym->value - ns->value))
		return 0;  /* without function sections, what shares its section must not have moved */
	const uint8_t *now = sec.data + ns->value;
	const uint8_t *was = hp_old_bytes(c, e->old_sym->value, ns->size);
	uint8_t *covered = hp_xcalloc(ns->size, 1);
	const struct hp_reloc *rel = NULL;
	long n = hp_elf_relocations_in(&o->elf, ns->section, ns->value, ns->value + ns->size, &rel);
	int same = was && n >= 0;
	struct hp_code_pair pair = { now, was, ns->size, rel, n, ns->value, e->old_sym->value, covered };
	for (long j = 0; same && j < n; j++) {
		if (rel[j].offset < ns->value || rel[j].offset >= ns->value + ns->size)
			continue;
		/* What the old code holds in the field (arch.h): the address it reaches, S + A, or the
		 * old module's GOT slot for the symbol. */
		struct hp_field field;
		if (!c->arch->old_field(c, &pair, j, &field)) {
			same = 0;
			break;
		}
		if (field.how == HP_FIELD_GOT) {
			/* Through the old module's slot for the same name: the same thing, unless it is a
			 * variant with new code or data with new contents (reached anew). */
			const struct hp_dynreloc *slot = rel[j].sym_name[0] ? hp_old_slot(c, rel[j].sym_name, c->arch->r_glob_dat,
			                                                                  c->arch->r_glob_dat) : NULL;
			uint64_t at = field.value - (uint64_t)rel[j].addend;
			struct entity *t = hp_find_entity(c, rel[j].sym_name);
			same = ((slot && slot->offset == at) || own_slot(c, t, rel[j].sym_name, at)) &&
			       !(t && t != e && ((hp_variant_base(t->name) && t->status != HP_SAME) ||
			                         (t->new && t->new->kind == HP_META_VARIABLE && t->status != HP_SAME)));
			continue;
		}
		int pcrel = field.pcrel;
		uint64_t target = field.value - (uint64_t)rel[j].addend;  /* S in the old module */
		int64_t bias = c->arch->form(rel[j].type).pc_bias;
		const char *name = rel[j].sym_name;
		if (e->plain && rel[j].sym.st_shndx != SHN_UNDEF && !(name[0] == '.' && name[1] == 'L')) {
			same = hp_same_plain_target(c, o, &rel[j], target, pcrel && bias);  /* no records: by place and bytes */
			continue;
		}
		GElf_Sym b = rel[j].sym;
		uint64_t offset = 0;
		if (GELF_ST_TYPE(rel[j].sym.st_info) == STT_SECTION) {
			struct hp_section ms;
			if (c->arch->merged_by_section && !hp_elf_section_at(&o->elf, rel[j].sym.st_shndx, &ms) &&
			    (ms.shdr.sh_flags & SHF_MERGE) && !hp_elf_section_symbol(&o->elf, rel[j].sym.st_shndx, &b, &name)) {
				/* A merged constant named by its section (arch.h): the old field must reach the
				 * same bytes, from the start of the piece it lies in. */
				uint64_t at = (uint64_t)(rel[j].addend + bias), start = merged_piece_start(&ms, at);
				same = at < ms.shdr.sh_size && hp_same_merged_piece(c, &ms, start, target + start);
				continue;
			}
			if (!hp_elf_section_symbol(&o->elf, rel[j].sym.st_shndx, &b, &name)) {
				same = 0;  /* inside a section of its own: a jump table, a constant pool */
				break;
			}
			offset = b.st_value;
		}
		if (name[0] == '.' && name[1] == 'L') {
			/* A merged constant: the old field must point at the same bytes. */
			struct hp_section cs;
			same = !hp_elf_section_at(&o->elf, rel[j].sym.st_shndx, &cs) && (cs.shdr.sh_flags & SHF_MERGE) &&
			       hp_same_merged_piece(c, &cs, rel[j].sym.st_value, target);
			continue;
		}
		struct entity *t = hp_find_entity(c, name);
		if (t && t != e && ((hp_variant_base(t->name) && t->status != HP_SAME) ||
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
				const uint8_t *old_piece = hp_old_bytes(c, target + offset, b.st_size);
				same = old_piece && !memcmp(old_piece, ds.data + b.st_value, b.st_size);
			}
			free(inner);
		}
	}
	int bytes = 1;
	for (size_t k = 0; same && bytes && k < ns->size; k++)
		bytes = covered[k] || now[k] == was[k];
	if (same && !bytes)  /* code without records (e->plain) has no line lists */
		same = !e->plain && hp_lines_only_change(c->arch, e->old, e->new, was, now, covered, ns->size) ? 2 : 0;
	free(covered);
	return same;
}

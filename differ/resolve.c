/* resolve.c — the fifth phase: binds every relocation of the copied code and data to the old
 * module, to the package itself, or to an import resolved at apply time, adding private GOT
 * slots and jump stubs where new code needs them (hazards 13, 21, 22). */
#include "diff_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "site.h"

void hp_add_reloc(struct ctx *c, int seg, uint32_t offset, int type, struct target t, int64_t addend)
{
	struct hp_pkg_reloc r = { (uint8_t)seg, (uint8_t)type, t.kind, t.segment, offset, t.value, addend };
	PUSH(c->d->out.relocs, c->d->out.reloc_count, r);
}

/* A symbol resolved by name at apply time.  Weak when every reference to it is weak (`extern
 * void f(void) __attribute__((weak))`, tested before use): then a process without it gets 0, as
 * the dynamic linker would give, instead of refusing the package. */
static uint32_t import_index(struct ctx *c, const char *name, const GElf_Sym *sym)
{
	struct hp_out_module *m = &c->d->out;
	uint32_t flags = GELF_ST_BIND(sym->st_info) == STB_WEAK ? HP_IMPORT_WEAK : 0;
	for (size_t i = 0; i < m->import_count; i++)
		if (!strcmp(m->imports[i].name, name)) {
			m->imports[i].flags &= flags;
			return (uint32_t)i;
		}
	struct hp_out_import im = { hp_xstrdup(name), flags };
	PUSH(m->imports, m->import_count, im);
	return (uint32_t)(m->import_count - 1);
}

/* A jump through the slot at target (contract/site.h), placed in text; its displacement is a
 * relocation, the slot's address being known only once the package is mapped. */
static uint32_t place_slot_jump(struct ctx *c, struct target slot)
{
	uint8_t jump[HP_SLOT_JUMP_SIZE];
	hp_site_slot_jump(0, 0, jump);
	uint32_t at = hp_place(c, HP_SEG_TEXT, jump, sizeof jump, 8);
	hp_add_reloc(c, HP_SEG_TEXT, at + HP_SLOT_JUMP_DISP, HP_RELOC_PC32, slot, -(HP_SLOT_JUMP_END - HP_SLOT_JUMP_DISP));
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
		struct slot n = { t.kind, t.segment, t.value, hp_place(c, HP_SEG_RODATA, zero, 8, 8), UINT32_MAX };
		PUSH(c->slots, c->slot_count, n);
		s = &c->slots[c->slot_count - 1];
		hp_add_reloc(c, HP_SEG_RODATA, s->offset, HP_RELOC_ABS64, t, 0);
	}
	if (stub && s->stub == UINT32_MAX) {
		s->stub = place_slot_jump(c, in_segment(HP_SEG_RODATA, s->offset));
	}
	return s;
}

/* The old module's slot the dynamic linker fills for name, of one of the given types. */
const struct hp_dynreloc *hp_old_slot(struct ctx *c, const char *name, uint32_t type1, uint32_t type2)
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

static int is_direct_branch(const uint8_t *code, uint64_t offset)
{
	return (offset >= 1 && (code[offset - 1] == 0xe8 || code[offset - 1] == 0xe9)) ||
	       (offset >= 2 && code[offset - 2] == 0x0f && (code[offset - 1] & 0xf0) == 0x80);
}

/* Binds a named function or variable.  direct: the reference is a call or jump (it may go to
 * the new copy); otherwise the address is taken and stays the original's (hazard 13).
 * Returns 0 (t set), 1 when refused (noted), -1 on error (c->err set). */
static int resolve_named(struct ctx *c, struct hp_object *o, const GElf_Sym *sym, const char *name,
                         int direct, struct target *t)
{
	struct entity *e = hp_find_entity(c, name);
	if (e && e->new && e->new->kind == HP_META_VARIABLE && e->new->flags & HP_META_THREAD_LOCAL &&
	    !e->old_sym && !hp_elf_find_symbol(&c->old->elf, name)) {
		hp_refuse(c, "variable", name, hp_unit_of(e),
		          "new thread-local variable: a patch cannot add TLS");
		return 1;
	}
	if (e && e->old_sym) {
		int changed_code = e->status == HP_CHANGED && e->new->kind == HP_META_FUNCTION;
		int changed_const = e->status == HP_CHANGED && e->new->kind == HP_META_VARIABLE &&
		                    (e->new->flags & HP_META_CONSTANT);
		if ((changed_code && direct) || changed_const) {
			struct copy *k = hp_include(c, e);
			if (!k)
				return -1;
			const struct hp_symbol *s = hp_elf_find_symbol(&k->obj->elf, name);
			*t = in_segment(k->segment, k->offset + s->value - k->start);
			return 0;
		}
		*t = in_module(e->old_sym->value);
		return 0;
	}
	if (e && e->new && (e->new->kind == HP_META_VARIABLE || hp_has_code(e->new))) {
		struct copy *k = hp_include(c, e);
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
		struct copy *k = hp_copy_pointed(c, o, sym);
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
	const struct hp_dynreloc *got = hp_old_slot(c, name, R_X86_64_GLOB_DAT, R_X86_64_JUMP_SLOT);
	if (got) {
		*t = in_module(got->offset);
		t->via_got = 1;
		return 0;
	}
	*t = of_import(import_index(c, name, sym));
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
	struct entity *e = *name ? hp_find_entity(c, name) : NULL;
	const struct hp_symbol *old = *name ? hp_elf_find_symbol(&c->old->elf, name) : NULL;
	if (e && e->new && !e->old) {
		hp_refuse(c, "variable", name, hp_unit_of(e),
		          "new thread-local variable: a patch cannot add TLS");
		return 1;
	}
	const char *unit = e ? hp_unit_of(e) : NULL;
	const struct hp_dynreloc *slot;
	int64_t off;
	switch (r->type) {
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
		if (c->old->elf.is_program) {
			if (tls_offset(c, name, &off)) {
				hp_refuse(c, "variable", name, unit,
				          "thread-local variable not found in the running module");
				return 1;
			}
			if (r->type == R_X86_64_TPOFF32) {
				hp_add_reloc(c, seg, where, HP_RELOC_ABS32S, absolute(off), r->addend);
			} else {
				struct slot *s = slot_for(c, absolute(off), 0);
				hp_add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_RODATA, s->offset), r->addend);
			}
			return 0;
		}
		slot = hp_old_slot(c, name, R_X86_64_TPOFF64, R_X86_64_TPOFF64);
		break;
	case R_X86_64_TLSGD:
		slot = hp_old_slot(c, name, R_X86_64_DTPMOD64, R_X86_64_DTPMOD64);
		break;
	case R_X86_64_TLSLD:
		slot = hp_old_slot(c, "", R_X86_64_DTPMOD64, R_X86_64_DTPMOD64);
		break;
	default: /* DTPOFF32/64: the variable's offset in the module's TLS block */
		if (!old || old->type != STT_TLS) {
			hp_refuse(c, "variable", name, unit,
			          "thread-local variable not found in the running module");
			return 1;
		}
		hp_add_reloc(c, seg, where, r->type == R_X86_64_DTPOFF64 ? HP_RELOC_ABS64 : HP_RELOC_ABS32S,
		          absolute((int64_t)old->value), r->addend);
		return 0;
	}
	if (!slot || r->type == R_X86_64_TPOFF32) {
		hp_refuse(c, "variable", name, unit,
		          "the running module has no thread-local entry for it to share");
		return 1;
	}
	hp_add_reloc(c, seg, where, HP_RELOC_PC32, in_module(slot->offset), r->addend);
	return 0;
}

/* The bytes an x86-64 relocation of an object writes. */
static uint64_t reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_NONE:
		return 0;
	case R_X86_64_64:
	case R_X86_64_PC64:
	case R_X86_64_DTPOFF64:
	case R_X86_64_TPOFF64:
	case R_X86_64_GOTOFF64:
	case R_X86_64_GOTPC64:
	case R_X86_64_GOTPCREL64:
	case R_X86_64_GOT64:
	case R_X86_64_PLTOFF64:
	case R_X86_64_SIZE64:
		return 8;
	default:
		return 4;  /* every other type this reads (resolve_reloc refuses the rest) */
	}
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
		int bundled = hp_elf_section_symbol(&k->obj->elf, r->sym.st_shndx, &b, &bname);
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
			struct copy *p = hp_copy_section(c, k->obj, r->sym.st_shndx);
			if (!p)
				return -1;
			t = in_segment(p->segment, p->offset);
		}
	} else if (name[0] == '.' && name[1] == 'L' && r->sym.st_shndx != SHN_UNDEF) {
		struct copy *p = hp_copy_pointed(c, k->obj, &r->sym);
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
			hp_add_reloc(c, seg, where, HP_RELOC_PC32, t, addend);
			return 0;
		case R_X86_64_PC32:
		case R_X86_64_PLT32:
			if (direct) {  /* a stub jumping through that slot */
				struct target got = t;
				got.via_got = 0;
				uint32_t stub = got_stub(c, got);
				hp_add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_TEXT, stub), addend);
				return 0;
			}
			break;
		default:
			break;
		}
		t = of_import(import_index(c, name, &r->sym));  /* the address itself is needed */
	}

	switch (r->type) {
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		if (t.kind == HP_TARGET_IMPORT) {
			if (!direct) {
				hp_refuse(c, "symbol", name, NULL,
				          "new code addresses %s directly, but it lives in another module (build with -fPIC)", name);
				return 0;
			}
			struct slot *s = slot_for(c, t, 1);
			t = in_segment(HP_SEG_TEXT, s->stub);
		}
		hp_add_reloc(c, seg, where, HP_RELOC_PC32, t, addend);
		break;
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX: {
		struct slot *s = slot_for(c, t, 0);
		hp_add_reloc(c, seg, where, HP_RELOC_PC32, in_segment(HP_SEG_RODATA, s->offset), addend);
		break;
	}
	case R_X86_64_64:
		hp_add_reloc(c, seg, where, HP_RELOC_ABS64, t, addend);
		break;
	case R_X86_64_32:
		hp_add_reloc(c, seg, where, HP_RELOC_ABS32, t, addend);
		break;
	case R_X86_64_32S:
		hp_add_reloc(c, seg, where, HP_RELOC_ABS32S, t, addend);
		break;
	}
	return 0;
}

/* Processes the relocations of every copy, including copies that processing adds. */
int hp_resolve_all(struct ctx *c)
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
			/* The field must lie inside the piece copied (and the section has bytes): one
			 * reaching past it would write into the next piece of the package, or outside
			 * its segment. */
			uint64_t width = reloc_width(rel[j].type);
			if (!sec.data || width > k->start + k->size - rel[j].offset) {
				snprintf(c->err, c->err_size, "%s: relocation at offset 0x%llx of %s reaches past the end of %s",
				         k->obj->elf.path, (unsigned long long)rel[j].offset, sec.name,
				         sec.data ? "what is copied of it" : "its contents (it has none)");
				free(rel);
				return -1;
			}
			if (resolve_reloc(c, k, &sec, &rel[j]) < 0) {
				free(rel);
				return -1;
			}
		}
		free(rel);
	}
	return 0;
}

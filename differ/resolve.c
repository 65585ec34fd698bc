/* resolve.c — the fifth phase: binds every relocation of the copied code and data to the old
 * module, to the package itself, or to an import resolved at apply time, adding private GOT
 * slots and jump stubs where new code needs them (hazards 13, 21, 22). */
#include "diff_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "reloc.h"

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

/* A jump through the slot at target (the architecture's stub, arch.h), placed in text; the
 * fields that reach the slot are relocations, its address being known only once the package is
 * mapped. */
static uint32_t place_slot_jump(struct ctx *c, struct target slot)
{
	const struct hp_stub *st = c->arch->stub();
	uint32_t at = hp_place(c, HP_SEG_TEXT, st->bytes, st->size, st->align);
	for (unsigned i = 0; i < st->fix_count; i++)
		hp_add_reloc(c, HP_SEG_TEXT, at + st->fix[i].at, st->fix[i].kind, slot, st->fix[i].addend);
	return at;
}

/* An 8-byte read-only slot holding a target's address; with stub, also a jump through it in
 * text, for calls to code too far away for a direct branch (imports from other libraries). */
struct slot *hp_slot_for(struct ctx *c, struct target t, int stub)
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

/* A stub in text jumping through the old module's GOT slot, once per slot. */
static uint32_t got_stub(struct ctx *c, struct target got)
{
	for (size_t i = 0; i < c->slot_count; i++)
		if (c->slots[i].kind == 0 && c->slots[i].value == got.value)
			return c->slots[i].stub;
	struct slot s = { 0, 0, got.value, 0, place_slot_jump(c, got) };
	PUSH(c->slots, c->slot_count, s);
	return s.stub;
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
	const struct hp_dynreloc *got = hp_old_slot(c, name, c->arch->r_glob_dat, c->arch->r_jump_slot);
	if (got) {
		*t = in_module(got->offset);
		t->via_got = 1;
		t->got_type = got->type;
		return 0;
	}
	*t = of_import(import_index(c, name, sym));
	return 0;
}

/* Thread-local variables bind to the running module's own (hazard 21), the architecture's way
 * (arch.h, resolve_tls).  A patch cannot add thread-local storage. */
static int resolve_tls(struct ctx *c, int seg, uint32_t where, const struct hp_reloc *r, const char *name)
{
	struct entity *e = *name ? hp_find_entity(c, name) : NULL;
	if (e && e->new && !e->old) {
		hp_refuse(c, "variable", name, hp_unit_of(e),
		          "new thread-local variable: a patch cannot add TLS");
		return 1;
	}
	return c->arch->resolve_tls(c, seg, where, r, name, e ? hp_unit_of(e) : NULL);
}

/* Whether a branch of that kind reaches the running module from wherever the runtime maps the
 * package (near the module: within ±2 GiB for x86-64, ±128 MiB for AArch64's B and BL); an
 * AArch64 B.cond, CBZ or TBZ reaches ±1 MiB or ±32 KiB only. */
static int reaches_module(unsigned kind)
{
	return kind != HP_RELOC_A64_CONDBR19 && kind != HP_RELOC_A64_TSTBR14;
}

/* Whether a direct branch at `where` in text reaches t: within the package, the distance is
 * known now; into the running module, only the kinds that reach it from anywhere near do. */
static int branch_reaches(const struct hp_form *f, const uint8_t *field, uint32_t where, struct target t,
                          int64_t addend)
{
	if (t.kind == HP_TARGET_MODULE)
		return reaches_module(f->kind);
	if (t.kind != HP_TARGET_SEGMENT || t.segment != HP_SEG_TEXT)
		return 1;  /* an import goes through a stub in text (resolve_reloc) */
	uint8_t scratch[8];
	const char *why;
	memcpy(scratch, field, f->width <= sizeof scratch ? f->width : sizeof scratch);
	return hp_reloc_write(f->kind, scratch, t.value + (uint64_t)addend, where, &why) == 0;
}

static int resolve_reloc(struct ctx *c, struct copy *k, const struct hp_section *sec, const struct hp_reloc *r)
{
	uint32_t where = k->offset + (uint32_t)(r->offset - k->start);
	int seg = k->segment;
	const char *name = r->sym_name;
	int type = GELF_ST_TYPE(r->sym.st_info);
	struct hp_form f = c->arch->form(r->type);
	int direct = seg == HP_SEG_TEXT && sec->data && c->arch->is_direct(&f, sec->data, r->offset);
	struct target t;
	int64_t addend = r->addend;

	switch (f.how) {
	case HP_FORM_NONE:
		return 0;
	case HP_FORM_TLS:
		return resolve_tls(c, seg, where, r, name);
	case HP_FORM_ADDRESS:
	case HP_FORM_GOT:
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
		int at_entry = 0;
		int bundled = hp_elf_section_symbol(&k->obj->elf, r->sym.st_shndx, &b, &bname);
		if (bundled && text)
			at_entry = (int64_t)b.st_value == addend + f.pc_bias;
		if (bundled && (!text || at_entry || direct)) {
			/* The section stands for its one symbol: bind that, keep the offset. */
			int rc = resolve_named(c, k->obj, &b, bname, direct, &t);
			if (rc)
				return rc < 0 ? -1 : 0;
			t.value -= b.st_value;
		} else if (c->arch->merged_by_section && (target_sec.shdr.sh_flags & SHF_MERGE) && !bundled) {
			/* A merged constant named by its section: the one piece it lies in, whose place
			 * in the package the target says (the addend then counts from the piece). */
			uint64_t at = (uint64_t)(addend + f.pc_bias);
			struct copy *p = hp_copy_merged(c, k->obj, r->sym.st_shndx, at);
			if (!p)
				return -1;
			t = in_segment(p->segment, p->offset + (at - p->start));
			addend = -(int64_t)f.pc_bias;
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
		struct target got = t;
		got.via_got = 0;
		if (f.how == HP_FORM_GOT && (t.got_type == c->arch->r_glob_dat || c->arch->jump_slot_is_address)) {
			hp_add_reloc(c, seg, where, f.kind, got, addend);  /* the module's own GOT slot serves */
			return 0;
		}
		if (f.how == HP_FORM_ADDRESS && direct) {  /* a stub jumping through that slot */
			uint32_t stub = got_stub(c, got);
			hp_add_reloc(c, seg, where, f.kind, in_segment(HP_SEG_TEXT, stub), addend);
			return 0;
		}
		t = of_import(import_index(c, name, &r->sym));  /* the address itself is needed */
	}

	if (f.how == HP_FORM_GOT) {
		struct slot *s = hp_slot_for(c, t, 0);
		hp_add_reloc(c, seg, where, f.kind, in_segment(HP_SEG_RODATA, s->offset), addend);
		return 0;
	}
	if (t.kind == HP_TARGET_IMPORT && f.near) {
		if (!direct) {
			hp_refuse(c, "symbol", name, NULL,
			          "new code addresses %s directly, but it lives in another module (build with -fPIC)", name);
			return 0;
		}
		struct slot *s = hp_slot_for(c, t, 1);
		t = in_segment(HP_SEG_TEXT, s->stub);
	}
	if (direct && !branch_reaches(&f, sec->data + r->offset, where, t, addend)) {
		hp_refuse(c, "symbol", *name ? name : sec->name, NULL,
		          t.kind == HP_TARGET_MODULE
		                  ? "new code branches to %s with a short conditional branch, which cannot reach the running "
		                    "module from the package"
		                  : "new code branches to %s, which lies beyond the branch's reach in the package",
		          *name ? name : "code in another section");
		return 0;
	}
	hp_add_reloc(c, seg, where, f.kind, t, addend);
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
			uint64_t width = c->arch->form(rel[j].type).width;
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

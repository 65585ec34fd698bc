/* include.c — placing new code and data in the package's segments: a section (or one merged
 * constant) of a new object is copied once, and an entity's copy is noted when it is new. */
#include "diff_internal.h"

#include <stdlib.h>

static int segment_of(const GElf_Shdr *sh)
{
	if (sh->sh_flags & SHF_EXECINSTR)
		return HP_SEG_TEXT;
	if (sh->sh_type == SHT_NOBITS)
		return HP_SEG_BSS;
	return sh->sh_flags & SHF_WRITE ? HP_SEG_DATA : HP_SEG_RODATA;
}

uint32_t hp_place(struct ctx *c, int seg, const uint8_t *bytes, uint64_t size, uint64_t align)
{
	struct hp_out_module *m = &c->d->out;
	if (align < 1)
		align = 1;
	if (align > m->segment_align[seg])
		m->segment_align[seg] = (uint32_t)align;
	size_t at = (m->segment_size[seg] + align - 1) & ~(size_t)(align - 1);
	if (seg != HP_SEG_BSS) {
		/* Text is padded with the architecture's trap (int3, brk), everything else with zeros. */
		m->segment[seg] = hp_xrealloc(m->segment[seg], at + size);
		for (size_t k = m->segment_size[seg]; k < at; k++)
			m->segment[seg][k] = seg == HP_SEG_TEXT ? c->arch->text_fill[k % 4] : 0;
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
	struct copy *k = hp_xrealloc(NULL, sizeof *k);
	*k = (struct copy){ o, section, start, size, segment_of(&sec.shdr), 0, 0 };
	uint64_t align = start ? 1 : sec.shdr.sh_addralign;
	if (sec.shdr.sh_flags & SHF_MERGE && !(sec.shdr.sh_flags & SHF_STRINGS) && sec.shdr.sh_entsize)
		align = sec.shdr.sh_entsize <= 64 ? sec.shdr.sh_entsize : 16;
	k->offset = hp_place(c, k->segment, sec.data ? sec.data + start : NULL, size, align);
	PUSH(c->copies, c->copy_count, k);
	return k;
}

struct copy *hp_copy_section(struct ctx *c, struct hp_object *o, size_t section)
{
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, section, &sec))
		return NULL;
	return copy_piece(c, o, section, 0, sec.shdr.sh_size);
}

/* Includes an entity's new code or data: its section from the object that defines it. */
struct copy *hp_include(struct ctx *c, struct entity *e)
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
	e->copy = hp_copy_section(c, o, s->section);
	if (e->copy && e->status == HP_NEW)
		hp_note(c, e->new->kind == HP_META_FUNCTION ? "function" : "variable", e->name, hp_unit_of(e),
		        HP_VERDICT_ADDED, e->copy->size, "new in this build, needed by the patched code");
	else if (e->copy && e->new->kind == HP_META_VARIABLE)
		hp_note(c, "variable", e->name, hp_unit_of(e), HP_VERDICT_COPIED, e->copy->size,
		        "read-only contents changed: the new copy travels with its readers");
	return e->copy;
}

/* The merged constant (a string, or an entry of a table of constants) that byte `at` of a
 * SHF_MERGE section lies in, copied alone; the whole section when no piece holds it. */
struct copy *hp_copy_merged(struct ctx *c, struct hp_object *o, size_t section, uint64_t at)
{
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, section, &sec))
		return NULL;
	if (!(sec.shdr.sh_flags & SHF_MERGE) || !sec.data || at >= sec.shdr.sh_size)
		return hp_copy_section(c, o, section);
	uint64_t start = at;
	if (sec.shdr.sh_flags & SHF_STRINGS) {
		while (start > 0 && sec.data[start - 1])
			start--;
	} else if (sec.shdr.sh_entsize) {
		start -= at % sec.shdr.sh_entsize;
	}
	uint64_t size = hp_elf_merged_piece(&sec, start);
	if (!size && sec.shdr.sh_flags & SHF_STRINGS)
		size = sec.shdr.sh_size - start;  /* no NUL: the rest of the section */
	return size ? copy_piece(c, o, section, start, size) : hp_copy_section(c, o, section);
}

/* A merged constant is copied alone (the linker may have merged the rest with anything); other
 * sections whole. */
struct copy *hp_copy_pointed(struct ctx *c, struct hp_object *o, const GElf_Sym *s)
{
	struct hp_section sec;
	if (hp_elf_section_at(&o->elf, s->st_shndx, &sec))
		return NULL;
	if (sec.shdr.sh_flags & SHF_MERGE && sec.data && s->st_value < sec.shdr.sh_size) {
		uint64_t size = hp_elf_merged_piece(&sec, s->st_value);
		if (!size && sec.shdr.sh_flags & SHF_STRINGS)
			size = sec.shdr.sh_size - s->st_value;  /* no NUL: the rest of the section */
		if (size)
			return copy_piece(c, o, s->st_shndx, s->st_value, size);
	}
	return hp_copy_section(c, o, s->st_shndx);
}

/* unwind.c — the last phase: unwind information for the new code (hazard 27), the FDE of every
 * copied function with the CIE it uses, relocated to the copy.  The .eh_frame of an object is
 * input from outside: it is read through eh_frame.c, which checks every length, pointer
 * encoding and relocation offset before a byte of it is copied; a malformed one is an error
 * naming the object. */
#include "diff_internal.h"

#include <stdlib.h>

#include "eh_frame.h"

/* The function a text section holds, for notes. */
static const char *sec_symbol_name(struct copy *k)
{
	GElf_Sym s;
	const char *name;
	return hp_elf_section_symbol(&k->obj->elf, k->section, &s, &name) ? name : "(code)";
}

/* One object's checked .eh_frame (eh_frame.h). */
struct frame {
	struct hp_object *obj;
	struct hp_eh_frame f;
};

/* The checked .eh_frame of the copy's object, read on first use; NULL when the object has none
 * (*failed set, and c->err, when it is malformed). */
static struct hp_eh_frame *frame_of(struct ctx *c, struct frame **frames, size_t *count, struct hp_object *obj,
                                    int *failed)
{
	for (size_t i = 0; i < *count; i++)
		if ((*frames)[i].obj == obj)
			return (*frames)[i].f.sec.data ? &(*frames)[i].f : NULL;
	struct frame fr = { .obj = obj };
	if (hp_eh_frame_read(&obj->elf, &fr.f, c->err, c->err_size))
		*failed = 1;
	PUSH(*frames, *count, fr);
	return fr.f.sec.data && !*failed ? &(*frames)[*count - 1].f : NULL;
}

/* Copies, for every text section in the package, its FDE and the CIE that FDE uses from the
 * object's .eh_frame, so that the runtime can register unwind information for the new code
 * (hazard 27): backtraces and unwinding through patched code keep working.  FDEs whose
 * augmentation points at an exception table, or whose CIE names a personality routine, are left
 * out (C code rarely has them; noted): the package does not relocate either. */
int hp_build_unwind(struct ctx *c)
{
	uint8_t *out = NULL;
	size_t len = 0;
	struct pending { uint32_t at; uint32_t text; int64_t addend; } *fix = NULL;
	size_t fix_count = 0;
	struct cie { struct hp_object *obj; uint64_t from; uint32_t at; } *cies = NULL;
	size_t cie_count = 0;
	struct frame *frames = NULL;
	size_t frame_count = 0;
	size_t copies = c->copy_count;
	int failed = 0;

	for (size_t i = 0; i < copies && !failed; i++) {
		struct copy *k = c->copies[i];
		if (k->segment != HP_SEG_TEXT || k->start != 0)
			continue;
		struct hp_eh_frame *f = frame_of(c, &frames, &frame_count, k->obj, &failed);
		if (!f)
			continue;
		const uint8_t *data = f->sec.data;
		for (long j = 0; j < f->rel_count; j++) {
			/* An FDE's pc_begin: relocated against this text section. */
			const struct hp_reloc *r = &f->rel[j];
			if (GELF_ST_TYPE(r->sym.st_info) != STT_SECTION || r->sym.st_shndx != k->section)
				continue;
			struct hp_eh_entry *fde = hp_eh_entry_at(f, r->offset);
			if (!fde || fde->is_cie || fde->pc_begin != j)
				continue;  /* hp_eh_frame_read placed every relocation: this one is no pc_begin */
			const struct hp_eh_entry *ce = &f->entries[fde->cie];
			if (fde->other_reloc || ce->other_reloc) {
				hp_note(c, "unwind", sec_symbol_name(k), NULL, HP_VERDICT_PARTIAL, 0,
				        fde->other_reloc
				                ? "its exception table is not carried: unwinding through the new code stops there"
				                : "its personality routine is not carried: unwinding through the new code stops there");
				continue;
			}
			uint32_t cie_at = UINT32_MAX;
			for (size_t q = 0; q < cie_count; q++)
				if (cies[q].obj == k->obj && cies[q].from == ce->at)
					cie_at = cies[q].at;
			if (cie_at == UINT32_MAX) {
				cie_at = (uint32_t)len;
				out = hp_xrealloc(out, len + 4 + ce->length);
				memcpy(out + len, data + ce->at, 4 + (size_t)ce->length);
				len += 4 + (size_t)ce->length;
				struct cie e = { k->obj, ce->at, cie_at };
				PUSH(cies, cie_count, e);
			}
			/* fde->length >= 12 (hp_eh_frame_read): the CIE pointer and pc_begin lie inside. */
			uint32_t at = (uint32_t)len;
			out = hp_xrealloc(out, len + 4 + fde->length);
			memcpy(out + len, data + fde->at, 4 + (size_t)fde->length);
			uint32_t ptr = at + 4 - cie_at;
			memcpy(out + at + 4, &ptr, 4);
			len += 4 + (size_t)fde->length;
			struct pending p = { at + 8, k->offset, r->addend };
			PUSH(fix, fix_count, p);
		}
	}
	if (len && !failed) {
		out = hp_xrealloc(out, len + 4);
		memset(out + len, 0, 4);  /* the terminator */
		uint32_t base = hp_place(c, HP_SEG_RODATA, out, len + 4, 8);
		for (size_t i = 0; i < fix_count; i++)
			hp_add_reloc(c, HP_SEG_RODATA, base + fix[i].at, HP_RELOC_PC32, in_segment(HP_SEG_TEXT, fix[i].text),
			          fix[i].addend);
		c->d->out.eh_frame_offset = base;
		c->d->out.eh_frame_size = (uint32_t)(len + 4);
	}
	for (size_t i = 0; i < frame_count; i++)
		hp_eh_frame_free(&frames[i].f);
	free(frames);
	free(out);
	free(fix);
	free(cies);
	return failed ? -1 : 0;
}

/* unwind.c — the last phase: unwind information for the new code (hazard 27), the FDE of every
 * copied function with the CIE it uses, relocated to the copy. */
#include "diff_internal.h"

#include <stdlib.h>

/* The function a text section holds, for notes. */
static const char *sec_symbol_name(struct copy *k)
{
	GElf_Sym s;
	const char *name;
	return hp_elf_section_symbol(&k->obj->elf, k->section, &s, &name) ? name : "(code)";
}

/* Copies, for every text section in the package, its FDE and the CIE that FDE uses from the
 * object's .eh_frame, so that the runtime can register unwind information for the new code
 * (hazard 27): backtraces and unwinding through patched code keep working.  FDEs whose
 * augmentation points at an exception table are left out (C code rarely has them; noted). */
int hp_build_unwind(struct ctx *c)
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
				hp_note(c, "unwind", sec_symbol_name(k), NULL, HP_VERDICT_PARTIAL, 0,
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
				out = hp_xrealloc(out, len + 4 + cie_length);
				memcpy(out + len, eh.data + cie, 4 + cie_length);
				len += 4 + cie_length;
				struct cie e = { k->obj, cie, cie_at };
				PUSH(cies, cie_count, e);
			}
			uint32_t at = (uint32_t)len;
			out = hp_xrealloc(out, len + 4 + length);
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
		out = hp_xrealloc(out, len + 4);
		memset(out + len, 0, 4);  /* the terminator */
		uint32_t base = hp_place(c, HP_SEG_RODATA, out, len + 4, 8);
		for (size_t i = 0; i < fix_count; i++)
			hp_add_reloc(c, HP_SEG_RODATA, base + fix[i].at, HP_RELOC_PC32, in_segment(HP_SEG_TEXT, fix[i].text),
			          fix[i].addend);
		c->d->out.eh_frame_offset = base;
		c->d->out.eh_frame_size = (uint32_t)(len + 4);
	}
	free(out);
	free(fix);
	free(cies);
	return 0;
}

/* unwind.c — the last phase: unwind information for the new code (hazard 27), the FDE of every
 * copied function with the CIE it uses, relocated to the copy.  The .eh_frame of an object is
 * input from outside: every length, pointer encoding and relocation offset in it is checked
 * before a byte of it is copied, and a malformed one is an error naming the object. */
#include "diff_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* One entry of an object's .eh_frame, as read_eh_frame checked it. */
struct eh_entry {
	uint64_t at;                      /* offset of its length field */
	uint32_t length;                  /* bytes after the length field */
	int is_cie;
	size_t cie;                       /* FDE: its CIE (an index into entries) */
	long pc_begin;                    /* FDE: its pc_begin relocation (index into rel), -1 none */
	int other_reloc;                  /* FDE: another relocation (an exception table);
	                                     CIE: any relocation (a personality routine) */
	int pc32;                         /* CIE: its FDEs' pc_begin is 32-bit pc-relative */
	int z;                            /* CIE: its FDEs have augmentation data ('z') */
};

/* The checked .eh_frame of one object. */
struct eh_frame {
	struct hp_object *obj;
	struct hp_section sec;
	struct eh_entry *entries;         /* in section order */
	size_t count;
	struct hp_reloc *rel;             /* its relocations, file order */
	long rel_count;
};

/* The function a text section holds, for notes. */
static const char *sec_symbol_name(struct copy *k)
{
	GElf_Sym s;
	const char *name;
	return hp_elf_section_symbol(&k->obj->elf, k->section, &s, &name) ? name : "(code)";
}

/* Reads a LEB128 number (either signedness: only its extent matters here) from [*at, end);
 * returns 0 and advances *at, or -1 when it runs past end. */
static int skip_leb128(const uint8_t *p, uint64_t end, uint64_t *at)
{
	while (*at < end)
		if (!(p[(*at)++] & 0x80))
			return 0;
	return -1;
}

/* Reads an unsigned LEB128 number from [*at, end) into *value (bits past 64 dropped); returns 0
 * and advances *at, or -1 when it runs past end. */
static int read_uleb128(const uint8_t *p, uint64_t end, uint64_t *at, uint64_t *value)
{
	*value = 0;
	for (unsigned shift = 0; *at < end; shift += 7) {
		uint8_t b = p[(*at)++];
		if (shift < 64)
			*value |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* The size of a pointer in a DW_EH_PE encoding, 0 for encodings a CIE of x86-64 code does not
 * use (and this reader does not accept). */
static unsigned encoded_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;  /* absptr, udata8, sdata8 */
	case 0x02: case 0x0a: return 2;             /* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;             /* udata4, sdata4 */
	default: return 0;
	}
}

/* Checks a CIE's fields (version, augmentation, the pointer encodings it names) within
 * [from, end): sets e->pc32 and e->z.  Returns NULL, or what is wrong. */
static const char *check_cie(const uint8_t *p, uint64_t from, uint64_t end, struct eh_entry *e)
{
	uint64_t at = from;
	if (at >= end)
		return "CIE without a version";
	uint8_t version = p[at++];
	if (version != 1 && version != 3)
		return "CIE version is not 1 or 3";
	uint64_t aug = at;
	while (at < end && p[at])
		at++;
	if (at >= end)
		return "CIE augmentation string is not terminated";
	at++;
	if (skip_leb128(p, end, &at) || skip_leb128(p, end, &at))
		return "CIE alignment factors run past its end";
	if (version == 1 ? at++ >= end : skip_leb128(p, end, &at))
		return "CIE return address register runs past its end";
	uint8_t fde_enc = 0;  /* DW_EH_PE_absptr unless the augmentation says otherwise */
	if (p[aug] == 'z') {
		uint64_t data = at, size;
		if (read_uleb128(p, end, &data, &size) || size > end - data)
			return "CIE augmentation data runs past its end";
		uint64_t data_end = data + size;
		for (uint64_t a = aug + 1; p[a]; a++) {
			if (p[a] == 'S')
				continue;  /* a signal frame: no data */
			if ((p[a] != 'R' && p[a] != 'L' && p[a] != 'P') || data >= data_end)
				return p[a] == 'R' || p[a] == 'L' || p[a] == 'P' ? "CIE augmentation data is too short"
				                                                  : "CIE augmentation is not one of z, R, L, P, S";
			uint8_t enc = p[data++];
			if (enc != 0xff && !encoded_size(enc))
				return "CIE names a pointer encoding that is not supported";
			if (p[a] == 'R')
				fde_enc = enc;
			else if (p[a] == 'P') {
				if (enc == 0xff || encoded_size(enc) > data_end - data)
					return "CIE personality pointer runs past its augmentation data";
				data += encoded_size(enc);
			}
		}
	} else if (p[aug]) {
		return "CIE augmentation does not begin with z";
	}
	e->z = p[aug] == 'z';
	e->pc32 = (fde_enc & 0x70) == 0x10 && encoded_size(fde_enc) == 4;
	return NULL;
}

/* The entry holding byte `off` of the section, or NULL. */
static struct eh_entry *entry_at(struct eh_frame *f, uint64_t off)
{
	size_t lo = 0, hi = f->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->entries[mid].at + 4 + f->entries[mid].length <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->count && f->entries[lo].at <= off ? &f->entries[lo] : NULL;
}

/* Walks an object's .eh_frame and its relocations, checking every length, CIE pointer, pointer
 * encoding and relocation offset.  Returns 0, or -1 with c->err naming the object. */
static int read_eh_frame(struct ctx *c, struct eh_frame *f)
{
	const char *path = f->obj->elf.path;
	const uint8_t *p = f->sec.data;
	uint64_t size = f->sec.shdr.sh_size, at = 0;
	const char *why = NULL;
	while (!why && at < size) {
		uint32_t length, id;
		if (size - at < 4) {
			why = "an entry's length runs past the end of the section";
			break;
		}
		memcpy(&length, p + at, 4);
		if (length == 0) {  /* a terminator: only the last thing in the section */
			if (size - at != 4)
				why = "a zero-length entry (a terminator) before the end of the section";
			break;
		}
		if (length == 0xffffffffu)
			why = "a 64-bit entry (not written for x86-64 code)";
		else if (length < 4 || length > size - at - 4)
			why = length < 4 ? "an entry's length is shorter than its CIE pointer"
			                 : "an entry's length reaches beyond the section";
		if (why)
			break;
		memcpy(&id, p + at + 4, 4);
		struct eh_entry e = { .at = at, .length = length, .is_cie = id == 0, .pc_begin = -1 };
		uint64_t end = at + 4 + length;
		if (e.is_cie) {
			why = check_cie(p, at + 8, end, &e);
		} else if (id > at + 4) {
			why = "an FDE's CIE pointer reaches before the section";
		} else {
			struct eh_entry *cie = entry_at(f, at + 4 - id);
			if (!cie || !cie->is_cie || cie->at != at + 4 - id)
				why = "an FDE's CIE pointer does not point at a CIE";
			else if (length < 12)
				why = "an FDE is too short for its pc_begin and pc_range";
			else {
				e.cie = (size_t)(cie - f->entries);
				uint64_t aug = at + 16, aug_size;
				if (cie->z && (read_uleb128(p, end, &aug, &aug_size) || aug_size > end - aug))
					why = "an FDE's augmentation data runs past its end";
			}
		}
		if (why)
			break;
		PUSH(f->entries, f->count, e);
		at = end;
	}
	if (!why) {
		f->rel_count = hp_elf_relocations(&f->obj->elf, f->sec.index, &f->rel);
		if (f->rel_count < 0) {
			f->rel_count = 0;
			snprintf(c->err, c->err_size, "%s: malformed .eh_frame: cannot read its relocations", path);
			return -1;
		}
	}
	for (long j = 0; !why && j < f->rel_count; j++) {
		const struct hp_reloc *r = &f->rel[j];
		uint64_t width = r->type == R_X86_64_64 || r->type == R_X86_64_PC64 ? 8 : 4;
		struct eh_entry *e = r->offset < size && width <= size - r->offset ? entry_at(f, r->offset) : NULL;
		if (!e || r->offset < e->at + 8 || r->offset + width > e->at + 4 + e->length) {
			why = "a relocation lies outside the fields of its entries";
			at = r->offset;
		} else if (e->is_cie) {
			e->other_reloc = 1;
		} else if (r->offset == e->at + 8) {
			if (!f->entries[e->cie].pc32 || r->type != R_X86_64_PC32) {
				why = "an FDE's pc_begin is not a 32-bit pc-relative pointer";
				at = e->at;
			}
			e->pc_begin = j;
		} else {
			e->other_reloc = 1;
		}
	}
	if (why) {
		snprintf(c->err, c->err_size, "%s: malformed .eh_frame: %s (at offset 0x%llx of %llu bytes)", path, why,
		         (unsigned long long)at, (unsigned long long)size);
		return -1;
	}
	return 0;
}

/* The checked .eh_frame of the copy's object, read on first use; NULL when the object has none
 * (*failed set when it is malformed). */
static struct eh_frame *frame_of(struct ctx *c, struct eh_frame **frames, size_t *count, struct hp_object *obj,
                                 int *failed)
{
	for (size_t i = 0; i < *count; i++)
		if ((*frames)[i].obj == obj)
			return (*frames)[i].sec.data ? &(*frames)[i] : NULL;
	struct eh_frame f = { .obj = obj };
	if (hp_elf_section_named(&obj->elf, ".eh_frame", &f.sec) || !f.sec.data)
		f.sec.data = NULL;
	else if (read_eh_frame(c, &f))
		*failed = 1;
	PUSH(*frames, *count, f);
	return f.sec.data && !*failed ? &(*frames)[*count - 1] : NULL;
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
	struct eh_frame *frames = NULL;
	size_t frame_count = 0;
	size_t copies = c->copy_count;
	int failed = 0;

	for (size_t i = 0; i < copies && !failed; i++) {
		struct copy *k = c->copies[i];
		if (k->segment != HP_SEG_TEXT || k->start != 0)
			continue;
		struct eh_frame *f = frame_of(c, &frames, &frame_count, k->obj, &failed);
		if (!f)
			continue;
		const uint8_t *data = f->sec.data;
		for (long j = 0; j < f->rel_count; j++) {
			/* An FDE's pc_begin: relocated against this text section. */
			const struct hp_reloc *r = &f->rel[j];
			if (GELF_ST_TYPE(r->sym.st_info) != STT_SECTION || r->sym.st_shndx != k->section)
				continue;
			struct eh_entry *fde = entry_at(f, r->offset);
			if (!fde || fde->is_cie || fde->pc_begin != j)
				continue;  /* read_eh_frame placed every relocation: this one is no pc_begin */
			const struct eh_entry *ce = &f->entries[fde->cie];
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
			/* fde->length >= 12 (read_eh_frame): the CIE pointer and pc_begin lie inside. */
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
	for (size_t i = 0; i < frame_count; i++) {
		free(frames[i].entries);
		free(frames[i].rel);
	}
	free(frames);
	free(out);
	free(fix);
	free(cies);
	return failed ? -1 : 0;
}

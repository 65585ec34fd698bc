/* eh_frame.c — reading an object's .eh_frame with every field checked (eh_frame.h). */
#include "eh_frame.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Appends a value to a growing array (out of memory ends the program: xalloc.h). */
#define PUSH(array, count, value)                                                                  \
	do {                                                                                       \
		(array) = hp_xrealloc((array), ((count) + 1) * sizeof *(array));                    \
		(array)[(count)++] = (value);                                                      \
	} while (0)

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

/* The size of a pointer in a DW_EH_PE encoding, 0 for encodings a CIE of x86-64 or AArch64
 * code does not use (and this reader does not accept). */
static unsigned encoded_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;  /* absptr, udata8, sdata8 */
	case 0x02: case 0x0a: return 2;             /* udata2, sdata2 */
	case 0x03: case 0x0b: return 4;             /* udata4, sdata4 */
	default: return 0;
	}
}

/* What .eh_frame's relocations are, by the object's machine: the 32-bit pc-relative type every
 * FDE's pc_begin carries (its CIE says pcrel|sdata4), the types that write 8 bytes, and the
 * augmentations its CIEs may have.  Read here, before hpdiff knows anything else of the object. */
struct eh_machine {
	uint16_t machine;
	uint32_t pc32;
	uint32_t wide[2];             /* the 64-bit types a table may hold */
	int b_key;                    /* the 'B' augmentation (return addresses signed with the B key) */
};

static const struct eh_machine machines[] = {
	{ EM_X86_64, R_X86_64_PC32, { R_X86_64_64, R_X86_64_PC64 }, 0 },
	{ EM_AARCH64, R_AARCH64_PREL32, { R_AARCH64_ABS64, R_AARCH64_PREL64 }, 1 },
};

static const struct eh_machine *eh_machine_of(const struct hp_elf *elf)
{
	for (size_t i = 0; i < sizeof machines / sizeof *machines; i++)
		if (machines[i].machine == elf->ehdr.e_machine)
			return &machines[i];
	return NULL;
}

/* Checks a CIE's fields (version, augmentation, the pointer encodings it names) within
 * [from, end): sets e->pc32 and e->z.  Returns NULL, or what is wrong. */
static const char *check_cie(const struct eh_machine *m, const uint8_t *p, uint64_t from, uint64_t end,
                             struct hp_eh_entry *e)
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
			if (p[a] == 'S' || (p[a] == 'B' && m->b_key))
				continue;  /* a signal frame, return addresses signed with the B key: no data */
			if ((p[a] != 'R' && p[a] != 'L' && p[a] != 'P') || data >= data_end)
				return p[a] == 'R' || p[a] == 'L' || p[a] == 'P' ? "CIE augmentation data is too short"
				       : m->b_key ? "CIE augmentation is not one of z, R, L, P, S, B"
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
struct hp_eh_entry *hp_eh_entry_at(struct hp_eh_frame *f, uint64_t off)
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

/* Walks the section and its relocations, checking every length, CIE pointer, pointer encoding
 * and relocation offset. */
static int check_eh_frame(struct hp_elf *elf, struct hp_eh_frame *f, char *err, size_t err_size)
{
	const char *path = elf->path;
	const struct eh_machine *m = eh_machine_of(elf);
	const uint8_t *p = f->sec.data;
	if (!m) {
		snprintf(err, err_size, "%s: .eh_frame of a machine hpdiff does not read (ELF machine %u)", path,
		         elf->ehdr.e_machine);
		return -1;
	}
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
			why = m->machine == EM_X86_64 ? "a 64-bit entry (not written for x86-64 code)"
			                              : "a 64-bit entry (not written for AArch64 code)";
		else if (length < 4 || length > size - at - 4)
			why = length < 4 ? "an entry's length is shorter than its CIE pointer"
			                 : "an entry's length reaches beyond the section";
		if (why)
			break;
		memcpy(&id, p + at + 4, 4);
		struct hp_eh_entry e = { .at = at, .length = length, .is_cie = id == 0, .pc_begin = -1 };
		uint64_t end = at + 4 + length;
		if (e.is_cie) {
			why = check_cie(m, p, at + 8, end, &e);
		} else if (id > at + 4) {
			why = "an FDE's CIE pointer reaches before the section";
		} else {
			struct hp_eh_entry *cie = hp_eh_entry_at(f, at + 4 - id);
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
		f->rel_count = hp_elf_relocations(elf, f->sec.index, &f->rel);
		if (f->rel_count < 0) {
			f->rel_count = 0;
			snprintf(err, err_size, "%s: malformed .eh_frame: cannot read its relocations", path);
			return -1;
		}
	}
	for (long j = 0; !why && j < f->rel_count; j++) {
		const struct hp_reloc *r = &f->rel[j];
		uint64_t width = r->type == m->wide[0] || r->type == m->wide[1] ? 8 : 4;
		struct hp_eh_entry *e = r->offset < size && width <= size - r->offset ? hp_eh_entry_at(f, r->offset) : NULL;
		if (!e || r->offset < e->at + 8 || r->offset + width > e->at + 4 + e->length) {
			why = "a relocation lies outside the fields of its entries";
			at = r->offset;
		} else if (e->is_cie) {
			e->other_reloc = 1;
		} else if (r->offset == e->at + 8) {
			if (!f->entries[e->cie].pc32 || r->type != m->pc32) {
				why = "an FDE's pc_begin is not a 32-bit pc-relative pointer";
				at = e->at;
			}
			e->pc_begin = j;
		} else {
			e->other_reloc = 1;
		}
	}
	if (why) {
		snprintf(err, err_size, "%s: malformed .eh_frame: %s (at offset 0x%llx of %llu bytes)", path, why,
		         (unsigned long long)at, (unsigned long long)size);
		return -1;
	}
	return 0;
}

int hp_eh_frame_read(struct hp_elf *elf, struct hp_eh_frame *f, char *err, size_t err_size)
{
	memset(f, 0, sizeof *f);
	if (hp_elf_section_named(elf, ".eh_frame", &f->sec) || !f->sec.data) {
		f->sec.data = NULL;
		return 0;
	}
	return check_eh_frame(elf, f, err, err_size);
}

void hp_eh_frame_free(struct hp_eh_frame *f)
{
	free(f->entries);
	free(f->rel);
	memset(f, 0, sizeof *f);
}

/* arch_x86_64.c — hpdiff's facts of x86-64 code (arch.h): its relocation types, what the
 * linker may have made of a GOT reference in the old module (relaxed mov -> lea, call * ->
 * addr32 call), the `jmp *slot(%rip)` stub (contract/site.h), its PLT entries, and thread-local
 * references bound to the running module's own TLS (variant II: the static block ends at %fs:0). */
#include "arch.h"
#include "diff_internal.h"

#include <stdio.h>

/* The bytes an x86-64 relocation of an object writes. */
static uint8_t reloc_width(uint32_t type)
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
		return 4;  /* every other type this reads (resolve refuses the rest) */
	}
}

static struct hp_form form(uint32_t type)
{
	struct hp_form f = { .width = reloc_width(type) };
	switch (type) {
	case R_X86_64_NONE:
		f.how = HP_FORM_NONE;
		break;
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
	case R_X86_64_TLSGD:
	case R_X86_64_TLSLD:
	case R_X86_64_DTPOFF32:
	case R_X86_64_DTPOFF64:
		f.how = HP_FORM_TLS;
		break;
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		f = (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_PC32, 4, 4, 1, 0 };
		break;
	case R_X86_64_GOTPCREL:
	case R_X86_64_GOTPCRELX:
	case R_X86_64_REX_GOTPCRELX:
		f = (struct hp_form){ HP_FORM_GOT, HP_RELOC_PC32, 4, 4, 1, 0 };
		break;
	case R_X86_64_64:
		f = (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_ABS64, 8, 0, 0, 0 };
		break;
	case R_X86_64_32:
		f = (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_ABS32, 4, 0, 0, 0 };
		break;
	case R_X86_64_32S:
		f = (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_ABS32S, 4, 0, 0, 0 };
		break;
	default:
		f.how = HP_FORM_UNKNOWN;
		break;
	}
	return f;
}

/* call rel32, jmp rel32, jcc rel32: the field's opcode precedes it. */
static int is_direct(const struct hp_form *f, const uint8_t *code, uint64_t offset)
{
	if (f->how != HP_FORM_ADDRESS || f->kind != HP_RELOC_PC32)
		return 0;
	return (offset >= 1 && (code[offset - 1] == 0xe8 || code[offset - 1] == 0xe9)) ||
	       (offset >= 2 && code[offset - 2] == 0x0f && (code[offset - 1] & 0xf0) == 0x80);
}

/* A reference through the GOT (mov/call x@GOTPCREL(%rip)) in new code, against the old module's
 * bytes: 1 when the linker relaxed it there to a direct reference (mov -> lea, call * -> addr32
 * call: then checked as a pc-relative reference), 2 when the opcode is unchanged (it goes through
 * a slot of the old module, which the comparison checks is the symbol's), 0 when neither. */
static int got_reference(const struct hp_reloc *r, const uint8_t *now, const uint8_t *was, size_t at, uint64_t size)
{
	if (at < 2 || at + 4 > size || !r->sym_name[0])
		return 0;
	if (now[at - 2] == was[at - 2] && now[at - 1] == was[at - 1])
		return 2;
	if (now[at - 2] == 0x8b && was[at - 2] == 0x8d)
		return 1;
	if (now[at - 2] == 0xff && now[at - 1] == 0x15 && was[at - 2] == 0x67 && was[at - 1] == 0xe8)
		return 1;
	return 0;
}

static int old_field(struct ctx *c, const struct hp_code_pair *p, long j, struct hp_field *out)
{
	(void)c;
	const struct hp_reloc *r = &p->rel[j];
	size_t at = (size_t)(r->offset - p->start);
	uint64_t place = p->base + at;
	int width = r->type == R_X86_64_64 ? 8 : 4;
	int pcrel = r->type == R_X86_64_PC32 || r->type == R_X86_64_PLT32;
	if (r->type == R_X86_64_GOTPCREL || r->type == R_X86_64_GOTPCRELX || r->type == R_X86_64_REX_GOTPCRELX) {
		int got = got_reference(r, p->now, p->was, at, p->size);
		if (got <= 0)
			return 0;
		memset(p->covered + at - 2, 1, 6);
		if (got == 2) {
			int32_t field;
			memcpy(&field, p->was + at, 4);
			*out = (struct hp_field){ HP_FIELD_GOT, place + (uint64_t)(int64_t)field, 1 };
			return 1;
		}
		pcrel = 1;  /* relaxed by the linker to a direct reference: checked as one */
	}
	if ((!pcrel && r->type != R_X86_64_64 && r->type != R_X86_64_32S && r->type != R_X86_64_32) ||
	    at + (size_t)width > p->size)
		return 0;  /* TLS: resolved differently by the linker */
	memset(p->covered + at, 1, (size_t)width);
	uint64_t field = 0;
	memcpy(&field, p->was + at, (size_t)width);
	if (width == 4)
		field = pcrel || r->type == R_X86_64_32S ? (uint64_t)(int64_t)(int32_t)field : (uint32_t)field;
	*out = (struct hp_field){ HP_FIELD_ADDRESS, field + (pcrel ? place : 0), pcrel };
	return 1;
}

static int data_field(uint32_t type, const uint8_t *bytes, size_t room, uint64_t place, uint64_t *value, int *width,
                      int *pcrel)
{
	*pcrel = type == R_X86_64_PC32;
	*width = type == R_X86_64_64 ? 8 : 4;
	if ((!*pcrel && type != R_X86_64_64 && type != R_X86_64_32 && type != R_X86_64_32S) || (size_t)*width > room)
		return 0;
	uint64_t field = 0;
	memcpy(&field, bytes, (size_t)*width);
	if (*width == 4)
		field = *pcrel || type == R_X86_64_32S ? (uint64_t)(int64_t)(int32_t)field : (uint32_t)field;
	*value = field + (*pcrel ? place : 0);
	return 1;
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
 * already uses. */
static int resolve_tls(struct ctx *c, int seg, uint32_t where, const struct hp_reloc *r, const char *name,
                       const char *unit)
{
	const struct hp_symbol *old = *name ? hp_elf_find_symbol(&c->old->elf, name) : NULL;
	const struct hp_dynreloc *slot;
	int64_t off;
	switch (r->type) {
	case R_X86_64_TPOFF32:
	case R_X86_64_GOTTPOFF:
		if (c->old->elf.is_program) {
			if (tls_offset(c, name, &off)) {
				hp_refuse(c, "variable", name, unit, "thread-local variable not found in the running module");
				return 1;
			}
			if (r->type == R_X86_64_TPOFF32) {
				hp_add_reloc(c, seg, where, HP_RELOC_ABS32S, absolute(off), r->addend);
			} else {
				struct slot *s = hp_slot_for(c, absolute(off), 0);
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
			hp_refuse(c, "variable", name, unit, "thread-local variable not found in the running module");
			return 1;
		}
		hp_add_reloc(c, seg, where, r->type == R_X86_64_DTPOFF64 ? HP_RELOC_ABS64 : HP_RELOC_ABS32S,
		             absolute((int64_t)old->value), r->addend);
		return 0;
	}
	if (!slot || r->type == R_X86_64_TPOFF32) {
		hp_refuse(c, "variable", name, unit, "the running module has no thread-local entry for it to share");
		return 1;
	}
	hp_add_reloc(c, seg, where, HP_RELOC_PC32, in_module(slot->offset), r->addend);
	return 0;
}

/* `jmp *slot(%rip)` as the runtime writes it into a padding (contract/site.h), its displacement
 * filled by a relocation to the slot. */
static uint8_t slot_jump[HP_X86_64_SLOT_JUMP_SIZE];

static const struct hp_stub *stub(void)
{
	static struct hp_stub s = { slot_jump, HP_X86_64_SLOT_JUMP_SIZE, 8, 1,
		                    { { HP_X86_64_SLOT_JUMP_DISP, HP_RELOC_PC32,
		                        -(HP_X86_64_SLOT_JUMP_END - HP_X86_64_SLOT_JUMP_DISP) } } };
	hp_site_slot_jump(0, 0, slot_jump);  /* the slot at the jump's end: displacement 0 */
	return &s;
}

const struct hp_arch hp_arch_x86_64 = {
	.site = &hp_site_x86_64,
	.pkg_arch = HP_ARCH_X86_64,
	.text_fill = { HP_X86_64_SITE_TRAP, HP_X86_64_SITE_TRAP, HP_X86_64_SITE_TRAP, HP_X86_64_SITE_TRAP },
	.r_glob_dat = R_X86_64_GLOB_DAT,
	.r_jump_slot = R_X86_64_JUMP_SLOT,
	.r_abs64 = R_X86_64_64,
	.r_relative = 0,
	.jump_slot_is_address = 1,
	.merged_by_section = 0,
	.stub = stub,
	.form = form,
	.is_direct = is_direct,
	.old_field = old_field,
	.data_field = data_field,
	.stub_slot = hp_elf_stub_slot,
	.line_immediate = NULL,
	.resolve_tls = resolve_tls,
};

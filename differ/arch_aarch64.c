/* arch_aarch64.c — hpdiff's facts of AArch64 code (arch.h).
 *
 * Every reference in AArch64 code is a field inside a 4-byte instruction: B and BL (±128 MiB),
 * B.cond, CBZ and TBZ (±1 MiB, ±32 KiB), and addresses built from two instructions, an ADRP
 * (the target's 4 KiB page, ±4 GiB) and an ADD, LDR or STR holding its low 12 bits.  The package
 * carries each field as its own relocation (contract/reloc.c encodes them); this file maps the
 * object's relocation types to those, and reads the old module's code back for the comparison:
 * the low 12 bits alone say nothing, so a pair's two halves are read together, and what the
 * linker relaxed (ADRP + ADD into NOP + ADR, a GOT load into an ADD) is recognised.  Every field
 * read back is checked by encoding the value found into the new instruction (hp_reloc_write) and
 * comparing the whole word with the old one, so the instruction's other bits are compared too.
 *
 * Thread-local variables: the executable's own (local-exec, initial-exec, and descriptors of code
 * built with -fPIC) at their offset from the thread pointer (TLS variant I: the block follows a
 * 16-byte control block, aligned); a shared library's through the GOT entries its dynamic TLS
 * already has (TLSDESC, the traditional general dynamic, initial-exec). */
#include "arch.h"
#include "diff_internal.h"

#include <stdio.h>

#include "reloc.h"

#define NOP HP_AARCH64_NOP
#define BTI_C 0xd503245fu

static uint32_t word(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_word(uint8_t *p, uint32_t w)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(w >> (8 * i));
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
	uint64_t m = (uint64_t)1 << (bits - 1);
	return (int64_t)((v & ((m << 1) - 1)) ^ m) - (int64_t)m;
}

static int is_adrp(uint32_t w) { return (w & 0x9f000000u) == 0x90000000u; }
static int is_adr(uint32_t w) { return (w & 0x9f000000u) == 0x10000000u; }
static int is_add_x_imm(uint32_t w) { return (w & 0xffc00000u) == 0x91000000u; }  /* ADD Xd, Xn, #imm12 */
static int is_ldr_x_imm(uint32_t w) { return (w & 0xffc00000u) == 0xf9400000u; }  /* LDR Xt, [Xn, #imm12*8] */
static unsigned reg_d(uint32_t w) { return w & 31; }
static unsigned reg_n(uint32_t w) { return (w >> 5) & 31; }

/* ADR's and ADRP's 21-bit immediate (immhi:immlo), signed. */
static int64_t adr_imm(uint32_t w)
{
	return sign_extend((uint64_t)((w >> 5) & 0x7ffff) << 2 | ((w >> 29) & 3), 21);
}

static int is_page(unsigned kind) { return kind == HP_RELOC_A64_ADR_PAGE21; }

static int is_low12(unsigned kind)
{
	return kind == HP_RELOC_A64_ADD_LO12 || (kind >= HP_RELOC_A64_LDST8_LO12 && kind <= HP_RELOC_A64_LDST128_LO12);
}

static int is_branch(unsigned kind)
{
	return kind == HP_RELOC_A64_BRANCH26 || kind == HP_RELOC_A64_CONDBR19 || kind == HP_RELOC_A64_TSTBR14;
}

/* The low 12 bits of an address a low-12 field of that kind holds (scaled by its access size). */
static uint64_t low12(unsigned kind, uint32_t w)
{
	unsigned scale = kind == HP_RELOC_A64_ADD_LO12 ? 0 : kind - HP_RELOC_A64_LDST8_LO12;
	return (uint64_t)((w >> 10) & 0xfff) << scale;
}

/* A branch's target, from its place. */
static uint64_t branch_target(unsigned kind, uint32_t w, uint64_t place)
{
	int64_t words = kind == HP_RELOC_A64_BRANCH26 ? sign_extend(w & 0x3ffffff, 26)
	                : kind == HP_RELOC_A64_CONDBR19 ? sign_extend((w >> 5) & 0x7ffff, 19)
	                                                : sign_extend((w >> 5) & 0x3fff, 14);
	return place + (uint64_t)(words * 4);
}

static struct hp_form form(uint32_t type)
{
	struct hp_form f = { .how = HP_FORM_ADDRESS, .width = 4, .near = 1 };
	switch (type) {
	case R_AARCH64_NONE:
		return (struct hp_form){ .how = HP_FORM_NONE };
	case R_AARCH64_ABS64:
		return (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_ABS64, 8, 0, 0, 0 };
	case R_AARCH64_ABS32:
		return (struct hp_form){ HP_FORM_ADDRESS, HP_RELOC_ABS32, 4, 0, 0, 0 };
	case R_AARCH64_PREL32:
		f.kind = HP_RELOC_PC32;
		break;
	case R_AARCH64_CALL26:
	case R_AARCH64_JUMP26:
		f.kind = HP_RELOC_A64_BRANCH26;
		f.branch = 1;
		break;
	case R_AARCH64_CONDBR19:
		f.kind = HP_RELOC_A64_CONDBR19;
		f.branch = 1;
		break;
	case R_AARCH64_TSTBR14:
		f.kind = HP_RELOC_A64_TSTBR14;
		f.branch = 1;
		break;
	case R_AARCH64_ADR_PREL_PG_HI21:
	case R_AARCH64_ADR_PREL_PG_HI21_NC:
		f.kind = HP_RELOC_A64_ADR_PAGE21;
		break;
	case R_AARCH64_ADD_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_ADD_LO12;
		break;
	case R_AARCH64_LDST8_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_LDST8_LO12;
		break;
	case R_AARCH64_LDST16_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_LDST16_LO12;
		break;
	case R_AARCH64_LDST32_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_LDST32_LO12;
		break;
	case R_AARCH64_LDST64_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_LDST64_LO12;
		break;
	case R_AARCH64_LDST128_ABS_LO12_NC:
		f.kind = HP_RELOC_A64_LDST128_LO12;
		break;
	case R_AARCH64_ADR_GOT_PAGE:
		f.how = HP_FORM_GOT;
		f.kind = HP_RELOC_A64_ADR_PAGE21;
		break;
	case R_AARCH64_LD64_GOT_LO12_NC:
		f.how = HP_FORM_GOT;
		f.kind = HP_RELOC_A64_LDST64_LO12;
		break;
	case R_AARCH64_TLSDESC_CALL:
		/* Marks the BLR of a TLS descriptor call for the linker's relaxations: nothing to bind. */
		return (struct hp_form){ .how = HP_FORM_NONE };
	default:
		if (type >= R_AARCH64_TLSGD_ADR_PREL21 && type <= R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC)
			return (struct hp_form){ .how = HP_FORM_TLS, .width = 4 };
		return (struct hp_form){ .how = HP_FORM_UNKNOWN, .width = type == R_AARCH64_PREL64 ? 8 : 4 };
	}
	return f;
}

static int is_direct(const struct hp_form *f, const uint8_t *code, uint64_t offset)
{
	(void)code;
	(void)offset;
	return f->branch;
}

/* Whether the old instruction is the new one with value encoded in its field (every other bit
 * the same), as the runtime would encode it at place. */
static int encodes(unsigned kind, uint32_t now, uint32_t was, uint64_t value, uint64_t place)
{
	uint8_t w[4];
	const char *why;
	put_word(w, now);
	return hp_reloc_write(kind, w, value, place, &why) == 0 && word(w) == was;
}

static int same_symbol(const struct hp_reloc *a, const struct hp_reloc *b)
{
	return a->addend == b->addend && a->sym.st_shndx == b->sym.st_shndx && a->sym.st_value == b->sym.st_value &&
	       a->sym.st_info == b->sym.st_info && !strcmp(a->sym_name, b->sym_name);
}

/* Whether relocation k is the other half of relocation j's ADRP + low-12 pair: the same symbol
 * and addend, the same form (both through the GOT or neither), the other half's kind. */
static int halves(const struct hp_code_pair *p, long j, long k)
{
	const struct hp_reloc *r = &p->rel[j], *q = &p->rel[k];
	struct hp_form f = form(r->type), g = form(q->type);
	return g.how == f.how && (is_page(f.kind) ? is_low12(g.kind) : is_page(g.kind)) && same_symbol(r, q);
}

/* The other half of relocation j's pair: at offset `exact` when that is not -1 (a pair the linker
 * relaxed is two adjacent instructions); otherwise the nearest before it for a low half (its ADRP
 * comes first) and after it for a page, else the nearest on the other side.  The relocations
 * are sorted by offset, so each side is searched outwards from j.  -1 when none. */
static long partner(const struct hp_code_pair *p, long j, int64_t exact)
{
	const struct hp_reloc *r = &p->rel[j];
	if (exact != -1) {
		for (long k = exact < (int64_t)r->offset ? j - 1 : j + 1; k >= 0 && k < p->count;
		     k += exact < (int64_t)r->offset ? -1 : 1) {
			if ((int64_t)p->rel[k].offset == exact && halves(p, j, k))
				return k;
			if (exact < (int64_t)r->offset ? (int64_t)p->rel[k].offset < exact : (int64_t)p->rel[k].offset > exact)
				break;
		}
		return -1;
	}
	int low = !is_page(form(r->type).kind);
	for (int side = 0; side < 2; side++) {
		int back = side == 0 ? low : !low;
		for (long k = back ? j - 1 : j + 1; k >= 0 && k < p->count; k += back ? -1 : 1)
			if (halves(p, j, k))
				return k;
	}
	return -1;
}

/* The ADRP half: the page it holds in the old code and, from its partner, the whole address. */
static int page_field(const struct hp_code_pair *p, long j, struct hp_form f, struct hp_field *out)
{
	const struct hp_reloc *r = &p->rel[j];
	size_t at = (size_t)(r->offset - p->start);
	uint64_t place = p->base + at;
	uint32_t now = word(p->now + at), was = word(p->was + at);
	if (was == NOP) {
		/* ADRP + ADD relaxed to NOP + ADR: the ADR, next, holds the whole address. */
		if (at + 8 > p->size || partner(p, j, (int64_t)r->offset + 4) < 0)
			return 0;
		uint32_t adr = word(p->was + at + 4);
		if (!is_adr(adr) || reg_d(adr) != reg_d(now))
			return 0;
		*out = (struct hp_field){ HP_FIELD_ADDRESS, place + 4 + (uint64_t)adr_imm(adr), 1 };
	} else {
		long k = partner(p, j, -1);
		if (k < 0 || !is_adrp(was))
			return 0;
		size_t at2 = (size_t)(p->rel[k].offset - p->start);
		if (at2 + 4 > p->size)
			return 0;
		uint32_t low = word(p->was + at2);
		uint64_t page = (place & ~(uint64_t)0xfff) + (uint64_t)(adr_imm(was) * 4096);
		if (f.how == HP_FORM_GOT && is_add_x_imm(low))  /* the GOT load relaxed to an ADD */
			*out = (struct hp_field){ HP_FIELD_ADDRESS, page + low12(HP_RELOC_A64_ADD_LO12, low), 1 };
		else
			*out = (struct hp_field){ f.how == HP_FORM_GOT ? HP_FIELD_GOT : HP_FIELD_ADDRESS,
				                  page + low12(form(p->rel[k].type).kind, low), 1 };
		if (!encodes(HP_RELOC_A64_ADR_PAGE21, now, was, out->value, place))
			return 0;
	}
	memset(p->covered + at, 1, 4);
	return 1;
}

/* The low half: its 12 bits in the old code and, from its ADRP, the whole address. */
static int low_field(const struct hp_code_pair *p, long j, struct hp_form f, struct hp_field *out)
{
	const struct hp_reloc *r = &p->rel[j];
	size_t at = (size_t)(r->offset - p->start);
	uint64_t place = p->base + at;
	uint32_t now = word(p->now + at), was = word(p->was + at);
	if (is_adr(was)) {
		/* NOP + ADR: only an ADD (or a GOT load first relaxed to one) becomes an ADR. */
		if ((f.kind != HP_RELOC_A64_ADD_LO12 && f.how != HP_FORM_GOT) || at < 4 ||
		    word(p->was + at - 4) != NOP || partner(p, j, (int64_t)r->offset - 4) < 0 || reg_d(was) != reg_d(now))
			return 0;
		*out = (struct hp_field){ HP_FIELD_ADDRESS, place + (uint64_t)adr_imm(was), 1 };
	} else {
		long k = partner(p, j, -1);
		if (k < 0)
			return 0;
		size_t at1 = (size_t)(p->rel[k].offset - p->start);
		uint32_t adrp = at1 + 4 <= p->size ? word(p->was + at1) : 0;
		if (!is_adrp(adrp))
			return 0;
		uint64_t page = ((p->base + at1) & ~(uint64_t)0xfff) + (uint64_t)(adr_imm(adrp) * 4096);
		if (f.how == HP_FORM_GOT && is_add_x_imm(was) && is_ldr_x_imm(now)) {
			/* ldr Xt, [Xn, :got_lo12:S] relaxed to add Xt, Xn, :lo12:S */
			uint32_t add = 0x91000000u | reg_n(now) << 5 | reg_d(now);
			*out = (struct hp_field){ HP_FIELD_ADDRESS, page + low12(HP_RELOC_A64_ADD_LO12, was), 1 };
			if (!encodes(HP_RELOC_A64_ADD_LO12, add, was, out->value, place))
				return 0;
		} else {
			*out = (struct hp_field){ f.how == HP_FORM_GOT ? HP_FIELD_GOT : HP_FIELD_ADDRESS,
				                  page + low12(f.kind, was), 1 };
			if (!encodes(f.kind, now, was, out->value, place))
				return 0;
		}
	}
	memset(p->covered + at, 1, 4);
	return 1;
}

static int data_field(uint32_t type, const uint8_t *bytes, size_t room, uint64_t place, uint64_t *value, int *width,
                      int *pcrel)
{
	*pcrel = type == R_AARCH64_PREL32;
	*width = type == R_AARCH64_ABS64 ? 8 : 4;
	if ((!*pcrel && type != R_AARCH64_ABS64 && type != R_AARCH64_ABS32) || (size_t)*width > room)
		return 0;
	uint64_t field = 0;
	memcpy(&field, bytes, (size_t)*width);
	if (*width == 4)
		field = *pcrel ? (uint64_t)(int64_t)(int32_t)field : (uint32_t)field;
	*value = field + (*pcrel ? place : 0);
	return 1;
}

static int old_field(struct ctx *c, const struct hp_code_pair *p, long j, struct hp_field *out)
{
	(void)c;
	const struct hp_reloc *r = &p->rel[j];
	struct hp_form f = form(r->type);
	size_t at = (size_t)(r->offset - p->start);
	uint64_t place = p->base + at;
	if ((f.how != HP_FORM_ADDRESS && f.how != HP_FORM_GOT) || at + f.width > p->size)
		return 0;  /* thread-local references are resolved differently by the linker */
	if (is_branch(f.kind)) {
		uint32_t now = word(p->now + at), was = word(p->was + at);
		*out = (struct hp_field){ HP_FIELD_ADDRESS, branch_target(f.kind, was, place), 1 };
		if (!encodes(f.kind, now, was, out->value, place))
			return 0;
		memset(p->covered + at, 1, 4);
		return 1;
	}
	if (is_page(f.kind))
		return page_field(p, j, f, out);
	if (is_low12(f.kind))
		return low_field(p, j, f, out);
	int width, pcrel;
	if (!data_field(r->type, p->was + at, p->size - at, place, &out->value, &width, &pcrel))
		return 0;
	out->how = HP_FIELD_ADDRESS;
	out->pcrel = pcrel;
	memset(p->covered + at, 1, (size_t)width);
	return 1;
}

/* The instructions a __LINE__ value becomes: MOVZ (bits 5-20, no shift) and ADD, SUB, ADDS, SUBS
 * and so CMP and CMN with an unshifted 12-bit immediate (bits 10-21). */
static int line_immediate(uint32_t was, uint32_t now, uint64_t *old_value, uint64_t *new_value)
{
	uint32_t field;
	unsigned shift;
	if ((was & 0x7fe00000u) == 0x52800000u) {  /* MOVZ, hw 0 */
		field = 0xffffu << 5;
		shift = 5;
	} else if ((was & 0x1fc00000u) == 0x11000000u) {  /* ADD/SUB (immediate), sh 0 */
		field = 0xfffu << 10;
		shift = 10;
	} else {
		return 0;
	}
	if ((was & ~field) != (now & ~field))
		return 0;
	*old_value = (was & field) >> shift;
	*new_value = (now & field) >> shift;
	return 1;
}

/* A PLT entry: [bti c,] adrp x16, page; ldr x17, [x16, #low]; add x16, x16, #low; br x17. */
static int stub_slot(struct hp_elf *elf, uint64_t addr, uint64_t *slot)
{
	const uint8_t *code = hp_elf_bytes_at(elf, addr, 8);
	if (!code)
		return 0;
	if (word(code) == BTI_C) {
		addr += 4;
		code = hp_elf_bytes_at(elf, addr, 8);
		if (!code)
			return 0;
	}
	uint32_t adrp = word(code), ldr = word(code + 4);
	if (!is_adrp(adrp) || reg_d(adrp) != 16 || (ldr & 0xffc003ffu) != 0xf9400211u)
		return 0;
	*slot = (addr & ~(uint64_t)0xfff) + (uint64_t)(adr_imm(adrp) * 4096) + low12(HP_RELOC_A64_LDST64_LO12, ldr);
	return 1;
}

/* The offset from the thread pointer of a thread-local variable of the running executable: TLS
 * variant I puts the executable's block after the 16-byte thread control block, at the first
 * offset congruent to the segment's address modulo its alignment (how the linker computed its
 * own local-exec offsets, and the C library places the block). */
static int tls_offset(struct ctx *c, const char *name, int64_t *out)
{
	const struct hp_symbol *s = hp_elf_find_symbol(&c->old->elf, name);
	const GElf_Phdr *tls = &c->old->elf.tls;
	if (!s || s->type != STT_TLS || tls->p_type != PT_TLS)
		return -1;
	uint64_t align = tls->p_align ? tls->p_align : 1;
	if (align & (align - 1))
		return -1;
	*out = (int64_t)(s->value + 16 + ((tls->p_vaddr - 16) & (align - 1)));
	return 0;
}

/* The old module's dynamic TLS entry of that type for the variable: by name, or for a variable
 * of its own that is not exported, the entry without a symbol whose addend is its offset in the
 * module's block. */
static const struct hp_dynreloc *tls_entry(struct ctx *c, uint32_t type, const char *name, int64_t addend)
{
	const struct hp_dynreloc *d = hp_old_slot(c, name, type, type);
	if (d && d->addend == addend)
		return d;
	const struct hp_symbol *s = hp_elf_find_symbol(&c->old->elf, name);
	if (!s || s->type != STT_TLS || s->bind != STB_LOCAL)
		return NULL;
	for (size_t i = 0; i < c->dyn_count; i++)
		if (c->dyn[i].type == type && !c->dyn[i].name[0] && c->dyn[i].addend == (int64_t)s->value + addend)
			return &c->dyn[i];
	return NULL;
}

/* Whether a local-exec offset fits the instruction: the high half of an ADD pair holds bits
 * 12-23, a checked low half bits 0-11. */
static int tls_fits(uint32_t type, int64_t value)
{
	if (value < 0)
		return 0;
	switch (type) {
	case R_AARCH64_TLSLE_ADD_TPREL_HI12:
		return value < (1 << 24);
	case R_AARCH64_TLSLE_ADD_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST8_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST16_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST32_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST64_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST128_TPREL_LO12:
		return value < (1 << 12);
	default:
		return 1;
	}
}

/* The low-12 kind a local-exec relocation writes; 0 for the types that are not one. */
static unsigned local_exec_kind(uint32_t type)
{
	switch (type) {
	case R_AARCH64_TLSLE_ADD_TPREL_HI12:
	case R_AARCH64_TLSLE_ADD_TPREL_LO12:
	case R_AARCH64_TLSLE_ADD_TPREL_LO12_NC:
		return HP_RELOC_A64_ADD_LO12;
	case R_AARCH64_TLSLE_LDST8_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST8_TPREL_LO12_NC:
		return HP_RELOC_A64_LDST8_LO12;
	case R_AARCH64_TLSLE_LDST16_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST16_TPREL_LO12_NC:
		return HP_RELOC_A64_LDST16_LO12;
	case R_AARCH64_TLSLE_LDST32_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST32_TPREL_LO12_NC:
		return HP_RELOC_A64_LDST32_LO12;
	case R_AARCH64_TLSLE_LDST64_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC:
		return HP_RELOC_A64_LDST64_LO12;
	case R_AARCH64_TLSLE_LDST128_TPREL_LO12:
	case R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC:
		return HP_RELOC_A64_LDST128_LO12;
	default:
		return 0;
	}
}

/* The kind of the GOT-style halves: the ADRP of an entry, and the LDR or ADD of its low bits. */
static unsigned entry_kind(uint32_t type)
{
	switch (type) {
	case R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21:
	case R_AARCH64_TLSDESC_ADR_PAGE21:
	case R_AARCH64_TLSGD_ADR_PAGE21:
		return HP_RELOC_A64_ADR_PAGE21;
	case R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC:
	case R_AARCH64_TLSDESC_LD64_LO12:
		return HP_RELOC_A64_LDST64_LO12;
	case R_AARCH64_TLSDESC_ADD_LO12:
	case R_AARCH64_TLSGD_ADD_LO12_NC:
		return HP_RELOC_A64_ADD_LO12;
	default:
		return 0;
	}
}

/* Where the package's slots of these kinds are (struct slot, kind: beside the HP_TARGET_* ones). */
enum { TLS_RESOLVER = 0xfe, TLS_DESCRIPTOR = 0xfd };

/* A TLS descriptor in the package for an offset from the thread pointer, once per offset: its
 * function returns the offset held in its second word, as the C library's own resolver for
 * static TLS does; bti c first, since the code calls it with BLR. */
static uint32_t tls_descriptor(struct ctx *c, int64_t value)
{
	static const uint8_t resolver[12] = { 0x5f, 0x24, 0x03, 0xd5,    /* bti c */
		                              0x00, 0x04, 0x40, 0xf9,    /* ldr x0, [x0, #8] */
		                              0xc0, 0x03, 0x5f, 0xd6 };  /* ret */
	static const uint8_t zero[16];
	uint32_t code = UINT32_MAX;
	for (size_t i = 0; i < c->slot_count; i++) {
		if (c->slots[i].kind == TLS_DESCRIPTOR && c->slots[i].value == (uint64_t)value)
			return c->slots[i].offset;
		if (c->slots[i].kind == TLS_RESOLVER)
			code = c->slots[i].stub;
	}
	if (code == UINT32_MAX) {
		struct slot s = { TLS_RESOLVER, 0, 0, 0, hp_place(c, HP_SEG_TEXT, resolver, sizeof resolver, 4) };
		code = s.stub;
		PUSH(c->slots, c->slot_count, s);
	}
	struct slot d = { TLS_DESCRIPTOR, 0, (uint64_t)value, hp_place(c, HP_SEG_RODATA, zero, 16, 16), UINT32_MAX };
	PUSH(c->slots, c->slot_count, d);
	hp_add_reloc(c, HP_SEG_RODATA, d.offset, HP_RELOC_ABS64, in_segment(HP_SEG_TEXT, code), 0);
	hp_add_reloc(c, HP_SEG_RODATA, d.offset + 8, HP_RELOC_ABS64, absolute(value), 0);
	return d.offset;
}

static int resolve_tls(struct ctx *c, int seg, uint32_t where, const struct hp_reloc *r, const char *name,
                       const char *unit)
{
	unsigned le = local_exec_kind(r->type), entry = entry_kind(r->type);
	int ie = r->type == R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21 || r->type == R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC;
	int desc = r->type == R_AARCH64_TLSDESC_ADR_PAGE21 || r->type == R_AARCH64_TLSDESC_LD64_LO12 ||
	           r->type == R_AARCH64_TLSDESC_ADD_LO12;
	int64_t off;
	if (!le && !entry) {
		/* The package has no relocation for a MOVZ/MOVK immediate (-mtls-size above 24 bits) nor
		 * for local-dynamic offsets: said once per variable, whichever half met first. */
		hp_refuse(c, "variable", *name ? name : "(thread-local)", unit,
		          "a thread-local access hpdiff cannot bind (MOVZ/MOVK offsets, local-dynamic): build with the "
		          "default TLS dialect (descriptors) and the default TLS size (-mtls-size=24)");
		return 1;
	}
	if ((le || ie || desc) && c->old->elf.is_program) {
		if (tls_offset(c, name, &off)) {
			hp_refuse(c, "variable", name, unit, "thread-local variable not found in the running module");
			return 1;
		}
		int64_t value = off + r->addend;
		if (!tls_fits(r->type, value)) {
			hp_refuse(c, "variable", name, unit,
			          "its offset from the thread pointer (0x%llx) does not fit the instruction that reaches it",
			          (unsigned long long)value);
			return 1;
		}
		if (r->type == R_AARCH64_TLSLE_ADD_TPREL_HI12) {
			/* The ADD's immediate is shifted by 12: it takes bits 12-23 as its low 12. */
			hp_add_reloc(c, seg, where, HP_RELOC_A64_ADD_LO12, absolute(value >> 12), 0);
		} else if (le) {
			hp_add_reloc(c, seg, where, le, absolute(off), r->addend);
		} else if (desc) {
			/* Code built for a library (-fPIC) in the executable: the linker had made its
			 * descriptor calls local-exec; the package brings a descriptor of its own. */
			hp_add_reloc(c, seg, where, entry, in_segment(HP_SEG_RODATA, tls_descriptor(c, value)), 0);
		} else {
			/* Initial exec: a slot in the package holds the offset, reached as a GOT entry. */
			struct slot *s = hp_slot_for(c, absolute(value), 0);
			hp_add_reloc(c, seg, where, entry, in_segment(HP_SEG_RODATA, s->offset), 0);
		}
		return 0;
	}
	const struct hp_dynreloc *slot = NULL;
	if (ie)
		slot = tls_entry(c, R_AARCH64_TLS_TPREL, name, r->addend);
	else if (r->type == R_AARCH64_TLSGD_ADR_PAGE21 || r->type == R_AARCH64_TLSGD_ADD_LO12_NC)
		slot = tls_entry(c, R_AARCH64_TLS_DTPMOD, name, 0);
	else if (!le)
		slot = tls_entry(c, R_AARCH64_TLSDESC, name, r->addend);
	if (!slot || (r->addend && (r->type == R_AARCH64_TLSGD_ADR_PAGE21 || r->type == R_AARCH64_TLSGD_ADD_LO12_NC))) {
		hp_refuse(c, "variable", name, unit, "the running module has no thread-local entry for it to share");
		return 1;
	}
	hp_add_reloc(c, seg, where, entry, in_module(slot->offset), 0);
	return 0;
}

/* The jump through a slot, shaped like a PLT entry so that a slot of the old module's GOT the
 * dynamic linker has not bound yet works too (its lazy resolver finds the slot in x16):
 * adrp x16, slot; ldr x17, [x16, :lo12:slot]; add x16, x16, :lo12:slot; br x17.  Reached by a
 * BL, so it needs no landing pad; a BR through x17 may enter a function at its BTI c. */
static const uint8_t slot_jump[16] = { 0x10, 0x00, 0x00, 0x90, 0x11, 0x02, 0x40, 0xf9,
	                               0x10, 0x02, 0x00, 0x91, 0x20, 0x02, 0x1f, 0xd6 };

static const struct hp_stub *stub(void)
{
	static const struct hp_stub s = { slot_jump, sizeof slot_jump, 16, 3,
		                          { { 0, HP_RELOC_A64_ADR_PAGE21, 0 },
		                            { 4, HP_RELOC_A64_LDST64_LO12, 0 },
		                            { 8, HP_RELOC_A64_ADD_LO12, 0 } } };
	return &s;
}

const struct hp_arch hp_arch_aarch64 = {
	.site = &hp_site_aarch64,
	.pkg_arch = HP_ARCH_AARCH64,
	.text_fill = { HP_AARCH64_BRK & 0xff, (HP_AARCH64_BRK >> 8) & 0xff, (HP_AARCH64_BRK >> 16) & 0xff,
	               HP_AARCH64_BRK >> 24 },
	.r_glob_dat = R_AARCH64_GLOB_DAT,
	.r_jump_slot = R_AARCH64_JUMP_SLOT,
	.r_abs64 = R_AARCH64_ABS64,
	.r_relative = R_AARCH64_RELATIVE,
	.jump_slot_is_address = 0,
	.merged_by_section = 1,
	.stub = stub,
	.form = form,
	.is_direct = is_direct,
	.old_field = old_field,
	.data_field = data_field,
	.stub_slot = stub_slot,
	.line_immediate = line_immediate,
	.resolve_tls = resolve_tls,
};

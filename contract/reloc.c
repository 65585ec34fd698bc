/* reloc.c — the package's relocation kinds (reloc.h): their width, which architecture each is
 * for, and how each value is encoded: whole fields for the data kinds, immediate fields inside
 * an instruction word for AArch64's, whose other bits stay as the compiler wrote them. */
#include "reloc.h"

#include <string.h>

#include "hp_package.h"

unsigned hp_reloc_width(unsigned type)
{
	if (type == HP_RELOC_ABS64)
		return 8;
	return type >= HP_RELOC_PC32 && type <= HP_RELOC_TYPE_LAST ? 4 : 0;
}

int hp_reloc_for_arch(unsigned type, unsigned arch)
{
	switch (type) {
	case HP_RELOC_PC32:
	case HP_RELOC_ABS64:
	case HP_RELOC_ABS32:
		return 1;
	case HP_RELOC_ABS32S:
		return arch == HP_ARCH_X86_64;
	default:
		return arch == HP_ARCH_AARCH64 && type >= HP_RELOC_A64_BRANCH26 && type <= HP_RELOC_TYPE_LAST;
	}
}

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void store32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* A pc-relative branch's word offset in a signed field of bits bits at shift. */
static int branch(uint8_t *field, int64_t delta, unsigned bits, unsigned shift, const char **why)
{
	if (delta & 3) {
		*why = "is not aligned to 4 bytes";
		return -1;
	}
	int64_t words = delta >> 2, limit = (int64_t)1 << (bits - 1);
	if (words < -limit || words >= limit) {
		*why = "does not reach its target";
		return -1;
	}
	uint32_t mask = (((uint32_t)1 << bits) - 1) << shift;
	store32(field, (load32(field) & ~mask) | (((uint32_t)words << shift) & mask));
	return 0;
}

int hp_reloc_write(unsigned type, uint8_t *field, uint64_t target, uint64_t place, const char **why)
{
	int64_t rel = (int64_t)(target - place);
	switch (type) {
	case HP_RELOC_PC32:
		if (rel < INT32_MIN || rel > INT32_MAX) {
			*why = "does not reach its target";
			return -1;
		}
		store32(field, (uint32_t)(int32_t)rel);
		return 0;
	case HP_RELOC_ABS64:
		memcpy(field, &target, 8);
		return 0;
	case HP_RELOC_ABS32S:
		if ((int64_t)target < INT32_MIN || (int64_t)target > INT32_MAX) {
			*why = "does not fit 32 bits";
			return -1;
		}
		store32(field, (uint32_t)target);
		return 0;
	case HP_RELOC_ABS32:
		if (target > UINT32_MAX) {
			*why = "does not fit 32 bits";
			return -1;
		}
		store32(field, (uint32_t)target);
		return 0;
	case HP_RELOC_A64_BRANCH26:
		return branch(field, rel, 26, 0, why);
	case HP_RELOC_A64_CONDBR19:
		return branch(field, rel, 19, 5, why);
	case HP_RELOC_A64_TSTBR14:
		return branch(field, rel, 14, 5, why);
	case HP_RELOC_A64_ADR_PAGE21: {
		int64_t pages = (int64_t)((target & ~(uint64_t)0xfff) - (place & ~(uint64_t)0xfff)) >> 12;
		if (pages < -((int64_t)1 << 20) || pages >= ((int64_t)1 << 20)) {
			*why = "does not reach its target";
			return -1;
		}
		uint32_t imm = (uint32_t)pages & 0x1fffff;  /* immlo in bits 29-30, immhi in bits 5-23 */
		uint32_t insn = load32(field) & ~((3u << 29) | (0x7ffffu << 5));
		store32(field, insn | (imm & 3) << 29 | (imm >> 2) << 5);
		return 0;
	}
	case HP_RELOC_A64_ADD_LO12:
	case HP_RELOC_A64_LDST8_LO12:
	case HP_RELOC_A64_LDST16_LO12:
	case HP_RELOC_A64_LDST32_LO12:
	case HP_RELOC_A64_LDST64_LO12:
	case HP_RELOC_A64_LDST128_LO12: {
		unsigned scale = type == HP_RELOC_A64_ADD_LO12 ? 0 : type - HP_RELOC_A64_LDST8_LO12;
		uint32_t lo12 = (uint32_t)(target & 0xfff);
		if (lo12 & ((1u << scale) - 1)) {
			*why = "is not aligned to its access size";
			return -1;
		}
		store32(field, (load32(field) & ~(0xfffu << 10)) | (lo12 >> scale) << 10);
		return 0;
	}
	default:
		*why = "has an unknown type";
		return -1;
	}
}

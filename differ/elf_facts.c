/* elf_facts.c — what the comparison asks of a file again and again (the bytes at an address, the
 * symbol a section stands for, a section's members, where a PLT stub jumps through, a merged
 * constant's size), each worked out once per file and kept on its hp_elf (elf_file.h). */
#include "elf_file.h"

#include <string.h>
#include <libelf.h>

#include "xalloc.h"

static size_t section_total(struct hp_elf *e)
{
	size_t n = 0;
	return elf_getshdrnum(e->elf, &n) ? 0 : n;
}

const uint8_t *hp_elf_bytes_at(struct hp_elf *e, uint64_t addr, size_t len)
{
	if (!e->places_read) {
		size_t n = section_total(e);
		e->places = hp_xcalloc(n, sizeof *e->places);
		for (size_t i = 1; i < n; i++) {
			struct hp_section sec;
			if (hp_elf_section_at(e, i, &sec) || !sec.data || !(sec.shdr.sh_flags & SHF_ALLOC))
				continue;
			e->places[e->place_count++] = (struct hp_elf_place){ sec.shdr.sh_addr, sec.shdr.sh_size, sec.data };
		}
		e->places_read = 1;
	}
	for (size_t i = 0; i < e->place_count; i++) {  /* in section order: the first that holds it */
		const struct hp_elf_place *p = &e->places[i];
		/* Written so that nothing wraps: addr and len come from the file. */
		if (addr >= p->addr && addr - p->addr <= p->size && len <= p->size - (addr - p->addr))
			return p->data + (addr - p->addr);
	}
	return NULL;
}

int hp_elf_section_symbol(struct hp_elf *e, size_t section, GElf_Sym *out, const char **name)
{
	if (!e->section_symbol) {
		size_t n = section_total(e);
		e->section_symbol = hp_xcalloc(n + 1, sizeof *e->section_symbol);
		e->section_symbol_count = n;
		for (size_t i = 0; i <= n; i++)
			e->section_symbol[i] = -1;
		for (size_t i = 1; i < e->symtab_count; i++) {
			GElf_Sym s;
			const char *nm;
			if (hp_elf_symbol_at(e, i, &s, &nm) || !*nm || nm[0] == '.' || s.st_shndx >= n)
				continue;
			int t = GELF_ST_TYPE(s.st_info);
			if (t != STT_FUNC && t != STT_OBJECT && t != STT_TLS)
				continue;
			long *slot = &e->section_symbol[s.st_shndx];
			*slot = *slot == -1 ? (long)i : -2;
		}
	}
	if (section >= e->section_symbol_count || e->section_symbol[section] < 0)
		return 0;
	return hp_elf_symbol_at(e, (size_t)e->section_symbol[section], out, name) == 0;
}

size_t hp_elf_section_members(struct hp_elf *e, size_t section, const size_t **symbols)
{
	if (!e->member_start) {
		size_t sections = section_total(e);
		e->member_sections = sections;
		e->member_start = hp_xcalloc(sections + 2, sizeof *e->member_start);
		e->members = hp_xcalloc(e->symtab_count + 1, sizeof *e->members);
		/* Counting sort: counts at [section + 2], summed into starts at [section + 1], which the
		 * second pass advances to the ends, so that section s is [member_start[s], [s + 1]). */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t i = 1; i < e->symtab_count; i++) {
				GElf_Sym s;
				const char *name;
				if (hp_elf_symbol_at(e, i, &s, &name) || s.st_shndx >= sections || !*name ||
				    (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_OBJECT))
					continue;
				if (pass == 0)
					e->member_start[s.st_shndx + 2]++;
				else
					e->members[e->member_start[s.st_shndx + 1]++] = i;
			}
			if (pass == 0)
				for (size_t k = 2; k < sections + 2; k++)
					e->member_start[k] += e->member_start[k - 1];
		}
	}
	*symbols = e->members;
	if (section >= e->member_sections)
		return 0;
	*symbols = e->members + e->member_start[section];
	return e->member_start[section + 1] - e->member_start[section];
}

int hp_elf_stub_slot(struct hp_elf *e, uint64_t addr, uint64_t *slot)
{
	const uint8_t *code = hp_elf_bytes_at(e, addr, 16);
	for (int k = 0; code && k + 6 <= 16; k++)
		if (code[k] == 0xff && code[k + 1] == 0x25) {  /* jmp *disp32(%rip) */
			int32_t disp;
			memcpy(&disp, code + k + 2, 4);
			*slot = addr + (uint64_t)k + 6 + (uint64_t)(int64_t)disp;
			return 1;
		}
	return 0;
}

uint64_t hp_elf_merged_piece(const struct hp_section *sec, uint64_t at)
{
	if (!(sec->shdr.sh_flags & SHF_MERGE) || !sec->data || at >= sec->shdr.sh_size)
		return 0;
	uint64_t room = sec->shdr.sh_size - at;
	if (sec->shdr.sh_flags & SHF_STRINGS) {
		const uint8_t *nul = memchr(sec->data + at, 0, room);
		return nul ? (uint64_t)(nul - (sec->data + at)) + 1 : 0;
	}
	return sec->shdr.sh_entsize && sec->shdr.sh_entsize <= room ? sec->shdr.sh_entsize : 0;
}

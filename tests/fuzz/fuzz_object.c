/* fuzz_object.c — libFuzzer target for hpdiff's object reading: the ELF layer (differ/elf_file.c,
 * elf_facts.c) on an in-memory object, executable or library, and what hpdiff reads through it:
 * symbols, sections, every relocation table (as a list and by offset range), section symbols
 * and members, merged constants, dynamic relocations and PLT stubs, the .hotpatch metadata
 * (meta_read.c) and the unwind records (eh_frame.c, as hpdiff's unwind phase reads them). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eh_frame.h"
#include "elf_file.h"
#include "hp_meta.h"
#include "meta_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void read_section(struct hp_elf *e, size_t index)
{
	struct hp_section sec;
	if (hp_elf_section_at(e, index, &sec))
		return;
	struct hp_reloc *rel = NULL;
	long n = hp_elf_relocations(e, index, &rel);
	for (long i = 0; i < n; i++)
		sink += rel[i].offset + (uint64_t)rel[i].addend + strlen(rel[i].sym_name);
	free(rel);
	const struct hp_reloc *in = NULL;
	n = hp_elf_relocations_in(e, index, 0, sec.shdr.sh_size / 2, &in);
	for (long i = 0; i < n; i++)
		sink += in[i].type;
	GElf_Sym sym;
	const char *name;
	if (hp_elf_section_symbol(e, index, &sym, &name))
		sink += strlen(name);
	const size_t *members;
	size_t count = hp_elf_section_members(e, index, &members);
	for (size_t i = 0; i < count; i++)
		if (hp_elf_symbol_at(e, members[i], &sym, &name) == 0)
			sink += strlen(name);
	if ((sec.shdr.sh_flags & SHF_MERGE) && sec.data)
		for (uint64_t at = 0; at < sec.shdr.sh_size && at < 4096;) {
			uint64_t piece = hp_elf_merged_piece(&sec, at);
			at += piece ? piece : 1;
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);  /* exact size: a read past the input is caught */
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct hp_elf e;
	char err[512];
	if (hp_elf_open_memory(p, size, "input", &e, err, sizeof err) == 0) {
		size_t sections = 0;
		elf_getshdrnum(e.elf, &sections);
		for (size_t i = 1; i < sections && i < 4096; i++)
			read_section(&e, i);
		for (size_t i = 0; i < e.symbol_count; i++) {
			const struct hp_symbol *s = &e.symbols[i], *first;
			size_t avail = 0;
			sink += hp_elf_count_symbols(&e, s->name, &first);
			sink += hp_elf_find_symbol(&e, s->name) != NULL;
			if (hp_elf_symbol_bytes(&e, s, 0, 16, &avail))
				sink += avail;
			uint64_t slot;
			if (hp_elf_is_linked(&e) && (hp_elf_bytes_at(&e, s->value, 4) || hp_elf_stub_slot(&e, s->value, &slot)))
				sink += 1;
		}
		struct hp_dynreloc *dyn = NULL;
		long n = hp_elf_dynamic_relocations(&e, &dyn);
		for (long i = 0; i < n; i++)
			sink += strlen(dyn[i].name) + dyn[i].offset;
		free(dyn);
		sink += (uint64_t)hp_elf_has_runtime(&e);
		size_t meta_size = 0;
		const uint8_t *meta = hp_elf_section(&e, HP_META_SECTION, &meta_size);
		struct hp_meta m;
		if (meta && hp_meta_parse(meta, meta_size, &m, err, sizeof err) == 0)
			hp_meta_free(&m);
		struct hp_eh_frame f;
		if (hp_eh_frame_read(&e, &f, err, sizeof err) == 0)
			for (size_t i = 0; i < f.count; i++)
				if (!f.entries[i].is_cie && f.entries[i].pc_begin >= 0)  /* as unwind.c copies */
					sink += f.sec.data[f.entries[i].at + 4 + f.entries[i].length - 1] +
					        f.sec.data[f.entries[f.entries[i].cie].at];
		hp_eh_frame_free(&f);
		hp_elf_close(&e);
	}
	free(p);
	return 0;
}

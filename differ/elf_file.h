/* elf_file.h — the ELF model hpdump and hpdiff share: one opened object, executable or shared
 * library (or each member of an archive), its sections, symbols and GNU build-id, read with
 * libelf.  Errors come back as -1 with a one-line message naming the file. */
#ifndef HP_ELF_FILE_H
#define HP_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct hp_symbol {
	const char *name;
	uint64_t value;               /* address (linked files) or offset in its section (objects) */
	uint64_t size;
	uint16_t section;             /* st_shndx */
	uint8_t type, bind;           /* STT_*, STB_* */
};

struct hp_elf {
	char *path;                   /* "lib.a(member.o)" for archive members */
	int fd;                       /* always -1: no descriptor stays open (hp_elf_open) */
	int owned;                    /* elf is ended by hp_elf_close (hp_elf_open*, not hp_elf_each) */
	Elf *elf;
	GElf_Ehdr ehdr;
	struct hp_symbol *symbols;    /* .symtab, or .dynsym when stripped */
	size_t symbol_count;
	int has_symtab;               /* 0: stripped, only exported symbols are known */
	uint8_t build_id[64];
	size_t build_id_size;         /* 0: none */
	Elf_Data *symtab;             /* the raw symbol table, for relocations (NULL: none) */
	size_t symtab_strings;        /* its string section */
	size_t symtab_count;
	GElf_Phdr tls;                /* PT_TLS, p_type == PT_NULL when absent */
	int is_program;               /* a main program (ET_EXEC, or PIE with an interpreter) */
	size_t *rela_of;              /* section index -> its SHT_RELA section (0: none), built once */
	size_t rela_of_count;         /* sections rela_of covers (0 until built) */
	struct hp_reloc *rel_cache;   /* one section's relocations sorted by offset (hp_elf_relocations_in) */
	long rel_cache_count;
	size_t rel_cache_section;
	/* Facts a comparison asks for again and again, computed once per file on first use (running
	 * out of memory there ends the program: xalloc.h): */
	struct hp_elf_place *places;  /* allocated sections with contents (hp_elf_bytes_at) */
	size_t place_count;
	int places_read;
	long *section_symbol;         /* per section: its one named symbol, -1 none, -2 several */
	size_t section_symbol_count;  /* sections indexed (hp_elf_section_symbol) */
	size_t *member_start;         /* per section, where its named functions and variables start */
	size_t *members;              /* in members (symbol indices; hp_elf_section_members) */
	size_t member_sections;
};

/* Where an allocated section's bytes are in the file's address space. */
struct hp_elf_place {
	uint64_t addr, size;
	const uint8_t *data;
};

/* One section of the file, as relocation processing needs it. */
struct hp_section {
	size_t index;
	const char *name;
	GElf_Shdr shdr;
	const uint8_t *data;          /* NULL for SHT_NOBITS */
};

/* One relocation with its symbol resolved. */
struct hp_reloc {
	uint64_t offset;              /* in the section it applies to */
	uint32_t type;                /* R_X86_64_* */
	int64_t addend;
	GElf_Sym sym;
	const char *sym_name;         /* "" for section symbols */
};

/* Opens one ELF file (not an archive) for as long as the caller needs it.  No file descriptor
 * stays open: libelf holds the file mapped (or copied), so a tree of any number of files can
 * be open at once under any descriptor limit. */
int hp_elf_open(const char *path, struct hp_elf *elf, char *err, size_t err_size);
/* The same for an ELF file already in memory (size bytes at data, which must outlive elf);
 * name is what messages call it. */
int hp_elf_open_memory(const void *data, size_t size, const char *name, struct hp_elf *elf, char *err,
                       size_t err_size);
void hp_elf_close(struct hp_elf *elf);

/* Calls fn for the file, or for each member of an archive; stops at the first nonzero return
 * and returns it.  Returns -1 with err set when the file cannot be read or is not ELF. */
int hp_elf_each(const char *path, int (*fn)(struct hp_elf *elf, void *arg), void *arg,
                char *err, size_t err_size);

/* The named section's bytes (NULL when absent or SHT_NOBITS). */
const uint8_t *hp_elf_section(struct hp_elf *elf, const char *name, size_t *size);

/* The bytes from sym + offset in the symbol's section, at most len of them: *avail says how
 * many the section holds.  NULL when sym + offset lies outside the section. */
const uint8_t *hp_elf_symbol_bytes(struct hp_elf *elf, const struct hp_symbol *sym,
                                   int64_t offset, size_t len, size_t *avail);

/* The first defined symbol of that name, or NULL.  A versioned name in the table
 * ("stderr@GLIBC_2.2.5", as GNU ld writes copy-relocated data) matches its plain name. */
const struct hp_symbol *hp_elf_find_symbol(const struct hp_elf *elf, const char *name);

/* How many defined symbols have exactly that name (file-local names may repeat, one per
 * object); *first is set to the first of them when there is one. */
size_t hp_elf_count_symbols(const struct hp_elf *elf, const char *name, const struct hp_symbol **first);

/* Section by index or by name; returns 0, or -1 when there is no such section. */
int hp_elf_section_at(struct hp_elf *elf, size_t index, struct hp_section *out);
int hp_elf_section_named(struct hp_elf *elf, const char *name, struct hp_section *out);

/* The symbol at an index of the raw symbol table; returns 0 or -1. */
int hp_elf_symbol_at(struct hp_elf *elf, size_t index, GElf_Sym *sym, const char **name);

/* The relocations that apply to section `target` (from its SHT_RELA section), in file order.
 * Returns the count and sets *out (free it), or -1 on a malformed table. */
long hp_elf_relocations(struct hp_elf *elf, size_t target, struct hp_reloc **out);

/* The relocations that apply to [from, to) of section `target`, sorted by offset: a view of a
 * copy kept for the section last asked about (do not free; valid until another section is
 * asked about or the file is closed).  Asking for one function after another of a large
 * section (objects without function sections) reads its table once.  Returns the count, or -1. */
long hp_elf_relocations_in(struct hp_elf *elf, size_t target, uint64_t from, uint64_t to,
                           const struct hp_reloc **out);

/* ---- Facts worked out once per file, on first use (elf_facts.c) ---- */

/* The bytes at an address of a linked file (len of them, all inside one allocated section that
 * has contents), or NULL. */
const uint8_t *hp_elf_bytes_at(struct hp_elf *elf, uint64_t addr, size_t len);

/* The single named function or variable (or thread-local) defined in a section, if any: with
 * function and data sections, a section symbol almost always stands for it, and relocations
 * against the section mean it.  Returns 1 with *out and *name set, or 0. */
int hp_elf_section_symbol(struct hp_elf *elf, size_t section, GElf_Sym *out, const char **name);

/* The named functions and variables defined in a section of an object: sets *symbols to their
 * indices in the raw symbol table (hp_elf_symbol_at) and returns how many. */
size_t hp_elf_section_members(struct hp_elf *elf, size_t section, const size_t **symbols);

/* Whether the code at addr of a linked file is a PLT-style stub, `jmp *slot(%rip)` within its
 * first 16 bytes; if so, sets *slot to the address of the slot it jumps through. */
int hp_elf_stub_slot(struct hp_elf *elf, uint64_t addr, uint64_t *slot);

/* The size of the merged constant (SHF_MERGE) at offset `at` of a section: a string up to and
 * with its NUL, or one entry of a table of constants.  0 when no whole piece starts there. */
uint64_t hp_elf_merged_piece(const struct hp_section *sec, uint64_t at);

/* One dynamic relocation of a linked file: a GOT slot or TLS entry the dynamic linker fills. */
struct hp_dynreloc {
	const char *name;             /* symbol ("" for a module's own TLS block) */
	uint32_t type;                /* R_X86_64_GLOB_DAT, JUMP_SLOT, DTPMOD64, TPOFF64, ... */
	uint64_t offset;              /* the slot's address */
	int64_t addend;
};

/* The dynamic relocations (.rela.dyn, .rela.plt), sorted by name then type.  Returns the count
 * and sets *out (free it), or -1. */
long hp_elf_dynamic_relocations(struct hp_elf *elf, struct hp_dynreloc **out);

/* Whether a program has the hotpatch runtime: linked in (hp_control_start in its symbol table)
 * or libhotpatch.so among its needed libraries.  1 yes, 0 no, -1 cannot tell (stripped). */
int hp_elf_has_runtime(struct hp_elf *elf);

/* Whether the file at path begins with those bytes (the ELF or the package magic): 1 yes, 0 no
 * (also for anything but a regular file, which is never opened: a FIFO could wait for ever, a
 * device act), -1 when a regular file cannot be read (errno set). */
int hp_file_starts_with(const char *path, const void *magic, size_t len);

/* True for executables and shared libraries; false for relocatable objects. */
int hp_elf_is_linked(const struct hp_elf *elf);

#endif

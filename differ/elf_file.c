/* elf_file.c — reading objects, executables, shared libraries and archives with libelf. */
#include "elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libelf.h>

#include "xalloc.h"

static int symbol_cmp(const void *a, const void *b)
{
	const struct hp_symbol *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->value > y->value) - (x->value < y->value);
}

/* Reads .symtab (or .dynsym) into a name-sorted array of defined symbols. */
static int read_symbols(struct hp_elf *e)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr shdr;
	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			return -1;
		if (shdr.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (shdr.sh_type == SHT_DYNSYM)
			dynsym = scn;
	}
	e->has_symtab = symtab != NULL;
	scn = symtab ? symtab : dynsym;
	if (!scn)
		return 0;
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!gelf_getshdr(scn, &shdr) || !data || !shdr.sh_entsize)
		return -1;
	size_t n = shdr.sh_size / shdr.sh_entsize;
	e->symtab = data;
	e->symtab_strings = shdr.sh_link;
	e->symtab_count = n;
	e->symbols = hp_xcalloc(n, sizeof *e->symbols);
	for (size_t i = 1; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			return -1;
		if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) == STT_SECTION ||
		    GELF_ST_TYPE(sym.st_info) == STT_FILE)
			continue;
		const char *name = elf_strptr(e->elf, shdr.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		e->symbols[e->symbol_count++] = (struct hp_symbol){
			name, sym.st_value, sym.st_size, (uint16_t)sym.st_shndx,
			(uint8_t)GELF_ST_TYPE(sym.st_info), (uint8_t)GELF_ST_BIND(sym.st_info) };
	}
	hp_sort(e->symbols, e->symbol_count, sizeof *e->symbols, symbol_cmp);
	return 0;
}

/* The GNU build-id note, wherever the linker put it. */
static void read_build_id(struct hp_elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nh.n_descsz <= sizeof e->build_id) {
				memcpy(e->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
				e->build_id_size = nh.n_descsz;
				return;
			}
		}
	}
}

static void read_segments(struct hp_elf *e)
{
	size_t n = 0;
	e->is_program = e->ehdr.e_type == ET_EXEC;
	if (elf_getphdrnum(e->elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_TLS)
			e->tls = ph;
		else if (ph.p_type == PT_INTERP)
			e->is_program = 1;
	}
}

static int open_one(Elf *elf, const char *path, struct hp_elf *e, char *err, size_t err_size)
{
	memset(e, 0, sizeof *e);
	e->fd = -1;
	e->elf = elf;
	e->path = hp_xstrdup(path);
	size_t size = 0;
	elf_rawfile(elf, &size);
	if (e->path && gelf_getehdr(elf, &e->ehdr) &&
	    (e->ehdr.e_shoff > size || (uint64_t)e->ehdr.e_shnum * e->ehdr.e_shentsize > size - e->ehdr.e_shoff ||
	     e->ehdr.e_phoff > size || (uint64_t)e->ehdr.e_phnum * e->ehdr.e_phentsize > size - e->ehdr.e_phoff)) {
		snprintf(err, err_size, "%s: truncated ELF file (%zu bytes; its headers reach beyond)", path, size);
		return -1;
	}
	if (!e->path || !gelf_getehdr(elf, &e->ehdr) || read_symbols(e)) {
		snprintf(err, err_size, "%s: cannot read ELF file: %s", path, elf_errmsg(-1));
		return -1;
	}
	read_build_id(e);
	read_segments(e);
	return 0;
}

static void close_one(struct hp_elf *e)
{
	free(e->rela_of);
	e->rela_of = NULL;
	free(e->rel_cache);
	e->rel_cache = NULL;
	free(e->symbols);
	free(e->path);
	free(e->places);
	free(e->section_symbol);
	free(e->member_start);
	free(e->members);
	e->places = NULL;
	e->section_symbol = NULL;
	e->member_start = e->members = NULL;
	e->symbols = NULL;
	e->path = NULL;
}

/* Opens a file ELF_C_READ_MMAP and has libelf take everything it needs from the descriptor
 * (ELF_C_FDREAD: the mapping, or a copy, outlives it), so the descriptor is closed before this
 * returns: a build tree of any number of objects is read under any RLIMIT_NOFILE. */
static Elf *begin_file(const char *path, char *err, size_t err_size)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF && elf_cntl(elf, ELF_C_FDREAD)) {
		snprintf(err, err_size, "%s: cannot read: %s", path, elf_errmsg(-1));
		elf_end(elf);
		elf = NULL;
	} else if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, err_size, "%s: not an ELF file", path);
		if (elf)
			elf_end(elf);
		elf = NULL;
	}
	close(fd);
	return elf;
}

/* Completes an open of one ELF file (hp_elf_open, hp_elf_open_memory): e owns elf from here. */
static int finish_open(Elf *elf, const char *path, struct hp_elf *e, char *err, size_t err_size)
{
	if (open_one(elf, path, e, err, err_size)) {
		close_one(e);
		elf_end(elf);
		e->elf = NULL;
		return -1;
	}
	e->owned = 1;
	return 0;
}

int hp_elf_open(const char *path, struct hp_elf *e, char *err, size_t err_size)
{
	memset(e, 0, sizeof *e);
	e->fd = -1;
	Elf *elf = begin_file(path, err, err_size);
	return elf ? finish_open(elf, path, e, err, err_size) : -1;
}

int hp_elf_open_memory(const void *data, size_t size, const char *name, struct hp_elf *e, char *err,
                       size_t err_size)
{
	elf_version(EV_CURRENT);
	memset(e, 0, sizeof *e);
	e->fd = -1;
	Elf *elf = elf_memory((char *)(uintptr_t)data, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		snprintf(err, err_size, "%s: not an ELF file", name);
		if (elf)
			elf_end(elf);
		return -1;
	}
	return finish_open(elf, name, e, err, err_size);
}

void hp_elf_close(struct hp_elf *e)
{
	if (e->elf && e->owned)
		elf_end(e->elf);
	close_one(e);
	e->elf = NULL;
	e->owned = 0;
}

int hp_elf_each(const char *path, int (*fn)(struct hp_elf *, void *), void *arg, char *err,
                size_t err_size)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	Elf *top = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!top || (elf_kind(top) != ELF_K_ELF && elf_kind(top) != ELF_K_AR)) {
		snprintf(err, err_size, "%s: not an ELF file", path);
		rc = -1;
	} else if (elf_kind(top) == ELF_K_ELF) {
		struct hp_elf e;
		rc = open_one(top, path, &e, err, err_size);
		if (rc == 0)
			rc = fn(&e, arg);
		close_one(&e);
	} else {
		Elf *member;
		Elf_Cmd cmd = ELF_C_READ_MMAP;
		while (rc == 0 && (member = elf_begin(fd, cmd, top))) {
			Elf_Arhdr *ar = elf_getarhdr(member);
			if (elf_kind(member) == ELF_K_ELF && ar && ar->ar_name[0] != '/') {
				char name[4096];
				snprintf(name, sizeof name, "%s(%s)", path, ar->ar_name);
				struct hp_elf e;
				rc = open_one(member, name, &e, err, err_size);
				if (rc == 0)
					rc = fn(&e, arg);
				close_one(&e);
			}
			cmd = elf_next(member);
			elf_end(member);
		}
	}
	if (top)
		elf_end(top);
	close(fd);
	return rc;
}

const uint8_t *hp_elf_section(struct hp_elf *e, const char *name, size_t *size)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	if (elf_getshdrstrndx(e->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;
		if (!gelf_getshdr(scn, &shdr) || !(n = elf_strptr(e->elf, shstrndx, shdr.sh_name)))
			continue;
		if (strcmp(n, name) || shdr.sh_type == SHT_NOBITS)
			continue;
		Elf_Data *data = elf_rawdata(scn, NULL);
		if (!data || data->d_size != shdr.sh_size)
			return NULL;
		*size = data->d_size;
		return data->d_buf;
	}
	return NULL;
}

const uint8_t *hp_elf_symbol_bytes(struct hp_elf *e, const struct hp_symbol *sym, int64_t offset,
                                   size_t len, size_t *avail)
{
	Elf_Scn *scn = elf_getscn(e->elf, sym->section);
	GElf_Shdr shdr;
	if (!scn || !gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
		return NULL;
	Elf_Data *data = elf_rawdata(scn, NULL);
	if (!data)
		return NULL;
	int64_t start = (int64_t)(sym->value - (hp_elf_is_linked(e) ? shdr.sh_addr : 0)) + offset;
	if (start < 0 || (uint64_t)start >= data->d_size)
		return NULL;
	*avail = data->d_size - (uint64_t)start < len ? data->d_size - (size_t)start : len;
	return (const uint8_t *)data->d_buf + start;
}

/* The first symbol (sorted by name) whose name is not below name. */
static size_t first_not_below(const struct hp_elf *e, const char *name)
{
	size_t lo = 0, hi = e->symbol_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(e->symbols[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct hp_symbol *hp_elf_find_symbol(const struct hp_elf *e, const char *name)
{
	size_t lo = first_not_below(e, name), len = strlen(name);
	/* name itself sorts first; "name@VERSION" follows after names like "name.x" or "name1". */
	for (size_t i = lo; i < e->symbol_count && !strncmp(e->symbols[i].name, name, len); i++)
		if (e->symbols[i].name[len] == 0 || e->symbols[i].name[len] == '@')
			return &e->symbols[i];
	return NULL;
}

size_t hp_elf_count_symbols(const struct hp_elf *e, const char *name, const struct hp_symbol **first)
{
	size_t lo = first_not_below(e, name), n = 0;
	*first = lo < e->symbol_count && !strcmp(e->symbols[lo].name, name) ? &e->symbols[lo] : NULL;
	while (lo + n < e->symbol_count && !strcmp(e->symbols[lo + n].name, name))
		n++;
	return n;
}

static int dynreloc_cmp(const void *a, const void *b)
{
	const struct hp_dynreloc *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->type > y->type) - (x->type < y->type);
}

long hp_elf_dynamic_relocations(struct hp_elf *e, struct hp_dynreloc **out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	size_t count = 0;
	*out = NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || !(shdr.sh_flags & SHF_ALLOC) ||
		    !shdr.sh_entsize)
			continue;
		Elf_Scn *symscn = elf_getscn(e->elf, shdr.sh_link);
		GElf_Shdr symsh;
		Elf_Data *syms = symscn && gelf_getshdr(symscn, &symsh) ? elf_getdata(symscn, NULL) : NULL;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = shdr.sh_size / shdr.sh_entsize;
		*out = hp_xrealloc(*out, (count + n + 1) * sizeof **out);
		for (size_t i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			if (!gelf_getrela(data, (int)i, &r))
				continue;
			const char *name = "";
			if (GELF_R_SYM(r.r_info) && syms && gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym))
				name = elf_strptr(e->elf, symsh.sh_link, sym.st_name);
			(*out)[count++] = (struct hp_dynreloc){ name ? name : "", (uint32_t)GELF_R_TYPE(r.r_info),
				                                r.r_offset, r.r_addend };
		}
	}
	if (*out)
		hp_sort(*out, count, sizeof **out, dynreloc_cmp);
	return (long)count;
}

int hp_elf_is_linked(const struct hp_elf *e)
{
	return e->ehdr.e_type == ET_EXEC || e->ehdr.e_type == ET_DYN;
}

int hp_elf_section_at(struct hp_elf *e, size_t index, struct hp_section *out)
{
	size_t shstrndx;
	Elf_Scn *scn = elf_getscn(e->elf, index);
	memset(out, 0, sizeof *out);
	if (!scn || !gelf_getshdr(scn, &out->shdr) || elf_getshdrstrndx(e->elf, &shstrndx))
		return -1;
	out->index = index;
	out->name = elf_strptr(e->elf, shstrndx, out->shdr.sh_name);
	if (!out->name)
		out->name = "";
	if (out->shdr.sh_type != SHT_NOBITS) {
		Elf_Data *data = elf_rawdata(scn, NULL);
		if (!data || data->d_size != out->shdr.sh_size)
			return out->shdr.sh_size ? -1 : 0;
		out->data = data->d_buf;
	}
	return 0;
}

int hp_elf_section_named(struct hp_elf *e, const char *name, struct hp_section *out)
{
	size_t n = 0;
	if (elf_getshdrnum(e->elf, &n))
		return -1;
	for (size_t i = 1; i < n; i++)
		if (hp_elf_section_at(e, i, out) == 0 && !strcmp(out->name, name))
			return 0;
	return -1;
}

int hp_elf_symbol_at(struct hp_elf *e, size_t index, GElf_Sym *sym, const char **name)
{
	if (!e->symtab || index >= e->symtab_count || !gelf_getsym(e->symtab, (int)index, sym))
		return -1;
	*name = elf_strptr(e->elf, e->symtab_strings, sym->st_name);
	if (!*name)
		*name = "";
	return 0;
}

long hp_elf_relocations(struct hp_elf *e, size_t target, struct hp_reloc **out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	*out = NULL;
	if (!e->rela_of) {  /* one pass over the section headers, not one per question */
		if (elf_getshdrnum(e->elf, &e->rela_of_count))
			return -1;
		e->rela_of = hp_xcalloc(e->rela_of_count + 1, sizeof *e->rela_of);
		while ((scn = elf_nextscn(e->elf, scn)))
			if (gelf_getshdr(scn, &shdr) && shdr.sh_type == SHT_RELA && shdr.sh_info < e->rela_of_count)
				e->rela_of[shdr.sh_info] = elf_ndxscn(scn);
	}
	if (target >= e->rela_of_count || !e->rela_of[target])
		return 0;
	scn = elf_getscn(e->elf, e->rela_of[target]);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return -1;
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || !shdr.sh_entsize)
		return -1;
	size_t n = shdr.sh_size / shdr.sh_entsize;
	struct hp_reloc *r = hp_xcalloc(n, sizeof *r);
	for (size_t i = 0; i < n; i++) {
		GElf_Rela rela;
		if (!gelf_getrela(data, (int)i, &rela) ||
		    hp_elf_symbol_at(e, GELF_R_SYM(rela.r_info), &r[i].sym, &r[i].sym_name)) {
			free(r);
			return -1;
		}
		r[i].offset = rela.r_offset;
		r[i].type = (uint32_t)GELF_R_TYPE(rela.r_info);
		r[i].addend = rela.r_addend;
	}
	*out = r;
	return (long)n;
}

static int reloc_offset_cmp(const void *a, const void *b)
{
	const struct hp_reloc *x = a, *y = b;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

long hp_elf_relocations_in(struct hp_elf *e, size_t target, uint64_t from, uint64_t to,
                           const struct hp_reloc **out)
{
	*out = NULL;
	if (!e->rel_cache || e->rel_cache_section != target) {
		struct hp_reloc *r = NULL;
		long n = hp_elf_relocations(e, target, &r);
		if (n < 0)
			return -1;
		hp_sort(r, (size_t)n, sizeof *r, reloc_offset_cmp);
		free(e->rel_cache);
		e->rel_cache = r;
		e->rel_cache_count = n;
		e->rel_cache_section = target;
	}
	size_t lo = 0, hi = (size_t)e->rel_cache_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->rel_cache[mid].offset < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < (size_t)e->rel_cache_count && e->rel_cache[end].offset < to)
		end++;
	*out = e->rel_cache ? e->rel_cache + lo : NULL;  /* NULL + 0 is undefined too */
	return (long)(end - lo);
}

/* Whether a program has the hotpatch runtime: linked in (its control channel's constructor,
 * hp_control_start, is in the symbol table) or as libhotpatch.so among its needed libraries.
 * 1 yes, 0 no, -1 cannot tell (stripped, no libhotpatch.so needed). */
int hp_elf_has_runtime(struct hp_elf *e)
{
	if (hp_elf_find_symbol(e, "hp_control_start"))
		return 1;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e->elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(data = elf_getdata(scn, NULL)))
			continue;
		GElf_Dyn dyn;
		for (int i = 0; gelf_getdyn(data, i, &dyn) && dyn.d_tag != DT_NULL; i++) {
			const char *name = dyn.d_tag == DT_NEEDED ? elf_strptr(e->elf, sh.sh_link, dyn.d_un.d_val) : NULL;
			if (name && !strncmp(name, "libhotpatch.so", 14))
				return 1;
		}
	}
	return e->has_symtab ? 0 : -1;
}

int hp_file_starts_with(const char *path, const void *magic, size_t len)
{
	struct stat st;
	unsigned char head[16];
	if (len > sizeof head || stat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = !fstat(fd, &st) && S_ISREG(st.st_mode) ? read(fd, head, len) : 0;
	int saved = errno;
	close(fd);
	errno = saved;
	if (n < 0)
		return -1;
	return (size_t)n == len && !memcmp(head, magic, len);
}

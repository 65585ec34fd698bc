/* loader.c — placing a package's new code in the process: find the module it was made for by
 * GNU build-id, map its segments within reach of that module (HP_NEAR: ±2 GiB on x86-64, ±128 MiB
 * on AArch64), relocate, protect; register its unwind table once it is live, and keep a patched
 * library from being unloaded. */
#define _GNU_SOURCE
#include "runtime.h"
#include "hotpatch_state.h"
#include "reloc.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

struct find {
	const uint8_t *build_id;
	size_t size;
	struct hp_loaded *out;
	int found;
};

/* The main program's path as it was when the process started.  A shared library's name is the
 * one the dynamic linker loaded it by and never changes; /proc/self/exe is read at each call and
 * gains " (deleted)" once the file is replaced on disk (an upgrade), so it is read once, when this
 * library loads, and the program keeps the name it started with, as libraries do. */
static char program[256];

static const char *program_path(void)
{
	if (!program[0]) {
		ssize_t n = readlink("/proc/self/exe", program, sizeof program - 1);
		program[n > 0 ? n : 0] = 0;
	}
	return program;
}

__attribute__((constructor)) static void hp_loader_init(void)
{
	program_path();
}

/* The module's GNU build-id note (its bytes in memory), or NULL with *size 0 when it has none. */
static const uint8_t *build_id_of(struct dl_phdr_info *info, size_t *size)
{
	*size = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
			const uint8_t *name = p + sizeof *n;
			const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
			if (desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				*size = n->n_descsz;
				return desc;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return NULL;
}

static void describe(struct dl_phdr_info *info, struct hp_loaded *m)
{
	m->base = info->dlpi_addr;
	m->program = !(info->dlpi_name && info->dlpi_name[0]);
	m->start = UINTPTR_MAX;
	m->end = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		m->start = s < m->start ? s : m->start;
		m->end = e > m->end ? e : m->end;
	}
	snprintf(m->path, sizeof m->path, "%s", info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : program_path());
}

static int find_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct find *f = arg;
	size_t id_size;
	const uint8_t *id = build_id_of(info, &id_size);
	if (!id || id_size != f->size || memcmp(id, f->build_id, f->size))
		return 0;
	describe(info, f->out);
	f->found = 1;
	return 1;
}

int hp_find_module(const uint8_t *build_id, size_t size, struct hp_loaded *out)
{
	struct find f = { build_id, size, out, 0 };
	memset(out, 0, sizeof *out);
	dl_iterate_phdr(find_one, &f);
	return f.found ? 0 : -HP_E_MODULE;
}

const char *hp_file_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

struct find_named {
	const char *name;             /* a file name, no directory */
	struct hp_loaded *out;
	uint8_t *build_id;
	size_t *build_id_size;
	int seen, found;
};

/* Whether the module is known by that file name: the name it was loaded by, the file that name
 * leads to (libfoo.so.1 -> libfoo.so.1.2.3), and for the main program (the first module listed,
 * with no name) the file it was started from and the name it was run as. */
static int named(struct dl_phdr_info *info, int first, const char *name)
{
	char real[PATH_MAX];
	const char *loaded = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : first ? program_path() : NULL;
	if (!loaded)
		return 0;
	if (!strcmp(hp_file_name(loaded), name) || (realpath(loaded, real) && !strcmp(hp_file_name(real), name)))
		return 1;
	const char *execfn = first && !(info->dlpi_name && info->dlpi_name[0]) ? (const char *)getauxval(AT_EXECFN) : NULL;
	return execfn && !strcmp(hp_file_name(execfn), name);
}

static int find_named_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct find_named *f = arg;
	if (!named(info, !f->seen++, f->name))
		return 0;
	size_t id_size;
	const uint8_t *id = build_id_of(info, &id_size);
	id_size = id_size <= 32 ? id_size : 32;
	memcpy(f->build_id, id ? id : (const uint8_t *)"", id ? id_size : 0);
	*f->build_id_size = id ? id_size : 0;
	describe(info, f->out);
	f->found = 1;
	return 1;
}

int hp_find_module_named(const char *name, struct hp_loaded *out, uint8_t build_id[32], size_t *build_id_size)
{
	struct find_named f = { hp_file_name(name), out, build_id, build_id_size, 0, 0 };
	memset(out, 0, sizeof *out);
	*build_id_size = 0;
	if (!f.name[0])
		return -HP_E_MODULE;
	dl_iterate_phdr(find_named_one, &f);
	return f.found ? 0 : -HP_E_MODULE;
}

/* How far the mapping and the module may spread, together: every byte of one within reach of
 * every byte of the other, with a margin.  x86-64: the rel32 fields of the new code, and of the
 * padding jump's slot.  AArch64: a B, which the entry becomes (site_write_aarch64.c) and the new
 * code calls the module's functions with; its ADRP pages reach ±4 GiB, further. */
#if defined(__aarch64__)
#define NEAR_LIMIT (((uintptr_t)128 << 20) - ((uintptr_t)1 << 20))
#else
#define NEAR_LIMIT ((uintptr_t)INT32_MAX - ((uintptr_t)16 << 20))
#endif

static int reaches(const struct hp_loaded *mod, uintptr_t at, size_t size)
{
	uintptr_t lo = at < mod->start ? at : mod->start;
	uintptr_t hi = at + size > mod->end ? at + size : mod->end;
	return hi - lo < NEAR_LIMIT;
}

void *hp_map_near(const struct hp_loaded *mod, size_t size)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), step = 1u << 20;
	uintptr_t above = (mod->end + step - 1) & ~(step - 1), below = (mod->start & ~(step - 1));
	/* Try just above the module first, then just below, moving outwards a megabyte at a time,
	 * until no place further out can reach. */
	for (uintptr_t d = 0; d < NEAR_LIMIT; d += step) {
		uintptr_t tries[2] = { above + d, below > d + size + page ? below - d - ((size + step - 1) & ~(step - 1)) : 0 };
		for (int i = 0; i < 2; i++) {
			uintptr_t at = tries[i];
			if (!at || !reaches(mod, at, size))
				continue;
			void *p = mmap((void *)at, size, PROT_READ | PROT_WRITE,
			               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p == at)
				return p;
			munmap(p, size);  /* a kernel that ignores MAP_FIXED_NOREPLACE put it elsewhere */
		}
	}
	return NULL;
}

/* The runtime's own functions a package's code may call (hotpatch_state.h): resolved to this
 * copy of the runtime, the one that keeps the registry, whether it is linked into the program,
 * loaded as libhotpatch.so, or loaded by hpctl without being global (dlsym would not see it). */
static uintptr_t runtime_function(const char *name)
{
	static const struct {
		const char *name;
		uintptr_t address;
	} own[] = {
		{ "hp_shadow_get", (uintptr_t)hp_shadow_get },
		{ "hp_shadow_get_or_alloc", (uintptr_t)hp_shadow_get_or_alloc },
		{ "hp_shadow_free", (uintptr_t)hp_shadow_free },
		{ "hp_shadow_free_all", (uintptr_t)hp_shadow_free_all },
	};
	for (size_t i = 0; i < sizeof own / sizeof *own; i++)
		if (!strcmp(own[i].name, name))
			return own[i].address;
	return 0;
}

static int relocate(const struct hp_package_module *m, const struct hp_loaded *mod, const uintptr_t seg[HP_SEG_COUNT],
                    char *err, size_t err_size)
{
	for (uint32_t i = 0; i < m->reloc_count; i++) {
		const struct hp_pkg_reloc r = m->relocs[i];
		uintptr_t s = 0, p = seg[r.segment] + r.offset;
		switch (r.target_kind) {
		case HP_TARGET_MODULE:
			s = mod->base + (uintptr_t)r.target;
			break;
		case HP_TARGET_SEGMENT:
			s = seg[r.target_segment] + (uintptr_t)r.target;
			break;
		case HP_TARGET_ABSOLUTE:
			s = (uintptr_t)r.target;
			break;
		case HP_TARGET_IMPORT: {
			const struct hp_package_import im = m->imports[r.target];
			const char *name = im.name;
			dlerror();
			s = runtime_function(name);
			if (!s)
				s = (uintptr_t)dlsym(RTLD_DEFAULT, name);
			if (!s && !(im.flags & HP_IMPORT_WEAK)) {
				snprintf(err, err_size, "dlsym: symbol %s is not in the process", name);
				return -HP_E_SYMBOL;
			}
			break;
		}
		}
		const char *why = NULL;
		if (hp_reloc_write(r.type, (uint8_t *)p, s + (uintptr_t)r.addend, p, &why)) {
			snprintf(err, err_size, "relocation %u %s", i, why);
			return -HP_E_RANGE;
		}
	}
	return 0;
}

int hp_load(const struct hp_package *package, uint32_t index, const struct hp_loaded *mod, struct hp_mapping *out,
            char *err, size_t err_size)
{
	const struct hp_package_module *m = &package->modules[index];
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t at[HP_SEG_COUNT], total = 0;
	for (int s = 0; s < HP_SEG_COUNT; s++) {
		at[s] = total;
		total += (m->segment_size[s] + page - 1) & ~(page - 1);
	}
	memset(out, 0, sizeof *out);
	memcpy(out->checksum, package->checksum, 16);
	out->module = index;
	out->size = total;
	out->base = hp_map_near(mod, total);
	if (!out->base) {
		snprintf(err, err_size, "mmap: no free address range within %s of %s (%zu bytes of new code and data)",
		         HP_NEAR, mod->path, total);
		return -HP_E_MEMORY;
	}
	for (int s = 0; s < HP_SEG_COUNT; s++) {
		out->segment[s] = (uintptr_t)out->base + at[s];
		if (s != HP_SEG_BSS && m->segment_size[s])
			memcpy((void *)out->segment[s], m->segment[s], m->segment_size[s]);
	}
	int rc = relocate(m, mod, out->segment, err, err_size);
	/* Code written by stores is not yet what instructions fetch on every processor: AArch64
	 * cleans the data cache and invalidates the instruction cache for it (nothing on x86-64).
	 * No thread can have fetched from the new pages yet, so no core needs serialising. */
	if (rc == 0 && m->segment_size[HP_SEG_TEXT])
		__builtin___clear_cache((char *)out->segment[HP_SEG_TEXT],
		                        (char *)out->segment[HP_SEG_TEXT] + m->segment_size[HP_SEG_TEXT]);
	static const int prot[HP_SEG_COUNT] = { PROT_READ | PROT_EXEC, PROT_READ, PROT_READ | PROT_WRITE,
		                                PROT_READ | PROT_WRITE };
	for (int s = 0; s < HP_SEG_COUNT && rc == 0; s++) {
		size_t len = (m->segment_size[s] + page - 1) & ~(page - 1);
		if (len && mprotect((void *)out->segment[s], len, prot[s])) {
			snprintf(err, err_size, "mprotect: cannot protect the new %s: %s", s == HP_SEG_TEXT ? "code" : "data",
			         strerror(errno));
			rc = -HP_E_PROTECT;
		}
	}
	if (rc) {
		munmap(out->base, total);
		out->base = NULL;
		return rc;
	}
	if (m->eh_frame_size)
		out->eh_frame = out->segment[HP_SEG_RODATA] + m->eh_frame_offset;
	return 0;
}

/* The unwinder's registration calls: libgcc's (LLVM's libunwind has the same), which take a whole
 * .eh_frame table (libunwind too, when it starts with a CIE, as ours does).  A C program loads
 * libgcc_s only when it first unwinds, so it may have to be loaded here. */
static void (*register_frame)(void *), (*deregister_frame)(void *);

static int find_unwinder(char *err, size_t err_size)
{
	if (register_frame && deregister_frame)
		return 0;
	void *reg = dlsym(RTLD_DEFAULT, "__register_frame"), *dereg = dlsym(RTLD_DEFAULT, "__deregister_frame");
	if (!reg || !dereg) {
		void *lib = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL);
		if (!lib) {
			const char *why = dlerror();
			snprintf(err, err_size, "dlopen libgcc_s.so.1 (for __register_frame): %s", why ? why : "failed");
			return -HP_E_SYMBOL;
		}
		reg = dlsym(lib, "__register_frame");
		dereg = dlsym(lib, "__deregister_frame");
	}
	if (!reg || !dereg) {
		snprintf(err, err_size, "dlsym: the process's unwinder has no %s", reg ? "__deregister_frame" : "__register_frame");
		return -HP_E_SYMBOL;
	}
	register_frame = (void (*)(void *))reg;
	deregister_frame = (void (*)(void *))dereg;
	return 0;
}

int hp_register_unwind(struct hp_mapping *map, char *err, size_t err_size)
{
	if (!map->eh_frame || map->unwind_registered)
		return 0;
	int rc = find_unwinder(err, err_size);
	if (rc)
		return rc;
	register_frame((void *)map->eh_frame);
	map->unwind_registered = 1;
	return 0;
}

void hp_deregister_unwind(struct hp_mapping *map)
{
	if (!map->unwind_registered)
		return;
	deregister_frame((void *)map->eh_frame);  /* set: it registered */
	map->unwind_registered = 0;
}

void hp_unmap(struct hp_mapping *map)
{
	hp_deregister_unwind(map);
	munmap(map->base, map->size);
	map->base = NULL;
}

int hp_pin_module(const struct hp_loaded *mod, char *err, size_t err_size)
{
	if (mod->program)
		return 0;
	/* By the name the dynamic linker knows it by: RTLD_NOLOAD never loads another copy, and a
	 * library of the same name in another namespace is not this one (its base tells). */
	dlerror();
	void *handle = dlopen(mod->path, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	struct link_map *lm = NULL;
	if (!handle || dlinfo(handle, RTLD_DI_LINKMAP, &lm) || !lm || lm->l_addr != mod->base) {
		const char *why = dlerror();
		snprintf(err, err_size, "dlopen %s (RTLD_NOLOAD|RTLD_NODELETE) cannot keep it loaded: %s", mod->path,
		         why ? why : handle ? "another library of that name" : "not found");
		if (handle)
			dlclose(handle);
		return -HP_E_MODULE;
	}
	/* The reference taken stays: with RTLD_NODELETE it could not unload the library anyway. */
	return 0;
}

/* apply-in-process.c — for the AArch64 tests only: applies an hpdiff package to the program that
 * calls it, so that a test can run the package's new code under qemu and compare what it computes
 * with what the new build computes.  It is not the runtime (runtime/ is being ported to AArch64
 * on its own): one module (the program or a library, found by build-id), no threads, no revert,
 * no trust policy.  It does
 * what the package says the way the format defines it (contract/hp_package.h): the expected bytes
 * at every redirected entry, the segments mapped within a B's reach of the program, every
 * relocation written by contract/reloc.c (imports looked up with dlsym), the unwind table
 * registered, then each site's NOP turned into `B new_code`.
 *
 * Built into the test's program with -I<contract> and contract/reloc.c beside it; main calls
 * hp_test_apply(path) and prints what it computes before and after. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hp_package.h"
#include "reloc.h"

int hp_test_apply(const char *path);

void __register_frame(void *begin);

static int fail(const char *what, const char *detail)
{
	fprintf(stderr, "apply-in-process: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

/* The loaded object the package is for: its load bias, extent and build-id. */
struct program {
	const uint8_t *want;
	size_t want_size;
	uint64_t base, end;
	int found;
};

static int find_program(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct program *p = arg;
	const uint8_t *build_id = NULL;
	size_t build_id_size = 0;
	uint64_t end = 0;
	(void)size;
	if (p->found)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > end)
			end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *n = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *e = n + ph->p_memsz;
		while (n + 12 <= e) {
			uint32_t namesz, descsz, type;
			memcpy(&namesz, n, 4);
			memcpy(&descsz, n + 4, 4);
			memcpy(&type, n + 8, 4);
			const uint8_t *name = n + 12, *desc = name + ((namesz + 3) & ~3u);
			if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(name, "GNU", 4)) {
				build_id = desc;
				build_id_size = descsz;
			}
			n = desc + ((descsz + 3) & ~3u);
		}
	}
	if (build_id && build_id_size == p->want_size && !memcmp(build_id, p->want, build_id_size)) {
		p->found = 1;
		p->base = info->dlpi_addr;
		p->end = end;
	}
	return 0;
}

static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	do {
		if (len == cap && !(buf = realloc(buf, cap = cap ? 2 * cap : 65536)))
			break;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*size = len;
	return buf;
}

/* Pages within ±128 MiB of the whole program, below it first. */
static uint8_t *map_near(const struct program *p, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	for (uint64_t step = 1; step < 60; step++) {
		for (int side = 0; side < 2; side++) {
			uint64_t want = side ? (p->end + step * (1u << 20) + (uint64_t)page - 1) & ~((uint64_t)page - 1)
			                     : ((p->base - step * (1u << 20) - size) & ~((uint64_t)page - 1));
			void *m = mmap((void *)want, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				continue;
			uint64_t lo = (uint64_t)m < p->base ? (uint64_t)m : p->base;
			uint64_t hi = (uint64_t)m + size > p->end ? (uint64_t)m + size : p->end;
			if (hi - lo < (120u << 20))
				return m;
			munmap(m, size);
		}
	}
	return NULL;
}

int hp_test_apply(const char *path)
{
	size_t size = 0;
	uint8_t *pkg = read_all(path, &size);
	struct hp_pkg_header h;
	struct hp_pkg_module m;
	if (!pkg || size < sizeof h)
		return fail("cannot read the package", path);
	memcpy(&h, pkg, sizeof h);
	if (memcmp(h.magic, HP_PACKAGE_MAGIC, 8) || h.module_count != 1)
		return fail("not a package of one module", path);
	memcpy(&m, pkg + h.modules_offset, sizeof m);
	if (m.arch != HP_ARCH_AARCH64)
		return fail("not a package for AArch64 code", path);
	struct program prog = { m.build_id, m.build_id_size, 0, 0, 0 };
	dl_iterate_phdr(find_program, &prog);
	if (!prog.found)
		return fail("no loaded object has the package's build-id", NULL);

	/* Every redirected entry must hold what the package expects before anything is changed. */
	for (uint32_t i = 0; i < m.redirect_count; i++) {
		struct hp_pkg_redirect r;
		memcpy(&r, pkg + m.redirects_offset + i * sizeof r, sizeof r);
		if (memcmp((const void *)(prog.base + r.old_offset), r.expected, r.expected_size))
			return fail("an entry does not hold the bytes the package expects",
			            (const char *)pkg + h.strings_offset + r.name);
	}

	long page = sysconf(_SC_PAGESIZE);
	size_t at[HP_SEG_COUNT], total = 0;
	for (int s = 0; s < HP_SEG_COUNT; s++) {
		at[s] = total;
		total += (m.segment_size[s] + (size_t)page - 1) & ~((size_t)page - 1);
	}
	uint8_t *map = map_near(&prog, total ? total : (size_t)page);
	if (!map)
		return fail("no room within a branch's reach of the program", NULL);
	for (int s = 0; s < HP_SEG_BSS; s++)
		memcpy(map + at[s], pkg + m.segment_offset[s], m.segment_size[s]);

	for (uint32_t i = 0; i < m.reloc_count; i++) {
		struct hp_pkg_reloc r;
		memcpy(&r, pkg + m.relocs_offset + i * sizeof r, sizeof r);
		uint64_t target;
		switch (r.target_kind) {
		case HP_TARGET_MODULE:
			target = prog.base + r.target;
			break;
		case HP_TARGET_SEGMENT:
			target = (uint64_t)(map + at[r.target_segment]) + r.target;
			break;
		case HP_TARGET_IMPORT: {
			struct hp_pkg_import im;
			memcpy(&im, pkg + m.imports_offset + r.target * sizeof im, sizeof im);
			const char *name = (const char *)pkg + h.strings_offset + im.name;
			void *sym = dlsym(RTLD_DEFAULT, name);
			if (!sym && !(im.flags & HP_IMPORT_WEAK))
				return fail("an import is not in the process", name);
			target = (uint64_t)sym;
			break;
		}
		default:
			target = r.target;
			break;
		}
		uint8_t *field = map + at[r.segment] + r.offset;
		const char *why;
		if (hp_reloc_write(r.type, field, target + (uint64_t)r.addend, (uint64_t)field, &why))
			return fail("a relocation", why);
	}
	if (mprotect(map + at[HP_SEG_TEXT], at[HP_SEG_RODATA] - at[HP_SEG_TEXT], PROT_READ | PROT_EXEC) ||
	    (at[HP_SEG_DATA] > at[HP_SEG_RODATA] &&
	     mprotect(map + at[HP_SEG_RODATA], at[HP_SEG_DATA] - at[HP_SEG_RODATA], PROT_READ)))
		return fail("cannot protect the new code", NULL);
	__builtin___clear_cache((char *)map, (char *)map + at[HP_SEG_RODATA]);
	if (m.eh_frame_size)
		__register_frame(map + at[HP_SEG_RODATA] + m.eh_frame_offset);

	for (uint32_t i = 0; i < m.redirect_count; i++) {
		struct hp_pkg_redirect r;
		memcpy(&r, pkg + m.redirects_offset + i * sizeof r, sizeof r);
		uint8_t *site = (uint8_t *)(prog.base + r.old_offset + r.site_offset);
		uint8_t b[4] = { 0x00, 0x00, 0x00, 0x14 };  /* B, its offset filled in */
		const char *why;
		uint8_t *pg = (uint8_t *)((uint64_t)site & ~((uint64_t)page - 1));
		if (hp_reloc_write(HP_RELOC_A64_BRANCH26, b, (uint64_t)(map + at[HP_SEG_TEXT] + r.new_offset),
		                   (uint64_t)site, &why))
			return fail("a site", why);
		if (mprotect(pg, (size_t)page, PROT_READ | PROT_WRITE | PROT_EXEC))
			return fail("cannot write a site", NULL);
		memcpy(site, b, 4);
		__builtin___clear_cache((char *)site, (char *)site + 4);
		mprotect(pg, (size_t)page, PROT_READ | PROT_EXEC);
	}
	free(pkg);
	return 0;
}

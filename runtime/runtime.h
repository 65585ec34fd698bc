/* runtime.h — libhotpatch's internals shared by its halves: loader.c places a package's new
 * code in the process, hotpatch.c redirects functions to it and keeps the registry (the code
 * writing itself is site_write.h's; control.c, which serves hpctl, needs only hotpatch.h). */
#ifndef HP_RUNTIME_H
#define HP_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "hotpatch.h"
#include "package_read.h"
#include "text.h"

/* A module (the program or a shared library) as loaded in this process. */
struct hp_loaded {
	char path[256];
	uintptr_t base;               /* load bias: symbol offsets are relative to it */
	uintptr_t start, end;         /* the extent of its PT_LOAD segments */
	int program;                  /* the main program (never unloaded), not a shared library */
};

/* A package module's new code and data, mapped and relocated. */
struct hp_mapping {
	uint8_t checksum[16];         /* of the package it came from: mappings are reused */
	uint32_t module;              /* index of the module in that package */
	uintptr_t module_base;        /* load base of the module it patches */
	void *base;
	size_t size;
	uintptr_t segment[HP_SEG_COUNT];
	uintptr_t eh_frame;           /* its unwind table, 0: none */
	int unwind_registered;
};

/* Where the code of live patch entry i (the i-th of those hp_status lists) runs from: the
 * mapping its functions are in, code and data, as [*start, *end).  For hpctl's safe switch
 * (control.h), which must know whether a thread is inside code a package takes out of use.
 * Returns 0, or -1 when there is no such entry. */
int hp_patch_code(size_t i, uintptr_t *start, uintptr_t *end);

/* Finds the loaded module with that GNU build-id.  Returns 0 or -HP_E_MODULE. */
int hp_find_module(const uint8_t *build_id, size_t size, struct hp_loaded *out);

/* Finds a loaded module whose file is called like name's last component (its loaded name, the
 * file that name leads to, or for the main program the file it was started from), whatever its
 * build-id, which is copied to build_id (size 0: it has none).  Returns 0 or -HP_E_MODULE. */
int hp_find_module_named(const char *name, struct hp_loaded *out, uint8_t build_id[32], size_t *build_id_size);

/* The last component of a path: "libfoo.so" of "lib/libfoo.so". */
const char *hp_file_name(const char *path);

/* How far new code may be from the module it patches, as messages say it: x86-64's rel32 fields
 * and slot jumps reach ±2 GiB, AArch64's B ±128 MiB. */
#if defined(__aarch64__)
#define HP_NEAR "128 MiB"
#else
#define HP_NEAR "2 GiB"
#endif

/* Maps [size] bytes within HP_NEAR of every byte of the module, read-write.  Returns NULL when no
 * room. */
void *hp_map_near(const struct hp_loaded *mod, size_t size);

/* Registers the mapping's unwind table with the process's unwinder (once), loading libgcc_s if
 * the program has not yet: glibc's backtrace(), pthread_cancel and C++/-fexceptions unwinding use
 * it.  Only ever for code that stays mapped: the unwinder reads the table whenever a stack is
 * walked.  Returns 0 (also when there is no table), or -HP_E_SYMBOL with the call that failed in
 * err. */
int hp_register_unwind(struct hp_mapping *map, char *err, size_t err_size);

/* Takes the mapping's unwind table back from the unwinder, if registered. */
void hp_deregister_unwind(struct hp_mapping *map);

/* Unmaps a mapping no thread can have entered, its unwind table deregistered first. */
void hp_unmap(struct hp_mapping *map);

/* Keeps a patched shared library loaded for good (RTLD_NODELETE), so that dlclose cannot unmap
 * code the patch redirects (or a slot it jumps through) and load a fresh copy over it.  The main
 * program needs nothing.  Returns 0, or -HP_E_MODULE with the call that failed in err. */
int hp_pin_module(const struct hp_loaded *mod, char *err, size_t err_size);

/* Maps, relocates and protects module index of a decoded package.
 * Returns 0, or a negative hp_error with details in err. */
int hp_load(const struct hp_package *package, uint32_t index, const struct hp_loaded *mod, struct hp_mapping *out,
            char *err, size_t err_size);

/* Frees every shadow block (hotpatch_state.h) allocated by code in [start, end) and not freed:
 * the mapped code of a module's packages, once its live patch is reverted and its post-revert
 * hooks have run.  shadow.c records, for each block, the address the allocating call returns to. */
void hp_shadow_release_owned(uintptr_t start, uintptr_t end);

#endif

/* package_read.h — reading a hotpatch package (hp_package.h): every byte is validated before
 * any use, then the package is decoded once into one struct that its readers use (the runtime
 * and hpdump), so that none of them reads the file's records or casts them in place.  libc only.
 *
 * The decoded package is one allocation owned by whoever decoded it (hp_package_free); its
 * segment pointers point into the caller's bytes, which must outlive it. */
#ifndef HP_PACKAGE_READ_H
#define HP_PACKAGE_READ_H

#include <stddef.h>
#include <stdint.h>
#include "hp_package.h"

/* A redirect, its name resolved (struct hp_pkg_redirect says what each field means). */
struct hp_package_redirect {
	const char *name;
	uint64_t old_offset;
	uint32_t new_offset;
	uint8_t site_offset;
	uint8_t expected_size;
	uint16_t flags;                     /* HP_REDIRECT_* */
	uint8_t expected[HP_PACKAGE_MAX_EXPECTED];
};

/* An import, its name resolved. */
struct hp_package_import {
	const char *name;                   /* never empty */
	uint32_t flags;                     /* HP_IMPORT_* */
};

/* A hook (hp_pkg_hook), its name resolved. */
struct hp_package_hook {
	const char *name;
	uint8_t kind;                       /* enum hp_pkg_hook_kind */
	uint32_t offset;                    /* its entry, in the module's text segment */
};

/* An acceptance (hp_pkg_accept), its strings resolved. */
struct hp_package_accept {
	uint32_t kind;                      /* enum hp_pkg_accept_kind */
	const char *subject, *hook, *reason;  /* hook: "" when none */
};

/* A module: its record's fields, its tables in host order and alignment, its segments. */
struct hp_package_module {
	const char *name;
	uint8_t arch;                       /* enum hp_pkg_arch */
	uint8_t build_id[32];
	uint8_t build_id_size;              /* 1 ..  32 */
	uint32_t redirect_count, import_count, reloc_count;
	const struct hp_package_redirect *redirects;  /* at least one, unless the module has hooks */
	const struct hp_package_import *imports;
	const struct hp_pkg_reloc *relocs;  /* each checked against its segment and target */
	const uint8_t *segment[HP_SEG_COUNT];  /* the bytes in the package; bss: NULL */
	uint32_t segment_size[HP_SEG_COUNT];
	uint32_t segment_align[HP_SEG_COUNT];
	uint32_t eh_frame_offset;           /* within rodata */
	uint32_t eh_frame_size;             /* 0: none */
	uint32_t hook_count, accept_count;
	const struct hp_package_hook *hooks;  /* in the order they run */
	const struct hp_package_accept *accepts;
};

struct hp_package {
	uint16_t version;
	uint64_t size;                      /* of the file */
	uint8_t checksum[16];
	uint32_t sequence;                  /* within its baseline (hp_pkg_header_seq); 0: none */
	uint32_t module_count;              /* 1 .. 4096 */
	const struct hp_package_module *modules;
};

/* Checks format, version, checksum, and that every count, offset, size, string, relocation and
 * redirect lies within the package and its segments, and each module's unwind table as
 * hp_package.h describes it (lengths, CIE pointers, encodings, relocations, terminator: the
 * unwinder the runtime registers it with trusts it), then decodes it into *out.  Returns 0;
 * -1 with a one-line reason in err when the package is malformed ("checksum mismatch", "module
 * 0: relocation 3 outside its segment", "module 0: unwind table: no terminator", ...); -2 with "out of memory" when it cannot be held. */
int hp_package_decode(const void *data, size_t size, struct hp_package **out, char *err, size_t err_size);

/* Frees a decoded package (NULL: nothing). */
void hp_package_free(struct hp_package *package);

/* A segment's name as messages and hpdump print it ("text", "rodata", "data", "bss"; "?"). */
const char *hp_package_segment_name(unsigned segment);

/* A hook's kind as messages print it ("pre-apply", "post-apply", "pre-revert", "post-revert";
 * "?"), and an acceptance's ("layout", "value"; "?"). */
const char *hp_package_hook_name(unsigned kind);
const char *hp_package_accept_name(unsigned kind);

#endif

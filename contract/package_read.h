/* package_read.h — reading a hotpatch package (hp_package.h): validation of every byte before any
 * use, and plain accessors.  libc only: the runtime and hpdump share it. */
#ifndef HP_PACKAGE_READ_H
#define HP_PACKAGE_READ_H

#include <stddef.h>
#include <stdint.h>
#include "hp_package.h"

/* Checks format, version, checksum, and that every count, offset, size, string, relocation and
 * redirect lies within the package and its segments.  Returns 0, or -1 with a one-line reason
 * in err ("checksum mismatch", "module 0: relocation 3 outside segment text", ...). */
int hp_package_check(const void *data, size_t size, char *err, size_t err_size);

/* Accessors for a package that passed hp_package_check (fields copied out: the file has no
 * alignment guarantees beyond its own offsets). */
void hp_package_header(const void *data, struct hp_pkg_header *out);
void hp_package_module(const void *data, uint32_t index, struct hp_pkg_module *out);
void hp_package_redirect(const void *data, const struct hp_pkg_module *m, uint32_t index,
                         struct hp_pkg_redirect *out);
void hp_package_import(const void *data, const struct hp_pkg_module *m, uint32_t index,
                       struct hp_pkg_import *out);
void hp_package_reloc(const void *data, const struct hp_pkg_module *m, uint32_t index,
                      struct hp_pkg_reloc *out);
const char *hp_package_string(const void *data, uint32_t offset);

/* A segment's name as messages and hpdump print it ("text", "rodata", "data", "bss"; "?"). */
const char *hp_package_segment_name(unsigned segment);

#endif

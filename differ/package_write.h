/* package_write.h — serializes the modules hpdiff decided on into one package file
 * (hp_package.h): deterministic bytes, checksum last. */
#ifndef HP_PACKAGE_WRITE_H
#define HP_PACKAGE_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "diff.h"

/* Writes the package to path, atomically: a temporary file beside it, renamed into place.
 * sequence 0 writes today's 64-byte header; any other the extended one that carries it
 * (hp_pkg_header_seq).  Returns its size, or -1 with err set (and path untouched). */
long hp_package_write(const char *path, struct hp_out_module *const *modules, size_t count, uint32_t sequence,
                      char *err, size_t err_size);

#endif

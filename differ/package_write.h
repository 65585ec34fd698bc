/* package_write.h — serializes the modules hpdiff decided on into one package file
 * (hp_package.h): deterministic bytes, checksum last. */
#ifndef HP_PACKAGE_WRITE_H
#define HP_PACKAGE_WRITE_H

#include <stddef.h>
#include "diff.h"

/* Writes the package to path, atomically: a temporary file beside it, renamed into place.
 * Returns its size, or -1 with err set (and path untouched). */
long hp_package_write(const char *path, struct hp_out_module *const *modules, size_t count,
                      char *err, size_t err_size);

#endif

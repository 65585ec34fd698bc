/* file_write.h — how the tools put a file they produce (a package, a signed package) in place:
 * whole or not at all.  For the host tools only (hpdiff, hpsign), not the runtime. */
#ifndef HP_FILE_WRITE_H
#define HP_FILE_WRITE_H

#include <stddef.h>
#include <stdint.h>

/* Writes a then b (b may be NULL) to a temporary file beside path, then renames it into place,
 * so a reader (or a later run) sees the old file or the new one, never half of one; the mode is
 * 0666 less the umask.  A character device named directly (-o /dev/null) is written into, since
 * renaming over it would put a file in its place; a link planted at path is replaced like any
 * file, never written through.  Returns 0, or -1 with "PATH: reason" in err. */
int hp_write_file(const char *path, const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, char *err,
                  size_t err_size);

#endif

/* reloc.h — applying a package's relocation (hp_package.h, enum hp_pkg_reloc_type) to the bytes
 * it names: the runtime binds new code with it; every kind's arithmetic and encoding is here, once.
 * libc only. */
#ifndef HP_RELOC_H
#define HP_RELOC_H

#include <stddef.h>
#include <stdint.h>

/* The bytes a relocation of that type writes (4 or 8); 0 for an unknown type. */
unsigned hp_reloc_width(unsigned type);

/* Whether the type belongs to code of that architecture (enum hp_pkg_arch). */
int hp_reloc_for_arch(unsigned type, unsigned arch);

/* Writes the value of a relocation into field (hp_reloc_width bytes, little-endian, any
 * alignment): target is S + A, place is P.  Returns 0, or -1 with why set ("does not reach its
 * target", "is not aligned", "does not fit 32 bits") when the value cannot be encoded; field is
 * then unchanged. */
int hp_reloc_write(unsigned type, uint8_t *field, uint64_t target, uint64_t place, const char **why);

#endif

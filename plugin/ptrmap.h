/* ptrmap.h — a map from pointers to 32-bit values for the fingerprinter (fingerprint.c): an
 * LLVM value to its position in the function being walked, a shared constant or metadata node
 * to its cached content hash.  Open addressing; never iterated, so its order is never output.
 *
 * Entries carry the generation they were put in; clearing starts a new generation, so that a
 * map grown for one huge function does not cost its whole size again for every small one. */
#ifndef HP_PTRMAP_H
#define HP_PTRMAP_H

#include <stddef.h>
#include <stdint.h>

struct hp_ptrmap {
	uintptr_t *keys;
	uint32_t *values;
	uint32_t *gens;
	size_t cap, used;         /* cap is a power of two */
	uint32_t gen;             /* entries of other generations are empty */
};

/* Aborts when memory runs out: LLVM itself cannot continue without memory either. */
void hp_ptrmap_put(struct hp_ptrmap *m, const void *key, uint32_t value);
/* 1 with *value set when key is in the map, else 0. */
int hp_ptrmap_get(const struct hp_ptrmap *m, const void *key, uint32_t *value);
/* Empties the map, keeping its storage. */
void hp_ptrmap_clear(struct hp_ptrmap *m);
void hp_ptrmap_free(struct hp_ptrmap *m);

#endif

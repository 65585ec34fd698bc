/* ptrmap.c — the fingerprinter's pointer-keyed map (ptrmap.h). */
#include "ptrmap.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const struct hp_ptrmap *m, uintptr_t key)
{
	size_t i = (size_t)((key >> 4) * 0x9E3779B97F4A7C15ull) & (m->cap - 1);
	while (m->gens[i] == m->gen && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int ptrmap_grow(struct hp_ptrmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256;
	struct hp_ptrmap n = { calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.values),
		            calloc(cap, sizeof *n.gens), cap, m->used, 1 };
	if (!n.keys || !n.values || !n.gens) {
		free(n.keys);
		free(n.values);
		free(n.gens);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->gens[i] == m->gen) {
			size_t s = slot_of(&n, m->keys[i]);
			n.keys[s] = m->keys[i];
			n.values[s] = m->values[i];
			n.gens[s] = n.gen;
		}
	free(m->keys);
	free(m->values);
	free(m->gens);
	*m = n;
	return 0;
}

void hp_ptrmap_put(struct hp_ptrmap *m, const void *key, uint32_t value)
{
	if ((m->used + 1) * 2 > m->cap && ptrmap_grow(m) != 0)
		abort();  /* LLVM itself cannot continue without memory either */
	size_t s = slot_of(m, (uintptr_t)key);
	if (m->gens[s] != m->gen)
		m->used++;
	m->keys[s] = (uintptr_t)key;
	m->values[s] = value;
	m->gens[s] = m->gen;
}

int hp_ptrmap_get(const struct hp_ptrmap *m, const void *key, uint32_t *value)
{
	if (!m->cap)
		return 0;
	size_t s = slot_of(m, (uintptr_t)key);
	if (m->gens[s] != m->gen)
		return 0;
	*value = m->values[s];
	return 1;
}

void hp_ptrmap_clear(struct hp_ptrmap *m)
{
	m->used = 0;
	if (++m->gen == 0) {  /* wrapped: every old stamp could look current again */
		if (m->cap)
			memset(m->gens, 0, m->cap * sizeof *m->gens);
		m->gen = 1;
	}
}

void hp_ptrmap_free(struct hp_ptrmap *m)
{
	free(m->keys);
	free(m->values);
	free(m->gens);
}

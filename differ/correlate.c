/* correlate.c — the first phase: pairs the functions and variables of the two builds by
 * identity (the symbol name, unit-unique for file-local ones) and finds each one's code or data
 * in the running module. */
#include "diff_internal.h"

#include <stdlib.h>

static int is_weak(const struct hp_rec *r)
{
	return r->linkage == HP_META_WEAK || r->linkage == HP_META_LINKONCE;
}

/* Keeps the definition that won the link (hazard 11): a strong one over weak ones, and among
 * weak ones the first in link order, which is the order of the metadata. */
static void take_record(struct entity *e, const struct hp_rec *r, int is_new)
{
	const struct hp_rec **slot = is_new ? &e->new : &e->old;
	int *ambiguous = is_new ? &e->new_ambiguous : &e->old_ambiguous;
	const struct hp_rec *had = *slot;
	if (!had || (had->flags & HP_META_INLINED_AWAY && !(r->flags & HP_META_INLINED_AWAY))) {
		*slot = r;
		return;
	}
	if (r->flags & HP_META_INLINED_AWAY || !memcmp(had->fingerprint, r->fingerprint, 16))
		return;
	const struct hp_rec *lost = r;
	if (is_weak(had) && !is_weak(r)) {
		*slot = r;
		lost = had;
	} else if (!is_weak(had) && !is_weak(r)) {
		*ambiguous = 1;  /* two strong (file-local) copies of one name: one unit linked twice */
		return;
	}
	if (is_new)
		e->new_lost = lost;
}

void hp_correlate(struct ctx *c)
{
	for (int side = 0; side < 2; side++) {
		struct hp_meta *m = side ? &c->new->meta : &c->old->meta;
		for (size_t t = 0; t < m->tu_count; t++)
			for (size_t i = 0; i < m->tus[t].record_count; i++) {
				const struct hp_rec *r = &m->tus[t].records[i];
				struct entity e = { .name = r->name };
				PUSH(c->ents, c->ent_count, e);
			}
	}
	hp_sort(c->ents, c->ent_count, sizeof *c->ents, hp_entity_cmp);
	size_t n = 0;  /* unique names */
	for (size_t i = 0; i < c->ent_count; i++)
		if (!n || strcmp(c->ents[n - 1].name, c->ents[i].name))
			c->ents[n++] = c->ents[i];
	c->ent_count = n;
	for (int side = 0; side < 2; side++) {
		struct hp_meta *m = side ? &c->new->meta : &c->old->meta;
		for (size_t t = 0; t < m->tu_count; t++)
			for (size_t i = 0; i < m->tus[t].record_count; i++) {
				const struct hp_rec *r = &m->tus[t].records[i];
				take_record(hp_find_entity(c, r->name), r, side);
			}
	}
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_symbol *s = hp_elf_find_symbol(&c->old->elf, e->name);
		e->old_sym = hp_has_code(e->old) && s && s->section != SHN_UNDEF ? s : NULL;
	}
}

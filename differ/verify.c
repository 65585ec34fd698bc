/* verify.c — the third phase: refuses, from the records, what cannot be applied to a live
 * process (units built differently, changed type layouts, ambiguous symbols, lost or changed
 * state, constructors that already ran; docs/hazards.md). */
#include "diff_internal.h"

#include <stdlib.h>

/* Two units that hold the same functions must have been compiled alike (hazard 24), whatever
 * their names; units of the same name must keep the layout of every type live code uses. */
static void verify_unit_pair(struct ctx *c, const struct hp_tu *o, const struct hp_tu *n)
{
	if (n->flags & HP_META_TU_LTO)
		hp_refuse(c, "unit", n->name, n->name,
		          "built with LTO: its fingerprints predate link-time optimization");
	if (strcmp(o->producer, n->producer))
		hp_refuse(c, "unit", n->name, n->name, "compiler differs: old '%s', new '%s'", o->producer,
		          n->producer);
	else if (strcmp(o->triple, n->triple))
		hp_refuse(c, "unit", n->name, n->name,
		          "target differs: old %s, new %s", o->triple, n->triple);
	else if (!same16(o->options_hash, n->options_hash))
		hp_refuse(c, "unit", n->name, n->name, "code generation options differ: old '%s', new '%s'",
		          o->options, n->options);
	if (strcmp(o->name, n->name))
		return;
	for (size_t a = 0; a < o->type_count; a++)
		for (size_t b = 0; b < n->type_count; b++) {
			if (strcmp(o->types[a].name, n->types[b].name) || same16(o->types[a].layout, n->types[b].layout))
				continue;
			const char *user = NULL;
			for (size_t r = 0; r < o->record_count && !user; r++)
				for (uint32_t k = 0; k < o->records[r].type_count && !user; k++)
					if (o->records[r].types[k] == a)
						user = o->records[r].name;
			if (!user)
				continue;
			const char *reason = hp_accepted_layout(c, n->name, &o->types[a], &n->types[b]);
			if (reason && o->types[a].size == n->types[b].size)
				hp_note(c, "type", o->types[a].name, n->name, HP_VERDICT_ACCEPTED, 0,
				        "layout changed (size %u) while live code uses it (%s); accepted in the new source: %s",
				        n->types[b].size, user, reason);
			else
				hp_refuse(c, "type", o->types[a].name, n->name,
				          "layout changed (size %u -> %u) while live code uses it (%s); %s", o->types[a].size,
				          n->types[b].size, user,
				          o->types[a].size != n->types[b].size ?
				                  "live objects cannot grow or shrink: keep the old layout and the new fields "
				                  "in shadow data (hotpatch_state.h)" :
				                  "if live objects are valid under the new layout, accept it with "
				                  "HOTPATCH_ACCEPT_LAYOUT (hotpatch_state.h)");
		}
}

static const struct hp_tu *unit_named(const struct hp_meta *m, const char *name)
{
	for (size_t t = 0; t < m->tu_count; t++)
		if (!strcmp(m->tus[t].name, name))
			return &m->tus[t];
	return NULL;
}

static const char *file_part(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static size_t external_functions(const struct hp_tu *u)
{
	size_t n = 0;
	for (size_t r = 0; r < u->record_count; r++)
		n += u->records[r].kind == HP_META_FUNCTION && u->records[r].linkage == HP_META_EXTERNAL;
	return n;
}

/* The same non-empty set of external functions: a unit's public face, which a different
 * root= does not change. */
static int same_external_functions(const struct hp_tu *a, const struct hp_tu *b)
{
	size_t count = external_functions(a);
	if (!count || count != external_functions(b))
		return 0;
	for (size_t r = 0; r < a->record_count; r++) {
		const struct hp_rec *x = &a->records[r];
		if (x->kind != HP_META_FUNCTION || x->linkage != HP_META_EXTERNAL)
			continue;
		int found = 0;
		for (size_t k = 0; k < b->record_count && !found; k++)
			found = b->records[k].kind == HP_META_FUNCTION && b->records[k].linkage == HP_META_EXTERNAL &&
			        !strcmp(b->records[k].name, x->name);
		if (!found)
			return 0;
	}
	return 1;
}

/* A unit's source identity (the path the plugin records, relative to root=) names its
 * file-local functions, so builds that name the same file differently (a different root=, an
 * out-of-tree build directory inside the path) see every static function removed and added:
 * a changed one is "added" and never redirected, and only its callers are patched.  A unit of
 * OLD without a namesake in NEW that looks like one of NEW's units without a namesake in OLD
 * (the same file name, else the same external functions) is therefore refused; a file that is
 * really new or removed has no such look-alike and stays allowed. */
static void verify_unit_identities(struct ctx *c)
{
	const struct hp_meta *om = &c->old->meta, *nm = &c->new->meta;
	char *taken = hp_xcalloc(nm->tu_count + 1, 1);
	for (int pass = 0; pass < 2; pass++)  /* file names first, so that they win over externals */
		for (size_t i = 0; i < om->tu_count; i++) {
			const struct hp_tu *o = &om->tus[i];
			if (unit_named(nm, o->name))
				continue;
			for (size_t k = 0; k < nm->tu_count; k++) {
				const struct hp_tu *n = &nm->tus[k];
				if (taken[k] || unit_named(om, n->name))
					continue;
				if (pass == 0 ? strcmp(file_part(o->name), file_part(n->name)) : !same_external_functions(o, n))
					continue;
				taken[k] = 1;
				hp_refuse(c, "unit", o->name, n->name,
				          "unit %s in OLD is named %s in NEW: build both with the same -fplugin-arg-hotpatch-root= "
				          "(the source identities must match)", o->name, n->name);
				break;
			}
		}
	free(taken);
}

void hp_verify_units(struct ctx *c)
{
	verify_unit_identities(c);
	const struct hp_tu **seen = NULL;
	size_t seen_count = 0;
	for (size_t i = 0; i < c->ent_count; i++) {
		const struct entity *e = &c->ents[i];
		if (!e->old || !e->new)
			continue;
		int done = 0;
		for (size_t k = 0; k + 1 < seen_count && !done; k += 2)
			done = seen[k] == e->old->tu && seen[k + 1] == e->new->tu;
		if (done)
			continue;
		PUSH(seen, seen_count, e->old->tu);
		PUSH(seen, seen_count, e->new->tu);
		verify_unit_pair(c, e->old->tu, e->new->tu);
	}
	for (size_t t = 0; t < c->new->meta.tu_count; t++)  /* a new unit under LTO, paired or not */
		if (c->new->meta.tus[t].flags & HP_META_TU_LTO)
			hp_refuse(c, "unit", c->new->meta.tus[t].name, c->new->meta.tus[t].name,
			          "built with LTO: its fingerprints predate link-time optimization");
	free(seen);
}

void hp_verify_entities(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		const struct hp_rec *o = e->old, *n = e->new;
		const char *unit = hp_unit_of(e);
		if (e->new_lost && e->new && !same16(e->new_lost->fingerprint, e->new->fingerprint))
			hp_note(c, "function", e->name, e->new_lost->tu->name, HP_VERDICT_SKIPPED, 0,
			        "weak definition that lost the link to the one in %s: its code never runs", e->new->tu->name);
		if (e->old_ambiguous || e->new_ambiguous) {
			hp_refuse(c, "symbol", e->name, unit,
			          "defined more than once with different code in the %s build: which copy runs cannot be told",
			          e->old_ambiguous ? "old" : "new");
			continue;
		}
		if (e->status == HP_REMOVED && o->kind == HP_META_VARIABLE && (o->flags & HP_META_STATIC_LOCAL)) {
			if (!c->opt->allow_lost_state)
				hp_refuse(c, "variable", e->name, unit,
				          "static local removed: the state it holds would be lost (--allow-lost-state to accept)");
			continue;
		}
		if (e->status == HP_NEW && n->kind == HP_META_VARIABLE && (n->flags & HP_META_THREAD_LOCAL))
			continue;  /* refused only if new code uses it (resolve) */
		if (e->status != HP_CHANGED)
			continue;
		if (n->kind == HP_META_VARIABLE) {
			if (n->flags & HP_META_CONSTANT && o->flags & HP_META_CONSTANT)
				continue;  /* read-only: the new contents travel with the code that reads them */
			const char *what = n->flags & HP_META_STATIC_LOCAL ? "a static local" : "writable data";
			const char *reason = hp_accepted_value(c, e->name, unit, n->linkage != HP_META_EXTERNAL);
			if (reason && o->size == n->size)
				hp_note(c, "variable", e->name, unit, HP_VERDICT_ACCEPTED, 0,
				        "initializer of %s changed; the live variable keeps its value, accepted in the new "
				        "source: %s", what, reason);
			else if (reason)
				hp_refuse(c, "variable", e->name, unit,
				          "size of %s changed (%llu -> %llu): HOTPATCH_ACCEPT_VALUE cannot accept it, the live "
				          "variable cannot grow or shrink (keep the old definition; new state goes in a new "
				          "variable or shadow data)", what, (unsigned long long)o->size, (unsigned long long)n->size);
			else
				hp_refuse(c, "variable", e->name, unit,
				          "%s of %s changed: live state cannot be re-initialized by a patch; keep the old "
				          "definition, or set the live value in a state hook and accept the change with "
				          "HOTPATCH_ACCEPT_VALUE (hotpatch_state.h)",
				          o->size != n->size ? "size" : "initializer", what);
			continue;
		}
		if (n->flags & (HP_META_CONSTRUCTOR | HP_META_DESTRUCTOR))
			hp_refuse(c, "function", e->name, unit, "%s changed: it already ran",
			          n->flags & HP_META_CONSTRUCTOR ? "constructor" : "destructor");
		else if ((o->flags | n->flags) & HP_META_NO_PATCH)
			hp_refuse(c, "function", e->name, unit,
			          "changed, but marked not patchable (hotpatch_exclude)");
	}
}

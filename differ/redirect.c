/* redirect.c — the fourth phase: for every changed function the running module has, a redirect
 * from its old entry to its new code, with the exact bytes the runtime must find there, or the
 * reason it cannot have one. */
#include "diff_internal.h"

#include <stdio.h>

/* One changed function that is not refused: its new code and a redirect from the old entry,
 * with the exact bytes the runtime must find there first, or the reason it has none.  Returns 0,
 * or -1 with c->err set. */
static int redirect_one(struct ctx *c, struct entity *e)
{
	if (!e->old_sym) {
		hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_SKIPPED, 0, "%s; not linked into the running module",
		        e->why);
		return 0;
	}
	if (!is_zero16(e->old->abi_fingerprint) && !same16(e->old->abi_fingerprint, e->new->abi_fingerprint)) {
		/* Its callers must call it differently now (hazard 8): redirecting the old entry
		 * would feed it the old arguments.  Patched callers call the new copy; safe only if
		 * no unchanged caller still calls the old one. */
		const char *stale = NULL;
		const struct hp_tu *tu = e->old->tu;
		for (size_t r = 0; r < tu->record_count && !stale; r++)
			for (uint32_t k = 0; k < tu->records[r].call_count && !stale; k++) {
				struct entity *caller = hp_find_entity(c, tu->records[r].name);
				if (&tu->records[tu->records[r].calls[k]] == e->old && caller && caller->status != HP_CHANGED &&
				    hp_has_code(&tu->records[r]))
					stale = tu->records[r].name;
			}
		if (e->old->linkage != HP_META_INTERNAL)
			hp_refuse(c, "function", e->name, hp_unit_of(e),
			          "its signature changed: callers in other units would call it the old way");
		else if (stale)
			hp_refuse(c, "function", e->name, hp_unit_of(e),
			          "the compiler changed how it is called (an argument or return value removed), "
			          "but unchanged %s still calls it the old way", stale);
		else
			hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_KEPT, 0,
			        "%s; how it is called changed, so the old entry stays as it is and every caller is patched", e->why);
		return 0;
	}
	const struct hp_site_arch *site = c->arch->site;
	size_t len = 0;
	const uint8_t *bytes = hp_elf_symbol_bytes(&c->old->elf, e->old_sym, -(int64_t)site->padding,
	                                           (size_t)site->padding + site->marker_size + site->size, &len);
	struct hp_site p;
	if (bytes)
		site->inspect(bytes, len, e->old_sym->value, &p);
	if (!bytes || p.problem) {
		hp_refuse(c, "function", e->name, hp_unit_of(e),
		          "%s, but its running copy cannot be redirected: %s",
		          e->why, bytes ? p.problem : site->padding ? "no patchable padding before the entry"
		                                                    : "no code at its entry");
		return 0;
	}
	struct copy *k = hp_include(c, e);
	if (!k)
		return -1;
	if (c->collecting)
		return 0;  /* the package is refused: nothing is redirected */
	const struct hp_symbol *s = hp_elf_find_symbol(&k->obj->elf, e->name);
	struct hp_pkg_redirect rd = { .old_offset = e->old_sym->value,
		                      .new_offset = k->offset + (uint32_t)(s->value - k->start),
		                      .site_offset = (uint8_t)p.offset,
		                      .expected_size = (uint8_t)(site->padding + p.offset + site->size) };
	memcpy(rd.expected, bytes, rd.expected_size);
	if (e->new->flags & HP_META_RECURSIVE)
		rd.flags |= HP_REDIRECT_RECURSIVE;
	if (e->new->flags & HP_META_VARIADIC)
		rd.flags |= HP_REDIRECT_VARIADIC;
	if (p.needs_stopped_world)
		rd.flags |= HP_REDIRECT_STOPPED_WORLD;
	PUSH(c->d->out.redirects, c->d->out.redirect_count, rd);
	c->d->out.redirect_names = hp_xrealloc(c->d->out.redirect_names, c->d->out.redirect_count * sizeof(char *));
	c->d->out.redirect_names[c->d->out.redirect_count - 1] = hp_xstrdup(e->name);
	c->d->changed++;
	hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_PATCHED, k->size, "%s%s", e->why,
	        p.needs_stopped_world ? "; its entry starts with a 1-byte instruction (entry=padding-only): it is "
	                                "switched only with every thread stopped (hpctl apply --safe)" : "");
	return 0;
}

int hp_redirect_changed(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		if (e->status != HP_CHANGED || e->new->kind != HP_META_FUNCTION || !hp_has_code(e->new))
			continue;
		if (!e->redirect_decided && !hp_refused(c, e->name)) {
			e->redirect_decided = 1;
			if (redirect_one(c, e) < 0 && !c->collecting)
				return -1;
		}
		/* Collecting: a refused function's new code is taken in as if it were patched, so
		 * that resolve names whatever else in it would be refused. */
		if (c->collecting && e->old_sym && !e->copy && hp_refused(c, e->name))
			hp_include(c, e);
	}
	return 0;
}

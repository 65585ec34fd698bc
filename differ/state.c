/* state.c — what the patch author declared about state in the new source (hotpatch_state.h):
 * hooks and acceptances, read from the ".hotpatch.state" records of the new module's objects.
 * Read after compare; verify asks it whether a refused data change is accepted (hp_accepted_*);
 * hp_verify_state then refuses what the declarations get wrong (a marker that matches nothing,
 * a migration by a hook the package lacks) and records the acceptances in the package; the hooks'
 * code is placed before resolve binds it (hp_include_hooks). */
#include "diff_internal.h"

#include <stdlib.h>

#include "hotpatch_state.h"
#include "source_name.h"

struct state_record {
	const char *kind, *subject, *hook, *reason;  /* as written (hotpatch_state.h) */
	uint8_t hook_kind;                           /* HP_HOOK_*, or 0 for an acceptance */
	uint32_t accept_kind;                        /* HP_ACCEPT_*, or 0 for a hook */
	struct hp_object *obj;                       /* the object it is in */
	const char *unit;                            /* that object's unit */
	int used;                                    /* an acceptance that accepted a change */
};

static const struct {
	const char *word;
	uint8_t hook;
	uint32_t accept;
	const char *says;  /* for --explain */
} kinds[] = {
	{ "pre_apply", HP_HOOK_PRE_APPLY, 0, "pre-apply hook: runs before the switch, may veto it" },
	{ "post_apply", HP_HOOK_POST_APPLY, 0, "post-apply hook: runs once the new code is live" },
	{ "pre_revert", HP_HOOK_PRE_REVERT, 0, "pre-revert hook: runs before the switch back, may veto it" },
	{ "post_revert", HP_HOOK_POST_REVERT, 0, "post-revert hook: runs after the switch back" },
	{ "layout", 0, HP_ACCEPT_LAYOUT, "HOTPATCH_ACCEPT_LAYOUT" },
	{ "value", 0, HP_ACCEPT_VALUE, "HOTPATCH_ACCEPT_VALUE" },
};

/* The string at *at, which must end inside [0, size); NULL when it does not. */
static const char *next_string(const uint8_t *data, size_t size, size_t *at)
{
	const uint8_t *end = *at < size ? memchr(data + *at, 0, size - *at) : NULL;
	if (!end)
		return NULL;
	const char *s = (const char *)data + *at;
	*at = (size_t)(end - data) + 1;
	return s;
}

/* Whether s is one line: the reason travels into one-line messages (--explain, hpdump, the
 * history), where a control character would start another line or rewrite this one. */
static int one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The object a unit of the new module was built into: one linked into a module first, as
 * hp_build_object_for chooses. */
static struct hp_object *object_of_unit(struct hp_build *b, const char *unit)
{
	for (size_t i = 0; i < 2 * b->object_count; i++) {
		struct hp_object *o = &b->objects[i % b->object_count];
		if (i < b->object_count ? !o->linked : o->linked)
			continue;
		for (size_t t = 0; t < o->meta.tu_count; t++)
			if (!strcmp(o->meta.tus[t].name, unit))
				return o;
	}
	return NULL;
}

static int read_object(struct ctx *c, struct hp_object *o, const char *unit)
{
	size_t size = 0;
	const uint8_t *data = hp_elf_section(&o->elf, HOTPATCH_STATE_SECTION, &size);
	for (size_t at = 0; data && at < size;) {
		if (!data[at]) {
			at++;  /* padding between records */
			continue;
		}
		size_t start = at;
		const char *magic = next_string(data, size, &at), *kind = magic ? next_string(data, size, &at) : NULL;
		const char *subject = kind ? next_string(data, size, &at) : NULL;
		const char *hook = subject ? next_string(data, size, &at) : NULL;
		const char *reason = hook ? next_string(data, size, &at) : NULL;
		size_t k = 0;
		while (kind && k < sizeof kinds / sizeof *kinds && strcmp(kinds[k].word, kind))
			k++;
		const char *wrong = !reason || strcmp(magic, HOTPATCH_STATE_MAGIC) ? "not a record of this hotpatch_state.h" :
		                    k == sizeof kinds / sizeof *kinds                ? "unknown kind" :
		                    !subject[0]                                       ? "no subject" :
		                    kinds[k].accept && !reason[0]                     ? "an acceptance without a reason" :
		                    kinds[k].hook && (hook[0] || reason[0])           ? "a hook with a reason" :
		                    !one_line(reason)                                 ? "a reason that is not one line of text" :
		                                                                        NULL;
		if (wrong) {
			snprintf(c->err, c->err_size, "%s: section %s, offset %zu: %s", o->elf.path, HOTPATCH_STATE_SECTION,
			         start, wrong);
			return -1;
		}
		struct state_record r = { kind, subject, hook, reason, kinds[k].hook, kinds[k].accept, o, unit, 0 };
		PUSH(c->state, c->state_count, r);
	}
	return 0;
}

int hp_read_state(struct ctx *c)
{
	for (size_t t = 0; t < c->new->meta.tu_count; t++) {
		const char *unit = c->new->meta.tus[t].name;
		struct hp_object *o = object_of_unit(c->new_build, unit);
		/* An object of several units (ld -r) holds one section for all of them: read once, or
		 * each hook would run once per unit.  Its records are given to its first unit here. */
		int read = 0;
		for (size_t i = 0; i < c->state_count && !read; i++)
			read = c->state[i].obj == o;
		if (o && !read && read_object(c, o, unit))
			return -1;
	}
	return 0;
}

/* A variable's or type's name as the author writes it: the symbol without the compiler's
 * ".__uniq.N" (a static local is "function.variable"). */
static int names(const char *symbol, const char *written)
{
	char plain[512];
	hp_source_name(symbol, plain, sizeof plain);
	return !strcmp(plain, written);
}

static const struct hp_type *type_in(const struct hp_meta *m, const char *unit, const char *name)
{
	for (size_t t = 0; t < m->tu_count; t++)
		if (!strcmp(m->tus[t].name, unit))
			for (size_t k = 0; k < m->tus[t].type_count; k++)
				if (!strcmp(m->tus[t].types[k].name, name))
					return &m->tus[t].types[k];
	return NULL;
}

/* Whether a marker's unit sees the same change of the type as unit does: the same layouts,
 * old and new, under that name (another file's private struct of the same name is another
 * type). */
static int same_change(struct ctx *c, const struct state_record *r, const char *unit, const struct hp_type *o,
                       const struct hp_type *n)
{
	if (!strcmp(r->unit, unit))
		return 1;
	const struct hp_type *ro = type_in(&c->old->meta, r->unit, o->name), *rn = type_in(&c->new->meta, r->unit, n->name);
	return ro && rn && same16(ro->layout, o->layout) && same16(rn->layout, n->layout);
}

const char *hp_accepted_layout(struct ctx *c, const char *unit, const struct hp_type *o, const struct hp_type *n)
{
	for (size_t i = 0; i < c->state_count; i++) {
		struct state_record *r = &c->state[i];
		if (r->accept_kind == HP_ACCEPT_LAYOUT && !strcmp(o->name, r->subject) && same_change(c, r, unit, o, n)) {
			r->used = 1;
			return r->reason;
		}
	}
	return NULL;
}

const char *hp_accepted_value(struct ctx *c, const char *name, const char *unit, int file_local)
{
	for (size_t i = 0; i < c->state_count; i++) {
		struct state_record *r = &c->state[i];
		if (r->accept_kind == HP_ACCEPT_VALUE && names(name, r->subject) && (!file_local || !strcmp(r->unit, unit))) {
			r->used = 1;
			return r->reason;
		}
	}
	return NULL;
}

static const struct state_record *hook_named(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->state_count; i++)
		if ((c->state[i].hook_kind == HP_HOOK_PRE_APPLY || c->state[i].hook_kind == HP_HOOK_POST_APPLY) &&
		    !strcmp(c->state[i].subject, name))
			return &c->state[i];
	return NULL;
}

void hp_verify_state(struct ctx *c)
{
	struct hp_out_module *m = &c->d->out;
	for (size_t i = 0; i < c->state_count; i++) {
		const struct state_record *r = &c->state[i];
		if (!r->accept_kind)
			continue;
		const char *macro = r->accept_kind == HP_ACCEPT_LAYOUT ? "HOTPATCH_ACCEPT_LAYOUT" : "HOTPATCH_ACCEPT_VALUE";
		if (!r->used) {
			hp_refuse(c, "marker", r->subject, r->unit,
			          "%s%s(%s) accepts nothing: no refused %s of %s in this module", macro,
			          r->hook[0] ? "_MIGRATED" : "", r->subject,
			          r->accept_kind == HP_ACCEPT_LAYOUT ? "layout change" : "change of initial value", r->subject);
			continue;
		}
		if (r->hook[0] && !hook_named(c, r->hook)) {
			hp_refuse(c, "marker", r->subject, r->unit,
			          "%s_MIGRATED(%s, %s): %s is not a pre-apply or post-apply hook of this module's new code",
			          macro, r->subject, r->hook, r->hook);
			continue;
		}
		struct hp_out_accept a = { r->accept_kind, hp_xstrdup(r->subject), hp_xstrdup(r->hook),
			                   hp_xstrdup(r->reason) };
		PUSH(m->accepts, m->accept_count, a);
	}
}

/* The hook's function in its object: the symbol the name was given to (a file-local function
 * carries the compiler's ".__uniq.N"). */
static const struct hp_symbol *hook_symbol(const struct state_record *r)
{
	size_t len = strlen(r->subject);
	for (size_t i = 0; i < r->obj->elf.symbol_count; i++) {
		const struct hp_symbol *s = &r->obj->elf.symbols[i];
		if (s->type == STT_FUNC && s->section != SHN_UNDEF && !strncmp(s->name, r->subject, len) &&
		    (!s->name[len] || !strncmp(s->name + len, ".__uniq.", 8)))
			return s;
	}
	return NULL;
}

int hp_include_hooks(struct ctx *c)
{
	struct hp_out_module *m = &c->d->out;
	for (size_t i = 0; i < c->state_count; i++) {
		const struct state_record *r = &c->state[i];
		if (!r->hook_kind)
			continue;
		const struct hp_symbol *s = hook_symbol(r);
		struct entity *e = s ? hp_find_entity(c, s->name) : NULL;
		if (!e || !e->new || !hp_has_code(e->new)) {
			hp_refuse(c, "hook", r->subject, r->unit, "%s hook %s: no such function in %s", r->kind, r->subject,
			          r->obj->elf.path);
			continue;
		}
		if (!e->copy && !(e->copy = hp_copy_section(c, r->obj, s->section)))
			return -1;
		if (e->copy->segment != HP_SEG_TEXT) {
			hp_refuse(c, "hook", r->subject, r->unit, "%s hook %s is not code", r->kind, r->subject);
			continue;
		}
		size_t k = 0;
		while (kinds[k].hook != r->hook_kind)
			k++;
		hp_note(c, "hook", e->name, r->unit, HP_VERDICT_ADDED, e->copy->size, "%s", kinds[k].says);
		char name[256];
		hp_source_name(e->name, name, sizeof name);
		struct hp_out_hook h = { r->hook_kind, (uint32_t)(e->copy->offset + s->value - e->copy->start),
			                 hp_xstrdup(name) };
		PUSH(m->hooks, m->hook_count, h);
	}
	return 0;
}

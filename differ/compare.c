/* compare.c — the second phase: SAME / CHANGED / NEW / REMOVED for every entity, from the
 * plugin's fingerprints, confirmed against the machine code (machine_code.c) where IR changed,
 * and the reason a function changed, as the records prove it. */
#include "diff_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Whether a function's source changed other than in line numbers: its source fingerprint
 * differs, and so does the one with line values masked (where the plugin recorded it). */
static int source_changed(const struct hp_rec *o, const struct hp_rec *n)
{
	if (same16(o->source_fingerprint, n->source_fingerprint))
		return 0;
	return is_zero16(o->lines_fingerprint) || !same16(o->lines_fingerprint, n->lines_fingerprint);
}

/* Why a function's code changed, from what the plugin recorded: its same-file callees (any
 * may have been inlined), its source (Clang's ODR hash of the body, which includes literal
 * values such as a __LINE__; and the same with line values masked), and its shape (code
 * without integer constants).  Functions that changed only in line numbers never get here
 * (lines.c); these are the reasons for the rest, each the one the records prove. */
static void explain_function(struct ctx *c, struct entity *e)
{
	const struct hp_rec *o = e->old, *n = e->new;
	/* Changed callees, nearest first: the call lists are followed breadth-first through the
	 * unit, since a callee's callee may have been inlined too (a report function that inlines
	 * a version string). */
	const char *callee = NULL, *via = NULL;
	size_t callees = 0, count = n->tu->record_count, head = 0, tail = 0;
	uint32_t *queue = hp_xrealloc(NULL, (count + 1) * sizeof *queue);
	uint32_t *first_step = hp_xrealloc(NULL, (count + 1) * sizeof *first_step);  /* direct callee it is reached by */
	uint8_t *seen = memset(hp_xrealloc(NULL, count + 1), 0, count + 1);
	uint32_t self = (uint32_t)(n - n->tu->records);
	seen[self] = 1;
	queue[tail++] = self;
	while (head < tail) {
		uint32_t from = queue[head++];
		const struct hp_rec *at = &n->tu->records[from];
		for (uint32_t k = 0; k < at->call_count; k++) {
			uint32_t next = at->calls[k];
			if (next >= count || seen[next])
				continue;
			seen[next] = 1;
			first_step[next] = from == self ? next : first_step[from];
			queue[tail++] = next;
			const struct hp_rec *r = &n->tu->records[next];
			struct entity *ce = hp_find_entity(c, r->name);
			if (ce && ce->old && ce->new && source_changed(ce->old, ce->new) && !callees++) {
				callee = r->name;
				via = first_step[next] == next ? NULL : n->tu->records[first_step[next]].name;
			}
		}
	}
	free(queue);
	free(first_step);
	free(seen);
	int own = !is_zero16(o->source_fingerprint) && !same16(o->source_fingerprint, n->source_fingerprint);
	int own_lines_only = own && !source_changed(o, n);
	int lines_moved = o->line_count != n->line_count ||
	                  (o->line_count && memcmp(o->lines, n->lines, o->line_count * sizeof *o->lines));
	int constants_only = !is_zero16(o->shape_fingerprint) && same16(o->shape_fingerprint, n->shape_fingerprint);
	char more[600] = "";
	if (via)
		snprintf(more, sizeof more, ", through %s", via);
	if (callees > 1)
		snprintf(more + strlen(more), sizeof more - strlen(more), " (and %zu more it calls)", callees - 1);
	if (callee && own && !own_lines_only)
		snprintf(e->why, sizeof e->why, "code changed; inlined callee %s changed too%s", callee, more);
	else if (callee)
		snprintf(e->why, sizeof e->why, "inlined callee %s changed%s", callee, more);
	else if (own_lines_only)
		snprintf(e->why, sizeof e->why,
		         "its source only moved lines, but its machine code differs beyond the line numbers");
	else if (constants_only)
		snprintf(e->why, sizeof e->why, "only integer constants changed%s",
		         lines_moved ? ", line numbers among them" : "");
	else if (own || is_zero16(o->source_fingerprint))
		snprintf(e->why, sizeof e->why, "code changed");
	else if (!same16(o->layout_fingerprint, n->layout_fingerprint))
		snprintf(e->why, sizeof e->why, "a type it uses changed layout");
	else
		snprintf(e->why, sizeof e->why, "compiled code changed (constant data it reads, or a compiler decision)");
}

/* Compiler-made copies of a function (hazard 7): their numbering is not an identity. */
size_t hp_variant_base(const char *name)
{
	static const char *const marks[] = { ".specialized.", ".cold", ".part.", ".constprop.",
		                             ".isra.", ".llvm.", ".outlined" };
	size_t base = 0;
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		const char *m = strstr(name, marks[i]);
		if (m && (!base || (size_t)(m - name) < base))
			base = (size_t)(m - name);
	}
	return base;
}

/* A variant pairs with an old variant of the same parent that has the same code, whatever its
 * number; a variant with new code is a new function, and the old one is never redirected to
 * it (it may be a different specialization that happens to carry the same number). */
static void pair_variant(struct ctx *c, struct entity *e)
{
	size_t base = hp_variant_base(e->name);
	e->old_sym = NULL;
	e->status = HP_NEW;
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *x = &c->ents[i];
		if (x->old && hp_has_code(x->old) && x->old_sym && hp_variant_base(x->name) == base &&
		    !strncmp(x->name, e->name, base) && same16(x->old->fingerprint, e->new->fingerprint)) {
			e->old_sym = x->old_sym;
			e->status = HP_SAME;
			return;
		}
	}
}

void hp_compare(struct ctx *c)
{
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		int o = e->old && (e->old->kind == HP_META_VARIABLE || hp_has_code(e->old));
		int n = e->new && (e->new->kind == HP_META_VARIABLE || hp_has_code(e->new));
		if (o && n) {
			int same = same16(e->old->fingerprint, e->new->fingerprint) && e->old->size == e->new->size;
			e->status = same ? HP_SAME : HP_CHANGED;
		} else {
			e->status = n ? HP_NEW : o ? HP_REMOVED : HP_SAME;
		}
		if (n && e->new->kind == HP_META_FUNCTION && hp_variant_base(e->name) && e->status != HP_SAME)
			pair_variant(c, e);
	}
	/* With every status known: changed IR may still be the same machine code. */
	for (size_t i = 0; i < c->ent_count; i++) {
		struct entity *e = &c->ents[i];
		if (e->status != HP_CHANGED || e->new->kind != HP_META_FUNCTION || hp_variant_base(e->name))
			continue;
		int same = hp_same_machine_code(c, e);
		if (same == 2 && !c->opt->patch_line_changes) {
			e->status = HP_SAME;
			hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_SAME, 0, "only line numbers changed: not patched");
		} else if (same == 2) {
			snprintf(e->why, sizeof e->why, "only line numbers changed");
		} else if (same) {
			e->status = HP_SAME;
			hp_note(c, "function", e->name, hp_unit_of(e), HP_VERDICT_SAME, 0,
			        "its IR changed, but the machine code is identical: not patched");
		} else {
			explain_function(c, e);
		}
	}
}

/* Functions that call a compiler-made variant whose code is new must be patched too, since the
 * old variant is never redirected (pair_variant).  The plugin's call lists come from the source,
 * which knows no variants, so callers are found in the new objects' relocations; repeated until
 * no caller is added (a caller may be a variant itself). */
void hp_propagate_variants(struct ctx *c)
{
	int any = 0;
	for (size_t i = 0; i < c->ent_count && !any; i++)
		any = c->ents[i].status == HP_NEW && hp_variant_base(c->ents[i].name);
	for (int again = any; again;) {
		again = 0;
		for (size_t oi = 0; oi < c->new_build->object_count; oi++) {
			struct hp_object *o = &c->new_build->objects[oi];
			size_t sections = 0;
			elf_getshdrnum(o->elf.elf, &sections);
			for (size_t sec = 1; sec < sections; sec++) {
				GElf_Sym fs, ts;
				const char *fname, *tname;
				struct hp_section info;
				if (hp_elf_section_at(&o->elf, sec, &info) || !(info.shdr.sh_flags & SHF_EXECINSTR) ||
				    !hp_elf_section_symbol(&o->elf, sec, &fs, &fname))
					continue;
				struct entity *caller = hp_find_entity(c, fname);
				if (!caller || caller->status != HP_SAME || !caller->old_sym || !caller->new ||
				    caller->new->kind != HP_META_FUNCTION)
					continue;
				struct hp_reloc *rel = NULL;
				long n = hp_elf_relocations(&o->elf, sec, &rel);
				for (long j = 0; j < n; j++) {
					tname = rel[j].sym_name;
					if (GELF_ST_TYPE(rel[j].sym.st_info) == STT_SECTION &&
					    !hp_elf_section_symbol(&o->elf, rel[j].sym.st_shndx, &ts, &tname))
						continue;
					struct entity *v = hp_find_entity(c, tname);
					if (!v || !hp_variant_base(v->name) || v->status != HP_NEW || v == caller)
						continue;
					caller->status = HP_CHANGED;
					snprintf(caller->why, sizeof caller->why,
					         "calls %s, a compiler-made copy whose code changed", v->name);
					again = 1;
					break;
				}
				free(rel);
			}
		}
	}
}

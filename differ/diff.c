/* diff.c — one module, two builds: runs the phases (diff_internal.h) in order and keeps their
 * decisions, the notes that --explain prints and that decide whether a package is written. */
#include "diff_internal.h"
#include "site.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The words --explain and --json print, the one place they are spelled. */
static const char *const verdict_words[HP_VERDICT_COUNT] = {
	[HP_VERDICT_PATCHED] = "patched", [HP_VERDICT_KEPT] = "kept",       [HP_VERDICT_ADDED] = "added",
	[HP_VERDICT_COPIED] = "copied",   [HP_VERDICT_SAME] = "same",       [HP_VERDICT_SKIPPED] = "skipped",
	[HP_VERDICT_PARTIAL] = "partial", [HP_VERDICT_REFUSED] = "refused",   [HP_VERDICT_ACCEPTED] = "accepted",
};

const char *hp_verdict_word(enum hp_verdict v)
{
	return (unsigned)v < HP_VERDICT_COUNT ? verdict_words[v] : "?";
}

static void record(struct ctx *c, const char *kind, const char *symbol, const char *unit, enum hp_verdict verdict,
                   uint64_t size, const char *fmt, va_list ap)
{
	char why[512];
	if (c->collecting && verdict != HP_VERDICT_REFUSED)
		return;  /* only refusals are collected; what the package would hold is known */
	vsnprintf(why, sizeof why, fmt, ap);
	for (size_t i = 0; i < c->d->note_count; i++)  /* one line per reason, however often met */
		if (!strcmp(c->d->notes[i].symbol, symbol) && !strcmp(c->d->notes[i].why, why) &&
		    c->d->notes[i].verdict == verdict)
			return;
	struct hp_note n = { hp_xstrdup(symbol), hp_xstrdup(unit ? unit : "-"), kind, verdict, hp_xstrdup(why), size };
	PUSH(c->d->notes, c->d->note_count, n);
	if (verdict == HP_VERDICT_REFUSED)
		c->d->refusals++;
}

void hp_note(struct ctx *c, const char *kind, const char *symbol, const char *unit, enum hp_verdict verdict,
             uint64_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(c, kind, symbol, unit, verdict, size, fmt, ap);
	va_end(ap);
}

void hp_refuse(struct ctx *c, const char *kind, const char *symbol, const char *unit, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(c, kind, symbol, unit, HP_VERDICT_REFUSED, 0, fmt, ap);
	va_end(ap);
}

const char *hp_unit_of(const struct entity *e)
{
	const struct hp_rec *r = e->new ? e->new : e->old;
	return r ? r->tu->name : NULL;
}

int hp_has_code(const struct hp_rec *r)
{
	return r && !(r->flags & HP_META_INLINED_AWAY);
}

int hp_entity_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entity *)a)->name, ((const struct entity *)b)->name);
}

struct entity *hp_find_entity(struct ctx *c, const char *name)
{
	struct entity key = { .name = name };
	return hp_search(&key, c->ents, c->ent_count, sizeof key, hp_entity_cmp);
}

/* Whether a refusal names the symbol (its code is then not listed as patched). */
int hp_refused(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->d->note_count; i++)
		if (c->d->notes[i].verdict == HP_VERDICT_REFUSED && !strcmp(c->d->notes[i].symbol, name))
			return 1;
	return 0;
}

/* Once something is refused, no package is written, but an author should see every reason in
 * one run: the new code of refused functions, which redirect skips, and what redirect and resolve
 * did not reach after an error that the refusals explain, are taken through them again to record
 * their refusals (and nothing else).  Errors met here are not reported: the refusals stand. */
static void collect_refusals(struct ctx *c)
{
	c->collecting = 1;
	hp_redirect_changed(c);
	while (hp_resolve_all(c) < 0)
		;  /* each failure has marked its copy resolved: the next call goes on after it */
	c->err[0] = 0;
	c->collecting = 0;
}

const struct hp_arch *hp_arch_for(const struct hp_elf *elf)
{
	static const struct hp_arch *const known[] = { &hp_arch_x86_64, &hp_arch_aarch64 };
	if (elf->ehdr.e_ident[EI_CLASS] != ELFCLASS64 || elf->ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
		return NULL;
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (known[i]->site->elf_machine == elf->ehdr.e_machine)
			return known[i];
	return NULL;
}

int hp_diff_module(struct hp_module *old_mod, struct hp_module *new_mod, struct hp_build *new_build,
                   const struct hp_diff_options *opt, struct hp_module_diff *d, char *err, size_t err_size)
{
	memset(d, 0, sizeof *d);
	struct ctx c = { .old = old_mod, .new = new_mod, .new_build = new_build, .opt = opt, .d = d,
		         .err = err, .err_size = err_size };
	d->out.name = hp_xstrdup(new_mod->name);
	d->out.build_id_size = old_mod->elf.build_id_size < 32 ? old_mod->elf.build_id_size : 32;
	memcpy(d->out.build_id, old_mod->elf.build_id, d->out.build_id_size);
	for (int s = 0; s < HP_SEG_COUNT; s++)
		d->out.segment_align[s] = 1;
	int rc = -1;
	/* The phases read machine code and relocations through the architecture's facts (arch.h). */
	c.arch = hp_arch_for(&old_mod->elf);
	const struct hp_arch *new_arch = hp_arch_for(&new_mod->elf);
	if (!c.arch || new_arch != c.arch) {
		const struct hp_elf *bad = !c.arch ? &old_mod->elf : &new_mod->elf;
		const struct hp_site_arch *a = hp_site_arch_for_machine(bad->ehdr.e_machine);
		if (c.arch && new_arch)
			snprintf(err, err_size, "%s: %s code, but %s is %s code", new_mod->elf.path, new_arch->site->name,
			         old_mod->elf.path, c.arch->site->name);
		else if (a)
			snprintf(err, err_size, "%s: %s code that is not 64-bit little-endian: hpdiff makes packages for "
			         "64-bit little-endian code only", bad->path, a->name);
		else
			snprintf(err, err_size, "%s: code of ELF machine %u: hpdiff makes packages for x86-64 and AArch64 "
			         "code only", bad->path, bad->ehdr.e_machine);
		goto out;
	}
	d->out.arch = c.arch->pkg_arch;
	if (!old_mod->elf.build_id_size) {
		snprintf(err, err_size, "%s: no GNU build-id: link with -Wl,--build-id", old_mod->elf.path);
		goto out;
	}
	if (!old_mod->elf.has_symtab) {
		snprintf(err, err_size, "%s: no symbol table: hpdiff needs the unstripped build", old_mod->elf.path);
		goto out;
	}
	long dyn = hp_elf_dynamic_relocations(&old_mod->elf, &c.dyn);
	c.dyn_count = dyn > 0 ? (size_t)dyn : 0;
	hp_correlate(&c);
	hp_compare(&c);
	hp_propagate_variants(&c);
	if (hp_read_state(&c))
		goto out;
	hp_verify_units(&c);
	hp_verify_entities(&c);
	hp_verify_plain(&c);
	hp_verify_state(&c);
	/* Built even when refused, so that --explain lists what the package would hold; an error
	 * met only because of what was refused already is not reported over the refusals. */
	size_t refused_early = d->refusals;
	if (hp_redirect_changed(&c) == 0 && hp_include_hooks(&c) == 0 && hp_resolve_all(&c) == 0 &&
	    hp_build_unwind(&c) == 0)
		rc = 0;
	else if (d->refusals && (refused_early || !err[0])) {
		rc = 0;
		err[0] = 0;
	}
	if (rc == 0 && d->refusals)
		collect_refusals(&c);
out:
	for (size_t i = 0; i < c.copy_count; i++)
		free(c.copies[i]);
	free(c.copies);
	free(c.slots);
	free(c.ents);
	free(c.dyn);
	free(c.state);
	for (size_t i = 0; c.plain_memo && i < new_build->plain_object_count; i++)
		free(c.plain_memo[i]);
	free(c.plain_memo);
	return rc;
}

void hp_module_diff_free(struct hp_module_diff *d)
{
	struct hp_out_module *m = &d->out;
	for (size_t i = 0; i < m->redirect_count; i++)
		free(m->redirect_names[i]);
	for (size_t i = 0; i < m->import_count; i++)
		free(m->imports[i].name);
	for (int s = 0; s < HP_SEG_COUNT; s++)
		free(m->segment[s]);
	free(m->redirect_names);
	free(m->redirects);
	free(m->imports);
	free(m->relocs);
	free(m->name);
	for (size_t i = 0; i < m->hook_count; i++)
		free(m->hooks[i].name);
	free(m->hooks);
	for (size_t i = 0; i < m->accept_count; i++) {
		free(m->accepts[i].subject);
		free(m->accepts[i].hook);
		free(m->accepts[i].reason);
	}
	free(m->accepts);
	for (size_t i = 0; i < d->note_count; i++) {
		free(d->notes[i].symbol);
		free(d->notes[i].unit);
		free(d->notes[i].why);
	}
	free(d->notes);
	memset(d, 0, sizeof *d);
}

/* hotpatch.c — libhotpatch's API: apply, revert, status, and the one registry of what is live.
 *
 * How a function is redirected (docs/design.md, "The runtime"): on x86-64 its entry jumps
 * through a slot, an 8-byte cell the runtime owns near the module holding the new code's address,
 * and switching the function to another package later is one atomic store into its slot, no code
 * changed.  On AArch64 its entry branches to the new code directly ("The AArch64 site"): there is
 * no slot, and switching rewrites that branch.  Either way it is a retarget (site_write.h), all
 * or nothing, and the registry's transactions are the same.  Revert gives the entry its original
 * bytes back.  What is written into the code, and how, is
 * site_write.c's: this file decides which entries change and keeps account of them.  It stays one
 * file (about 900 lines) because the registry (sites, slot pages, patches, skipped modules) is
 * private to it and apply, replace and revert are transactions over its invariants, each undoing
 * the others' steps on failure: best read together.  What stands alone lives beside it: writing
 * code (site_write.c), mapping (loader.c), the trust policy (trust.c), the history (history.c),
 * stored packages (persist.c). */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "history.h"
#include "signature.h"
#include "site_write.h"
#include "trust.h"

/* A function entry the runtime has redirected at least once. */
struct site {
	struct hp_patch_site code;    /* where it is, what it held, its slot */
	int patch;                    /* id of the live patch redirecting it; 0: none */
};

/* A state hook (hotpatch_state.h) of a module's package, where its code is mapped. */
struct hook {
	uint8_t kind;                 /* HP_HOOK_* */
	uintptr_t entry;
	char name[128];
};

/* One module of a live patch (a patch of several modules has one entry for each, same id). */
struct patch {
	struct hp_patch_status status;
	size_t *sites;                /* indexes into registry.sites */
	size_t site_count;
	uintptr_t module_base;
	uint32_t index;               /* of the module in its package */
	char name[256];               /* the module's name in the package */
	uint32_t sequence;            /* of its package (0: none) */
	struct hook *hooks;           /* its package's hooks for the module, in their order */
	size_t hook_count;
	size_t mapping;               /* index in registry.mappings of the code it runs */
};

/* A module of a live patch that was not loaded when it was applied. */
struct skipped {
	int id;
	uint32_t index;
	char name[256];
};

/* Slots live in pages near each module: a page of 512 cells at a time. */
struct slot_page {
	uintptr_t module_start;       /* the module it is near */
	uint64_t *cells;
	size_t used;
};

static struct {
	pthread_mutex_t lock;
	struct site *sites;
	size_t site_count, site_cap;
	size_t *site_index;           /* open addressing by entry address: slot -> site + 1 */
	size_t index_cap;             /* a power of two, at least twice site_count */
	struct patch *patches;
	size_t patch_count;
	struct skipped *skipped;
	size_t skipped_count;
	struct hp_mapping *mappings;  /* kept: threads may still run in reverted code */
	size_t mapping_count;
	struct slot_page *pages;
	size_t page_count;
	int next_id;
	char last_error[512];
} registry = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1 };

static int fail(int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(registry.last_error, sizeof registry.last_error, fmt, ap);
	va_end(ap);
	return -error;
}

static uint64_t *slot_near(const struct hp_loaded *mod)
{
	const size_t cells = 4096 / sizeof(uint64_t);
	for (size_t i = 0; i < registry.page_count; i++) {
		struct slot_page *p = &registry.pages[i];
		if (p->module_start == mod->start && p->used < cells)
			return &p->cells[p->used++];
	}
	struct slot_page *pages = realloc(registry.pages, (registry.page_count + 1) * sizeof *pages);
	if (!pages)
		return NULL;
	registry.pages = pages;
	uint64_t *cells_page = hp_map_near(mod, 4096);
	if (!cells_page)
		return NULL;
	registry.pages[registry.page_count++] = (struct slot_page){ mod->start, cells_page, 1 };
	return cells_page;
}

static size_t index_slot(uintptr_t entry, size_t cap)
{
	size_t i = (size_t)((entry >> 3) * 0x9E3779B97F4A7C15ull) & (cap - 1);
	while (registry.site_index[i] && registry.sites[registry.site_index[i] - 1].code.entry != entry)
		i = (i + 1) & (cap - 1);
	return i;
}

static struct site *find_site(uintptr_t entry)
{
	if (!registry.index_cap)
		return NULL;
	size_t i = index_slot(entry, registry.index_cap);
	return registry.site_index[i] ? &registry.sites[registry.site_index[i] - 1] : NULL;
}

/* A new site, zeroed, indexed by entry; NULL when memory runs out. */
static struct site *add_site(uintptr_t entry)
{
	if (registry.site_count == registry.site_cap) {
		size_t cap = registry.site_cap ? registry.site_cap * 2 : 64;
		struct site *grown = realloc(registry.sites, cap * sizeof *grown);
		if (!grown)
			return NULL;
		registry.sites = grown;
		registry.site_cap = cap;
	}
	if ((registry.site_count + 1) * 2 > registry.index_cap) {
		size_t cap = registry.index_cap ? registry.index_cap * 2 : 128;
		size_t *index = calloc(cap, sizeof *index), *old = registry.site_index;
		if (!index)
			return NULL;
		registry.site_index = index;
		for (size_t i = 0; i < registry.site_count; i++)
			index[index_slot(registry.sites[i].code.entry, cap)] = i + 1;
		registry.index_cap = cap;
		free(old);
	}
	struct site *s = &registry.sites[registry.site_count++];
	memset(s, 0, sizeof *s);
	s->code.entry = entry;
	registry.site_index[index_slot(entry, registry.index_cap)] = registry.site_count;
	return s;
}

static struct patch *find_patch(int id)
{
	for (size_t i = 0; i < registry.patch_count; i++)
		if (registry.patches[i].status.id == id)
			return &registry.patches[i];
	return NULL;
}

/* Whether a live patch's module still holds what the runtime wrote: the module with its build-id
 * still loaded at the same base (checked first: the bytes of an unloaded module cannot be read),
 * and every site still redirected through its slot.  A library is pinned once patched
 * (hp_pin_module), so this fails only when something outside the runtime changed the code or
 * unmapped it; the registry's record is then no longer the truth, and nothing may be written on
 * its word.  Returns 1 when intact, 0 when the code is not the runtime's any more (the record is
 * to be dropped), -1 when it cannot tell (kept, and nothing written); why says what is wrong. */
static int patch_intact(const struct patch *p, char *why, size_t why_size)
{
	struct hp_loaded now;
	if (hp_find_module(p->status.build_id, p->status.build_id_size, &now)) {
		/* A patched module is pinned (hp_pin_module) and cannot be unloaded: not finding it
		 * says the lookup failed, not that the code is gone, so the record stays. */
		snprintf(why, why_size, "dl_iterate_phdr does not list %s (build-id as patched) any more",
		         p->status.module);
		return -1;
	}
	if (now.base != p->module_base) {
		snprintf(why, why_size, "%s is no longer loaded at %#lx (unloaded since it was patched)", p->status.module,
		         (unsigned long)p->module_base);
		return 0;
	}
	for (size_t i = 0; i < p->site_count; i++) {
		const struct hp_patch_site *code = &registry.sites[p->sites[i]].code;
		if (!hp_patch_site_redirected(code)) {
			snprintf(why, why_size, "%s: the function at %#lx no longer holds the runtime's redirect (the "
			         "library was loaded again, or someone else changed its code)", p->status.module,
			         (unsigned long)code->entry);
			return 0;
		}
	}
	return 1;
}

/* Drops a patch's module from the registry without writing anything: its code is not the
 * runtime's any more.  Its sites are taken afresh from the code if a patch redirects them again. */
static void forget_patch(struct patch *p)
{
	for (size_t i = 0; i < p->site_count; i++)
		registry.sites[p->sites[i]].patch = 0;
	free(p->sites);
	free(p->hooks);
	*p = registry.patches[--registry.patch_count];
}

/* Forgets every live patch's module that is not intact, so that status lists only patches in
 * force; its skipped modules go with the last of its live ones. */
static void forget_broken(void)
{
	char why[400];
	for (size_t i = registry.patch_count; i-- > 0;)
		if (patch_intact(&registry.patches[i], why, sizeof why) == 0)
			forget_patch(&registry.patches[i]);
}

/* One module of a package on its way in. */
struct incoming {
	const struct hp_package_module *m;
	const char *name;             /* in the package */
	int loaded;                   /* 0: not in this process, skipped */
	int committed;                /* redirected by this apply */
	struct hp_loaded mod;
	int replaced;                 /* id of the live patch of this module it replaces; 0: none */
	uint32_t replaced_sequence;   /* that patch's sequence */
	size_t *indexes;              /* its sites, in redirect order */
	uintptr_t *targets;           /* the new entries */
	uintptr_t *previous;          /* the target each site had before (undo) */
	struct hp_patch_site **all;   /* its sites, in redirect order */
	struct hp_patch_site **fresh; /* the sites it redirected that no patch redirected before */
	size_t fresh_count;
	struct hp_patch_site **stale; /* room for the sites only the replaced patch redirects */
	size_t mapping;               /* index in registry.mappings */
	int mapped_now;               /* the mapping was made by this apply (undone on failure) */
	int registered_now;           /* its unwind table was registered by this apply (likewise) */
	struct hook *hooks;           /* the package's hooks for the module, at their mapped entries */
	int hooks_ran;                /* its pre-apply hooks ran: its mapping stays even if the apply
	                                 fails, since a hook may have left a pointer into it */
};

/* The live patch entry of a module, or NULL.  A module is its load base and its build-id, never
 * its path text: the main program's file may be replaced on disk while it runs (a package
 * upgrade), and /proc/self/exe then reads "... (deleted)". */
static struct patch *patch_of_module(uintptr_t base, const struct hp_package_module *m)
{
	for (size_t i = 0; i < registry.patch_count; i++) {
		const struct patch *p = &registry.patches[i];
		if (p->module_base == base && p->status.build_id_size == m->build_id_size &&
		    !memcmp(p->status.build_id, m->build_id, m->build_id_size))
			return &registry.patches[i];
	}
	return NULL;
}

/* An apply's refusal of a site it would redirect that needs a stopped world (site.h), outside
 * one. */
static int refuse_outside_stopped_world(const struct incoming *in, const char *fn)
{
	return fail(HP_E_STOPPED_WORLD, "module %s: function %s starts with a 1-byte instruction (built with entry=padding-only): "
	            "it can be switched only with every thread stopped: use hpctl apply --safe; nothing was written",
	            in->mod.path, fn);
}

/* Phase 1, for every module before anything else: find it (a module not loaded here is
 * skipped), and check every entry holds the bytes the package expects, and that every site the
 * apply redirects may be written now: one that needs a stopped world (site.h) only when the
 * world is stopped.  A site the replaced patch redirects already is only retargeted (x86-64: one
 * store into its slot, no code written; AArch64: one branch rewritten as another, which never
 * needs a stopped world).  Giving a site its original bytes back (a site the replaced
 * patch redirects and this package does not, or a revert) needs no stopped world: while the
 * site holds the short jump no thread can be inside it, and one atomic store restores it, so a
 * thread at the entry runs either the jump or the original first instruction followed by the
 * original bytes.  Allocates nothing. */
static int verify_module(const struct hp_package *pkg, uint32_t index, struct incoming *in, unsigned flags,
                         int world_stopped)
{
	in->m = &pkg->modules[index];
	in->name = in->m->name;
	if (hp_find_module(in->m->build_id, in->m->build_id_size, &in->mod)) {
		/* Not loaded, or loaded as another build: a module of that file name that runs here
		 * with another build-id (a baseline relinked after the process started) refuses the
		 * whole package, lest a fix split across modules go live in some of them only. */
		struct hp_loaded other;
		uint8_t id[32];
		size_t id_size;
		if (hp_find_module_named(in->name, &other, id, &id_size))
			return 0;
		/* ... unless that is the build of another module of the package (app and tools/app). */
		for (uint32_t k = 0; k < pkg->module_count; k++) {
			const struct hp_package_module *o = &pkg->modules[k];
			if (o->build_id_size == id_size && !memcmp(o->build_id, id, id_size))
				return 0;
		}
		char running[65], wanted[65];
		hp_hex(id, id_size, running);
		hp_hex(in->m->build_id, in->m->build_id_size, wanted);
		return fail(HP_E_MODULE, "module %s: this process runs another build of it (build-id %s; the package is "
		            "for %s)", in->name, id_size ? running : "none", wanted);
	}
	if (in->m->arch != HP_SITE_PKG_ARCH)  /* a build-id collision: the code is not this process's kind */
		return fail(HP_E_PACKAGE, "module %s: the package's code is for another architecture", in->mod.path);
	in->loaded = 1;
	struct patch *live = patch_of_module(in->mod.base, in->m);
	in->replaced = live ? live->status.id : 0;
	in->replaced_sequence = live ? live->sequence : 0;
	/* Packages of a baseline are numbered by the release pipeline: an older one over a newer
	 * one would bring back what the newer fixed, so it takes the operator's explicit word. */
	if (live && pkg->sequence < live->sequence && !(flags & HP_APPLY_FORCE))
		return fail(HP_E_DOWNGRADE, "module %s: the package's sequence %u is lower than %u, that of live patch %d "
		            "(force the apply to go back to it)", in->mod.path, pkg->sequence, live->sequence,
		            live->status.id);
	char why[400];
	if (live && patch_intact(live, why, sizeof why) != 1)
		return fail(HP_E_MISMATCH, "module %s: patch %d cannot be replaced: %s; nothing was written",
		            in->mod.path, live->status.id, why);
	for (uint32_t i = 0; i < in->m->redirect_count; i++) {
		const struct hp_package_redirect r = in->m->redirects[i];
		const char *fn = r.name;
		uintptr_t entry = in->mod.base + (uintptr_t)r.old_offset;
		struct site *s = find_site(entry);
		char why[200];
		int stopped_world = 0;
		if (hp_patch_site_check(in->mod.base, entry, r.site_offset, s && s->patch ? &s->code : NULL, &stopped_world,
		                        why, sizeof why))
			return fail(HP_E_PACKAGE, "module %s: function %s is not a patch site: %s", in->mod.path, fn, why);
		if (s && s->patch && s->patch != in->replaced)
			return fail(HP_E_CONFLICT, "module %s: %s is redirected by patch %d", in->mod.path, fn, s->patch);
		if (!hp_patch_site_holds(entry, s && s->patch ? &s->code : NULL, r.expected, r.expected_size))
			return fail(HP_E_MISMATCH, "module %s: %s does not hold the bytes the package expects "
			            "(another build, or changed by someone else)", in->mod.path, fn);
		/* The package's word or the code's: either one asks for a stopped world. */
		if ((stopped_world || (r.flags & HP_REDIRECT_STOPPED_WORLD)) && !world_stopped && !(s && s->patch))
			return refuse_outside_stopped_world(in, fn);
	}
	return 0;
}

/* Phase 2: map the new code (or reuse it: the same package applied again) and prepare sites
 * and slots.  Nothing the program runs changes yet. */
static int map_module(const struct hp_package *pkg, uint32_t index, struct incoming *in)
{
	in->indexes = calloc(in->m->redirect_count + 1, sizeof *in->indexes);
	in->targets = calloc(in->m->redirect_count + 1, sizeof *in->targets);
	in->previous = calloc(in->m->redirect_count + 1, sizeof *in->previous);
	in->all = calloc(in->m->redirect_count + 1, sizeof *in->all);
	in->fresh = calloc(in->m->redirect_count + 1, sizeof *in->fresh);
	struct patch *live = in->replaced ? patch_of_module(in->mod.base, in->m) : NULL;
	in->stale = calloc((live ? live->site_count : 0) + 1, sizeof *in->stale);
	if (!in->indexes || !in->targets || !in->previous || !in->all || !in->fresh || !in->stale)
		return fail(HP_E_MEMORY, "out of memory");
	size_t found = registry.mapping_count;
	for (size_t i = 0; i < registry.mapping_count && found == registry.mapping_count; i++)
		if (!memcmp(registry.mappings[i].checksum, pkg->checksum, 16) && registry.mappings[i].module == index)
			found = i;
	if (found == registry.mapping_count) {
		char why[256];
		struct hp_mapping map;
		struct hp_mapping *grown = realloc(registry.mappings, (registry.mapping_count + 1) * sizeof *grown);
		if (!grown)
			return fail(HP_E_MEMORY, "out of memory");
		registry.mappings = grown;
		int rc = hp_load(pkg, index, &in->mod, &map, why, sizeof why);
		if (rc)
			return fail(-rc, "module %s: %s", in->mod.path, why);
		map.module_base = in->mod.base;
		registry.mappings[registry.mapping_count++] = map;
		in->mapped_now = 1;
	}
	in->mapping = found;
	in->hooks = calloc(in->m->hook_count + 1, sizeof *in->hooks);
	if (!in->hooks)
		return fail(HP_E_MEMORY, "out of memory");
	for (uint32_t i = 0; i < in->m->hook_count; i++) {
		const struct hp_package_hook *h = &in->m->hooks[i];
		in->hooks[i].kind = h->kind;
		in->hooks[i].entry = registry.mappings[found].segment[HP_SEG_TEXT] + h->offset;
		snprintf(in->hooks[i].name, sizeof in->hooks[i].name, "%s", h->name);
	}
	for (uint32_t i = 0; i < in->m->redirect_count; i++) {
		const struct hp_package_redirect r = in->m->redirects[i];
		uintptr_t entry = in->mod.base + (uintptr_t)r.old_offset;
		struct site *s = find_site(entry);
		if (!s) {
			uint64_t *slot = HP_PATCH_SITE_SLOTS ? slot_near(&in->mod) : NULL;
			if (HP_PATCH_SITE_SLOTS && !slot)
				return fail(HP_E_MEMORY, "module %s: mmap: no room for redirect slots within " HP_NEAR, in->mod.path);
			if (!(s = add_site(entry)))
				return fail(HP_E_MEMORY, "out of memory");
			hp_patch_site_init(&s->code, entry, r.site_offset, slot);
		} else if (!s->patch) {
			/* Not redirected now: what it holds is taken from the code, never from an earlier
			 * record (another library may have been loaded at that address since). */
			hp_patch_site_init(&s->code, entry, r.site_offset, s->code.slot);
		}
		in->indexes[i] = (size_t)(s - registry.sites);
		in->targets[i] = registry.mappings[found].segment[HP_SEG_TEXT] + r.new_offset;
	}
	return 0;
}

/* Phase 3: retarget the sites (all or nothing; switches the functions both this package and a
 * patch it replaces redirect), then redirect the entries not redirected yet.  What it replaces stays
 * registered until every module has come this far (finish_module), so that a failure in this
 * or a later module can put everything back (undo_module). */
static int commit_module(struct incoming *in)
{
	size_t n = in->m->redirect_count;
	in->fresh_count = 0;
	/* Where a live site switches to the new code at once (a patch replaced), threads may run it
	 * from here on and its mapping stays.  Otherwise nothing reaches it before its sites are
	 * written, which happens wholly or not at all (site_write.h): if not, it is unmapped like
	 * code never committed.  Its unwind table is registered only once every module is in
	 * (register_module). */
	in->committed = 1;
	for (size_t i = 0; i < n; i++) {
		struct site *s = &registry.sites[in->indexes[i]];
		in->all[i] = &s->code;
		if (!s->patch)
			in->fresh[in->fresh_count++] = &s->code;
	}
	/* A retarget refused (AArch64: a branch could not be rewritten) left every site as it was,
	 * though a replaced patch's functions may have run the new code meanwhile: undo_module, as
	 * after a refused redirect, finds nothing to take back but keeps the mapping. */
	if (hp_patch_sites_retarget(in->all, in->targets, in->previous, n)) {
		in->committed = in->replaced != 0;
		return fail(HP_E_PROTECT, "module %s: %s", in->mod.path, hp_patch_sites_error());
	}
	if (hp_patch_sites_redirect(in->fresh, in->fresh_count)) {  /* undo_module takes it back */
		in->committed = in->replaced != 0;
		/* Nothing redirected and nothing live retargeted: only the targets recorded go back. */
		if (!in->committed)
			hp_patch_sites_retarget(in->all, in->previous, NULL, n);
		return fail(HP_E_PROTECT, "module %s: %s", in->mod.path, hp_patch_sites_error());
	}
	return 0;
}

/* Phase 4, once every module is redirected: keep each patched library loaded for good (dlclose
 * would otherwise unmap the code the patch redirects and let a fresh copy, or another library,
 * take its place), then register the new code's unwind tables.  Registering last means that a
 * failure anywhere before leaves no table registered for code that is then unmapped; a mapping
 * kept from an earlier apply may already be registered (kept as it is).  A failure here is
 * undone like one in phase 3; a library pinned stays loaded, which changes nothing it runs. */
static int register_module(struct incoming *in)
{
	char why[300];
	int rc = hp_pin_module(&in->mod, why, sizeof why);
	if (rc)
		return fail(-rc, "module %s: %s", in->mod.path, why);
	struct hp_mapping *map = &registry.mappings[in->mapping];
	int was = map->unwind_registered;
	rc = hp_register_unwind(map, why, sizeof why);
	if (rc)
		return fail(-rc, "module %s: %s", in->mod.path, why);
	in->registered_now = !was && map->unwind_registered;
	return 0;
}

/* Takes back a committed module: its new entries get their original bytes, and the functions a
 * replaced patch redirects go back to that patch's code.  Its new code stays mapped: a thread
 * may have entered it meanwhile. */
static int undo_module(struct incoming *in)
{
	int rc = hp_patch_sites_restore(in->fresh, in->fresh_count);
	rc |= hp_patch_sites_retarget(in->all, in->previous, NULL, in->m->redirect_count);
	return rc;
}

/* After a refused apply that left no entry redirected: the sites it added and the slot pages it
 * mapped for them are forgotten and unmapped, so that the mappings are as they were (no thread
 * reads those slots: the entries' restore serialised every core after their last store). */
static void forget_added_sites(size_t site_count, size_t page_count)
{
	for (size_t i = page_count; i < registry.page_count; i++)
		munmap(registry.pages[i].cells, 4096);
	registry.page_count = page_count;
	if (registry.site_count == site_count)
		return;
	registry.site_count = site_count;
	memset(registry.site_index, 0, registry.index_cap * sizeof *registry.site_index);
	for (size_t i = 0; i < site_count; i++)
		registry.site_index[index_slot(registry.sites[i].code.entry, registry.index_cap)] = i + 1;
}

/* Every module committed: the patch it replaces gives up what this one does not redirect (those
 * functions get their original bytes) and its entry; the new entry is written to out. */
static void finish_module(const struct hp_package *pkg, uint32_t index, struct incoming *in, int id,
                          struct patch *out)
{
	size_t n = in->m->redirect_count;
	struct patch *replaced = in->replaced ? patch_of_module(in->mod.base, in->m) : NULL;
	if (replaced) {
		size_t stale = 0;
		for (size_t k = 0; k < replaced->site_count; k++) {
			int kept = 0;
			for (size_t i = 0; i < n && !kept; i++)
				kept = in->indexes[i] == replaced->sites[k];
			if (!kept) {
				in->stale[stale++] = &registry.sites[replaced->sites[k]].code;
				registry.sites[replaced->sites[k]].patch = 0;
			}
		}
		hp_patch_sites_restore(in->stale, stale);
		free(replaced->sites);
		free(replaced->hooks);  /* a package that replaces another runs its own hooks only */
		*replaced = registry.patches[--registry.patch_count];
	}
	for (size_t i = 0; i < n; i++)
		registry.sites[in->indexes[i]].patch = id;
	memset(out, 0, sizeof *out);
	out->status.id = id;
	snprintf(out->status.module, sizeof out->status.module, "%s", in->mod.path);
	memcpy(out->status.build_id, in->m->build_id, in->m->build_id_size);
	out->status.build_id_size = in->m->build_id_size;
	memcpy(out->status.checksum, pkg->checksum, 16);
	out->status.functions = (unsigned)n;
	out->status.applied = time(NULL);
	out->sites = in->indexes;
	out->site_count = n;
	out->module_base = in->mod.base;
	out->index = index;
	out->sequence = pkg->sequence;
	snprintf(out->name, sizeof out->name, "%s", in->name);
	out->hooks = in->hooks;
	out->hook_count = in->m->hook_count;
	out->mapping = in->mapping;
	in->indexes = NULL;
	in->hooks = NULL;
}

/* Forgets the skipped modules of patches no module of which is live any more (reverted, or
 * replaced module by module). */
static void forget_skipped(void)
{
	for (size_t i = registry.skipped_count; i-- > 0;)
		if (!find_patch(registry.skipped[i].id))
			registry.skipped[i] = registry.skipped[--registry.skipped_count];
}

/* Forgets that earlier patches skipped a module this apply has just patched (loaded since, a
 * dlopen): it is live now, and listing it as "not loaded: skipped" too would contradict that. */
static void forget_skipped_now_live(const struct incoming *in, uint32_t count, int id)
{
	for (size_t i = registry.skipped_count; i-- > 0;) {
		const struct skipped *k = &registry.skipped[i];
		int live = 0;
		for (uint32_t j = 0; j < count && !live; j++)
			live = in[j].loaded && k->id != id && !strcmp(hp_file_name(k->name), hp_file_name(in[j].name));
		if (live)
			registry.skipped[i] = registry.skipped[--registry.skipped_count];
	}
}

/* "app, libfoo.so or server": the package's module names, for an error. */
static void module_names(const struct incoming *in, uint32_t count, char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (uint32_t i = 0; i < count && len + 1 < size; i++) {
		int n = snprintf(out + len, size - len, "%s%s", !i ? "" : i + 1 < count ? ", " : " or ", in[i].name);
		len += n > 0 ? (size_t)n : 0;
	}
}

/* Who signed the package, for the history: its key id (contract/signature.h), or NULL for an
 * unsigned package.  Under a trust policy the signature was verified before this is asked;
 * without one, the id says who the package claims signed it. */
static const char *package_signer(const void *package, size_t size, char id[17])
{
	struct hp_signature sig;
	char why[200];
	if (!package || hp_signature_split(package, size, &sig, why, sizeof why) || !sig.present)
		return NULL;
	hp_key_id(sig.key, id);
	return id;
}

/* An event about a package: its checksum, sequence and signer, or for one that did not read, the
 * checksum its header claims (the name hpctl and the persist directory know it by). */
static void package_event(struct hp_event *e, int kind, const struct hp_requester *who, const struct hp_package *pkg,
                          const void *package, size_t size)
{
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->uid = who->uid;
	e->pid = who->pid;
	char id[17];
	const char *signer = package_signer(package, size, id);
	snprintf(e->signer, sizeof e->signer, "%s", signer ? signer : "");
	if (pkg) {
		memcpy(e->checksum, pkg->checksum, 16);
		e->sequence = pkg->sequence;
	} else if (package && size >= offsetof(struct hp_pkg_header, checksum) + 16 &&
	           !memcmp(package, HP_PACKAGE_MAGIC, 8)) {
		memcpy(e->checksum, (const uint8_t *)package + offsetof(struct hp_pkg_header, checksum), 16);
	}
}

/* The refusal of an apply, with the reason the caller gets (registry.last_error). */
static void record_refusal(const struct hp_requester *who, const struct hp_package *pkg, const void *package,
                           size_t size)
{
	struct hp_event e;
	package_event(&e, who->at_start ? HP_EVENT_START_REFUSE : HP_EVENT_REFUSE, who, pkg, package, size);
	snprintf(e.detail, sizeof e.detail, "apply%s%s refused: %s", who->source ? " of " : "",
	         who->source ? who->source : "", registry.last_error);
	hp_history_add(&e);
}

/* One event per module applied: "apply", or "replace" naming the patch it replaced. */
static void record_applied(const struct hp_requester *who, const struct hp_package *pkg, const void *package,
                           size_t size, const struct incoming *in, int id, unsigned flags)
{
	struct hp_event e;
	package_event(&e, who->at_start ? HP_EVENT_START_APPLY : in->replaced ? HP_EVENT_REPLACE : HP_EVENT_APPLY, who,
	              pkg, package, size);
	e.patch = id;
	e.replaced = in->replaced;
	e.replaced_sequence = in->replaced_sequence;
	snprintf(e.module, sizeof e.module, "%s", in->mod.path);
	char from[300] = "";
	if (who->source)
		snprintf(from, sizeof from, " from %s", who->source);
	if (in->replaced)
		snprintf(e.detail, sizeof e.detail, "patch %d (sequence %u) replaces patch %d (sequence %u)%s%s", id,
		         pkg->sequence, in->replaced, in->replaced_sequence,
		         pkg->sequence < in->replaced_sequence && (flags & HP_APPLY_FORCE) ? ", forced: an older sequence" : "",
		         from);
	else
		snprintf(e.detail, sizeof e.detail, "patch %d (sequence %u) applied, %u functions%s", id, pkg->sequence,
		         in->m->redirect_count, from);
	hp_history_add(&e);
}

/* Set while this thread runs a state hook, which must not call back into the registry it holds. */
static __thread int in_hook;

static int refuse_from_hook(void)
{
	return -HP_E_CONFLICT;  /* the registry is this thread's: not even its last error is written */
}

/* Runs a module's hooks of one kind, in their order.  A pre hook's reason stops the others and
 * refuses the switch: HP_E_VETOED, with the hook and its reason. */
static int run_hooks(const struct hook *hooks, size_t count, uint8_t kind, const char *module)
{
	for (size_t i = 0; i < count; i++) {
		if (hooks[i].kind != kind)
			continue;
		const char *veto = NULL;
		in_hook = 1;
		if (kind == HP_HOOK_PRE_APPLY || kind == HP_HOOK_PRE_REVERT)
			veto = ((const char *(*)(void))hooks[i].entry)();
		else
			((void (*)(void))hooks[i].entry)();
		in_hook = 0;
		if (veto) {
			/* One line whatever the hook returned: hpctl reads the reply line by line, and a
			 * reason whose second line read "ok 1" would pass for a success there. */
			char line[301];
			size_t n = 0;
			for (; n + 1 < sizeof line && veto[n]; n++)
				line[n] = (unsigned char)veto[n] < 0x20 || veto[n] == 0x7f ? ' ' : veto[n];
			line[n] = 0;
			return fail(HP_E_VETOED, "module %s: %s hook %s vetoed: %s", module, hp_package_hook_name(kind),
			            hooks[i].name, line);
		}
	}
	return 0;
}

int hp_apply_as(const void *package, size_t size, unsigned flags, const struct hp_requester *who,
                struct hp_module_result *results, size_t max, size_t *result_count)
{
	return hp_apply_world(package, size, flags, who, NULL, results, max, result_count);
}

int hp_apply_world(const void *package, size_t size, unsigned flags, const struct hp_requester *who,
                   const struct hp_stopped_world *stopped, struct hp_module_result *results, size_t max,
                   size_t *result_count)
{
	char why[300];
	if (in_hook)
		return refuse_from_hook();
	pthread_mutex_lock(&registry.lock);
	struct hp_package *pkg = NULL;
	struct incoming *in = NULL;
	struct patch *done = NULL;
	uint32_t count = 0, committed = 0, loaded = 0;
	int rc = 0;
	if (!package) {
		rc = fail(HP_E_PACKAGE, "no package");
		goto out;
	}
	if (flags & ~(unsigned)HP_APPLY_FORCE) {
		rc = fail(HP_E_PACKAGE, "unknown apply flags 0x%x", flags & ~(unsigned)HP_APPLY_FORCE);
		goto out;
	}
	/* The process's trust policy first (trust.h): a package it refuses is not even decoded. */
	char untrusted[700];
	size_t body = size;
	int trust = hp_trust_check(package, size, &body, untrusted, sizeof untrusted);
	if (trust) {
		rc = fail(-trust, "%s", untrusted);
		goto out;
	}
	int decoded = hp_package_decode(package, body, &pkg, why, sizeof why);
	if (decoded) {
		rc = fail(decoded == -2 ? HP_E_MEMORY : HP_E_PACKAGE, "%s", why);
		goto out;
	}
	forget_broken();  /* a patch whose code was unloaded or changed is not one to replace */
	forget_skipped();
	count = pkg->module_count;
	in = calloc(count + 1, sizeof *in);
	done = calloc(count + 1, sizeof *done);
	struct skipped *skipped = realloc(registry.skipped, (registry.skipped_count + count + 1) * sizeof *skipped);
	if (skipped)
		registry.skipped = skipped;
	struct patch *grown = realloc(registry.patches, (registry.patch_count + count) * sizeof *grown);
	if (grown)
		registry.patches = grown;
	if (!in || !done || !grown || !skipped) {
		rc = fail(HP_E_MEMORY, "out of memory");
		goto out;
	}
	int id = registry.next_id;
	const size_t sites_before = registry.site_count, pages_before = registry.page_count;
	for (uint32_t i = 0; i < count && !rc; i++)
		rc = verify_module(pkg, i, &in[i], flags, stopped != NULL);
	for (uint32_t i = 0; i < count && !rc; i++)
		loaded += (uint32_t)in[i].loaded;
	if (!rc && !loaded) {
		char names[400];
		module_names(in, count, names, sizeof names);
		rc = fail(HP_E_MODULE, "no loaded module has the build-id of %s", names);
	}
	for (uint32_t i = 0; i < count && !rc; i++)
		if (in[i].loaded)
			rc = map_module(pkg, i, &in[i]);
	/* The new code is mapped and bound, and nothing reaches it yet: its pre-apply hooks may veto. */
	for (uint32_t i = 0; i < count && !rc; i++)
		if (in[i].loaded) {
			in[i].hooks_ran = in[i].m->hook_count != 0;
			rc = run_hooks(in[i].hooks, in[i].m->hook_count, HP_HOOK_PRE_APPLY, in[i].mod.path);
		}
	/* The last moment to give up with nothing written: a stopped world must still be one. */
	if (!rc && stopped && stopped->confirm && stopped->confirm(stopped->arg))
		rc = fail(HP_E_STOPPED_WORLD, "the stopped world ended before the switch (hpctl no longer holds the "
		          "threads); nothing was written");
	for (uint32_t i = 0; i < count && !rc; i++)
		if (in[i].loaded)
			rc = commit_module(&in[i]);
	if (!rc && stopped && stopped->switched)
		stopped->switched(stopped->arg);
	for (uint32_t i = 0; i < count && !rc; i++)
		if (in[i].loaded)
			rc = register_module(&in[i]);
	if (rc) {
		/* The process back as it was, patches this one would replace included: unwind tables
		 * first, while all the code they describe is still mapped. */
		for (uint32_t i = count; i-- > 0;)
			if (in[i].registered_now)
				hp_deregister_unwind(&registry.mappings[in[i].mapping]);
		int undone = 1;
		for (uint32_t i = count; i-- > 0;)
			if (in[i].committed)
				undone &= undo_module(&in[i]) == 0;
		if (undone)
			forget_added_sites(sites_before, pages_before);
		/* What the pre-apply hooks prepared is undone by the post-revert hooks, the process being
		 * as after a revert (post hooks cannot fail: the refusal's reason stays). */
		for (uint32_t i = 0; i < count; i++)
			if (in[i].hooks_ran)
				run_hooks(in[i].hooks, in[i].m->hook_count, HP_HOOK_POST_REVERT, in[i].mod.path);
		/* New code mapped for nothing (no thread ever ran it: never committed, no hook run);
		 * from the last, since removal moves the last entry. */
		for (uint32_t i = count; i-- > 0;)
			if (in[i].mapped_now && !in[i].committed && !in[i].hooks_ran) {
				struct hp_mapping *m = &registry.mappings[in[i].mapping];
				hp_unmap(m);
				*m = registry.mappings[--registry.mapping_count];
			}
		goto out;
	}
	for (uint32_t i = 0; i < count; i++)
		if (in[i].loaded)
			finish_module(pkg, i, &in[i], id, &done[committed++]);
	for (uint32_t i = 0; i < committed; i++)
		registry.patches[registry.patch_count++] = done[i];
	for (uint32_t i = 0; i < count; i++)
		if (!in[i].loaded) {
			struct skipped *k = &registry.skipped[registry.skipped_count++];
			k->id = id;
			k->index = i;
			snprintf(k->name, sizeof k->name, "%s", in[i].name);
		}
	forget_skipped_now_live(in, count, id);
	forget_skipped();  /* of patches this one replaced entirely */
	for (uint32_t k = 0; k < committed; k++)  /* the new code is live */
		run_hooks(done[k].hooks, done[k].hook_count, HP_HOOK_POST_APPLY, done[k].status.module);
	for (uint32_t i = 0, k = 0; i < count && i < max; i++) {
		memset(&results[i], 0, sizeof results[i]);
		snprintf(results[i].name, sizeof results[i].name, "%s", in[i].name);
		results[i].state = in[i].loaded ? HP_MODULE_APPLIED : HP_MODULE_SKIPPED;
		if (in[i].loaded) {
			snprintf(results[i].path, sizeof results[i].path, "%s", done[k].status.module);
			results[i].functions = done[k++].status.functions;
		}
	}
	if (result_count)
		*result_count = count;
	for (uint32_t i = 0; i < count; i++)
		if (in[i].loaded)
			record_applied(who, pkg, package, size, &in[i], id, flags);
	registry.next_id++;
	registry.last_error[0] = 0;
	rc = id;
out:
	if (rc < 0)
		record_refusal(who, pkg, package, size);
	for (uint32_t i = 0; in && i < count; i++) {
		free(in[i].indexes);
		free(in[i].targets);
		free(in[i].previous);
		free(in[i].all);
		free(in[i].fresh);
		free(in[i].stale);
		free(in[i].hooks);
	}
	free(in);
	free(done);
	hp_package_free(pkg);
	pthread_mutex_unlock(&registry.lock);
	return rc;
}

int hp_apply_modules(const void *package, size_t size, struct hp_module_result *results, size_t max,
                     size_t *result_count)
{
	struct hp_requester self = hp_requester_self();
	return hp_apply_as(package, size, 0, &self, results, max, result_count);
}

int hp_apply_ex(const void *package, size_t size, unsigned flags, struct hp_module_result *results, size_t max,
                size_t *result_count)
{
	struct hp_requester self = hp_requester_self();
	return hp_apply_as(package, size, flags, &self, results, max, result_count);
}

int hp_apply(const void *package, size_t size)
{
	return hp_apply_modules(package, size, NULL, 0, NULL);
}

struct indexed_result {
	uint32_t index;
	struct hp_module_result r;
};

static int by_index(const void *a, const void *b)
{
	uint32_t x = ((const struct indexed_result *)a)->index, y = ((const struct indexed_result *)b)->index;
	return (x > y) - (x < y);
}

int hp_patch_modules(int id, struct hp_module_result *out, size_t max)
{
	if (in_hook)
		return refuse_from_hook();
	pthread_mutex_lock(&registry.lock);
	int n = 0;
	struct indexed_result *all = NULL;
	forget_broken();
	forget_skipped();
	if (!find_patch(id)) {
		n = fail(HP_E_NO_PATCH, "no live patch %d", id);
		goto out;
	}
	all = calloc(registry.patch_count + registry.skipped_count, sizeof *all);
	if (!all) {
		n = fail(HP_E_MEMORY, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < registry.patch_count; i++) {
		const struct patch *p = &registry.patches[i];
		if (p->status.id != id)
			continue;
		struct indexed_result *e = &all[n++];
		e->index = p->index;
		e->r.state = HP_MODULE_APPLIED;
		e->r.functions = p->status.functions;
		snprintf(e->r.name, sizeof e->r.name, "%s", p->name);
		snprintf(e->r.path, sizeof e->r.path, "%s", p->status.module);
	}
	for (size_t i = 0; i < registry.skipped_count; i++) {
		const struct skipped *k = &registry.skipped[i];
		if (k->id != id)
			continue;
		struct indexed_result *e = &all[n++];
		e->index = k->index;
		e->r.state = HP_MODULE_SKIPPED;
		snprintf(e->r.name, sizeof e->r.name, "%s", k->name);
	}
	qsort(all, (size_t)n, sizeof *all, by_index);  /* the package's order */
	for (size_t i = 0; i < (size_t)n && i < max; i++)
		out[i] = all[i].r;
out:
	free(all);
	pthread_mutex_unlock(&registry.lock);
	return n;
}

/* One event per module reverted, or the refusal. */
static void record_revert(const struct hp_requester *who, const struct patch *p, int id, int rc)
{
	struct hp_event e;
	memset(&e, 0, sizeof e);
	e.kind = rc < 0 ? HP_EVENT_REFUSE : HP_EVENT_REVERT;
	e.uid = who->uid;
	e.pid = who->pid;
	e.patch = id;
	if (p) {
		memcpy(e.checksum, p->status.checksum, 16);
		e.sequence = p->sequence;
		snprintf(e.module, sizeof e.module, "%s", p->status.module);
	}
	if (rc < 0)
		snprintf(e.detail, sizeof e.detail, "revert refused: %s", registry.last_error);
	else
		snprintf(e.detail, sizeof e.detail, "patch %d reverted, %u functions back to their original code", id,
		         p ? p->status.functions : 0);
	hp_history_add(&e);
}

int hp_revert(int id)
{
	struct hp_requester self = hp_requester_self();
	return hp_revert_as(id, &self);
}

int hp_revert_as(int id, const struct hp_requester *who)
{
	if (in_hook)
		return refuse_from_hook();
	pthread_mutex_lock(&registry.lock);
	int rc = 0;
	struct patch *reverted = NULL;  /* the modules switched back */
	size_t reverted_count = 0;
	if (id == 0)  /* the newest: the highest id live */
		for (size_t i = 0; i < registry.patch_count; i++)
			id = registry.patches[i].status.id > id ? registry.patches[i].status.id : id;
	if (!id || !find_patch(id)) {
		rc = id ? fail(HP_E_NO_PATCH, "no live patch %d", id) : fail(HP_E_NO_PATCH, "no patch is live");
		goto out;
	}
	/* Nothing is written on the registry's word alone: a module of the patch whose code is not
	 * the runtime's any more is dropped from it untouched, and the revert refused; the patch's
	 * other modules stay live (a second revert takes them back). */
	char why[400];
	for (size_t i = registry.patch_count; i-- > 0;)
		if (registry.patches[i].status.id == id) {
			int intact = patch_intact(&registry.patches[i], why, sizeof why);
			if (intact < 0)
				rc = fail(HP_E_MODULE, "patch %d cannot be reverted: %s; nothing was written", id, why);
			if (intact)
				continue;
			rc = fail(HP_E_MISMATCH, "patch %d cannot be reverted: %s; nothing was written there, and the "
			          "patch no longer lists it", id, why);
			forget_patch(&registry.patches[i]);
		}
	if (rc) {
		forget_skipped();
		goto out;
	}
	/* Its pre-revert hooks may veto while it is still live; its post-revert hooks run once every
	 * module is back, from code that stays mapped. */
	for (size_t i = 0; i < registry.patch_count && !rc; i++)
		if (registry.patches[i].status.id == id)
			rc = run_hooks(registry.patches[i].hooks, registry.patches[i].hook_count, HP_HOOK_PRE_REVERT,
			               registry.patches[i].status.module);
	if (rc)
		goto out;
	/* Every module the patch redirects. */
	struct patch *p;
	while ((p = find_patch(id))) {
		struct hp_patch_site **sites = calloc(p->site_count + 1, sizeof *sites);
		if (!sites) {
			rc = fail(HP_E_MEMORY, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < p->site_count; i++)
			sites[i] = &registry.sites[p->sites[i]].code;
		if (hp_patch_sites_restore(sites, p->site_count)) {
			rc = fail(HP_E_PROTECT, "%s", hp_patch_sites_error());
			free(sites);
			goto out;
		}
		for (size_t i = 0; i < p->site_count; i++)
			registry.sites[p->sites[i]].patch = 0;
		free(sites);
		record_revert(who, p, id, 0);
		free(p->sites);
		struct patch *grown = realloc(reverted, (reverted_count + 1) * sizeof *grown);
		if (grown) {
			reverted = grown;
			reverted[reverted_count++] = *p;
		} else {
			free(p->hooks);  /* out of memory: its post-revert hooks cannot be kept to run */
		}
		*p = registry.patches[--registry.patch_count];
	}
	forget_skipped();
	registry.last_error[0] = 0;
out:
	if (rc < 0)
		record_revert(who, find_patch(id), id, rc);
	/* The modules switched back, even if a later one could not be: their post-revert hooks, then
	 * the shadow data their packages' code allocated and did not free. */
	for (size_t i = 0; i < reverted_count; i++) {
		run_hooks(reverted[i].hooks, reverted[i].hook_count, HP_HOOK_POST_REVERT, reverted[i].status.module);
		for (size_t k = 0; k < registry.mapping_count; k++)
			if (registry.mappings[k].module_base == reverted[i].module_base)
				hp_shadow_release_owned((uintptr_t)registry.mappings[k].base,
				                        (uintptr_t)registry.mappings[k].base + registry.mappings[k].size);
		free(reverted[i].hooks);
	}
	free(reverted);
	pthread_mutex_unlock(&registry.lock);
	return rc;
}

int hp_status(struct hp_patch_status *out, size_t max)
{
	if (in_hook)
		return refuse_from_hook();
	pthread_mutex_lock(&registry.lock);
	forget_broken();  /* lists only what is in force */
	forget_skipped();
	int n = (int)registry.patch_count;
	for (size_t i = 0; i < registry.patch_count && i < max; i++)
		out[i] = registry.patches[i].status;
	pthread_mutex_unlock(&registry.lock);
	return n;
}

int hp_patch_code(size_t i, uintptr_t *start, uintptr_t *end)
{
	int rc = -1;
	pthread_mutex_lock(&registry.lock);
	const struct patch *p = i < registry.patch_count ? &registry.patches[i] : NULL;
	if (p) {  /* every function and hook of the module's patch runs from that one mapping */
		*start = (uintptr_t)registry.mappings[p->mapping].base;
		*end = *start + registry.mappings[p->mapping].size;
		rc = 0;
	}
	pthread_mutex_unlock(&registry.lock);
	return rc;
}

const char *hp_strerror(int error)
{
	switch (error < 0 ? -error : error) {
	case 0: return "success";
	case HP_E_PACKAGE: return "malformed or corrupt package";
	case HP_E_MODULE: return "the package is for a build that is not loaded in this process";
	case HP_E_MISMATCH: return "a function does not hold the bytes the package expects";
	case HP_E_MEMORY: return "out of memory near the module";
	case HP_E_SYMBOL: return "a symbol the package needs is missing";
	case HP_E_RANGE: return "a relocation does not reach its target";
	case HP_E_PROTECT: return "cannot write or protect code";
	case HP_E_NO_PATCH: return "no such live patch";
	case HP_E_CONFLICT: return "another live patch redirects one of the functions, or a state hook called the runtime";
	case HP_E_UNTRUSTED: return "the package is not signed by a key this process trusts";
	case HP_E_DOWNGRADE: return "the package is older than the live patch it would replace";
	case HP_E_STOPPED_WORLD: return "a function can be switched only with every thread stopped";
	case HP_E_VETOED: return "a state hook of the package vetoed the switch";
	default: return "unknown error";
	}
}

const char *hp_last_error(void)
{
	return registry.last_error;
}

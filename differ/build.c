/* build.c — finding modules and objects in a build tree. */
#define _GNU_SOURCE
#include "build.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

static struct {
	struct hp_build *b;
	const char *root;
	int want_objects;
	char *err;
	size_t err_size;
	int failed;
} walk;

/* Reads the file's metadata; returns 1 if it has some, 0 if not, -1 if it is corrupt. */
static int read_meta(struct hp_elf *e, struct hp_meta *m, char *err, size_t err_size)
{
	size_t size = 0;
	const uint8_t *data = hp_elf_section(e, HP_META_SECTION, &size);
	if (!data)
		return 0;
	char why[300];
	if (hp_meta_parse(data, size, m, why, sizeof why)) {
		snprintf(err, err_size, "%s: %s", e->path, why);
		return -1;
	}
	return 1;
}

/* Whether a file's name or mode says it may be an object, archive, program or library of the
 * build: one that cannot be read is then an error, not a file left out. */
static int may_be_elf(const char *rel, mode_t mode)
{
	size_t n = strlen(rel);
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	return (mode & (S_IXUSR | S_IXGRP | S_IXOTH)) || (n > 2 && (!strcmp(rel + n - 2, ".o") || !strcmp(rel + n - 2, ".a"))) ||
	       (n > 3 && !strcmp(rel + n - 3, ".so")) || strstr(base, ".so.") || !strchr(base, '.');
}

static int add_file(const char *path, const char *rel, mode_t mode)
{
	struct hp_elf e;
	struct hp_meta m;
	char err[512];
	int head = hp_file_starts_with(path, ELFMAG, SELFMAG);
	if (head < 0) {
		/* Not silently left out: an unreadable object could hold code the package needs. */
		int why = errno;
		if (why == ENOENT)
			return 0;  /* a regular file gone since it was listed: no longer part of the tree */
		if (may_be_elf(rel, mode)) {
			snprintf(walk.err, walk.err_size, "%s: cannot read: %s (an object or module of the build cannot be left out)",
			         path, strerror(why));
			walk.failed = 1;
			return -1;
		}
		fprintf(stderr, "%s: warning: %s: cannot read: %s (not compared)\n", program_invocation_short_name, path,
		        strerror(why));
		return 0;
	}
	if (head != 1)
		return 0;  /* not part of what we compare */
	if (hp_elf_open(path, &e, err, sizeof err)) {
		/* An ELF file of the build that cannot be read (truncated, no permission) would
		 * silently leave its code out of the comparison. */
		snprintf(walk.err, walk.err_size, "%s", err);
		walk.failed = 1;
		return -1;
	}
	int linked = hp_elf_is_linked(&e);
	if (!linked && !walk.want_objects) {
		hp_elf_close(&e);
		return 0;
	}
	int rc = read_meta(&e, &m, walk.err, walk.err_size);
	if (rc == 0 && !linked) {
		/* An object of the project built without the plugin: kept, so that hpdiff can compare
		 * its machine code with the running module's and tell it from the system's code
		 * (crt files, libc_nonshared.a), which is not in the tree. */
		struct hp_build *b = walk.b;
		struct hp_object *n = realloc(b->plain_objects, (b->plain_object_count + 1) * sizeof *n);
		char *name = strdup(rel);
		if (!n || !name) {
			free(name);
			if (n)
				b->plain_objects = n;
			hp_elf_close(&e);
			snprintf(walk.err, walk.err_size, "out of memory");
			walk.failed = 1;
			return -1;
		}
		b->plain_objects = n;
		b->plain_objects[b->plain_object_count++] = (struct hp_object){ .elf = e, .name = name };
		return 0;
	}
	if (rc == 0 && linked) {
		/* A program or library without metadata (stripped with llvm-strip, or built without
		 * the plugin): not compared, but remembered, so that a module of the other build at
		 * the same path is not left out of the package without a word. */
		struct hp_build *b = walk.b;
		hp_elf_close(&e);
		char **n = realloc(b->bare_modules, (b->bare_module_count + 1) * sizeof *n);
		char *name = strdup(rel);
		if (!n || !name) {
			free(name);
			if (n)
				b->bare_modules = n;
			snprintf(walk.err, walk.err_size, "out of memory");
			walk.failed = 1;
			return -1;
		}
		b->bare_modules = n;
		b->bare_modules[b->bare_module_count++] = name;
		return 0;
	}
	if (rc <= 0) {
		hp_elf_close(&e);
		if (rc < 0)
			walk.failed = 1;
		return rc < 0 ? -1 : 0;
	}
	struct hp_build *b = walk.b;
	if (linked) {
		struct hp_module *n = realloc(b->modules, (b->module_count + 1) * sizeof *n);
		if (!n || !(rel = strdup(rel)))
			goto oom;
		b->modules = n;
		b->modules[b->module_count++] = (struct hp_module){ (char *)rel, e, m };
	} else {
		struct hp_object *n = realloc(b->objects, (b->object_count + 1) * sizeof *n);
		char *name = n ? strdup(rel) : NULL;
		if (n)
			b->objects = n;
		if (!name)
			goto oom;
		b->objects[b->object_count++] = (struct hp_object){ .elf = e, .meta = m, .name = name };
	}
	return 0;
oom:
	hp_meta_free(&m);
	hp_elf_close(&e);
	snprintf(walk.err, walk.err_size, "out of memory");
	walk.failed = 1;
	return -1;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	const char *rel = path + strlen(walk.root);
	while (*rel == '/')
		rel++;
	struct stat target;
	if (type == FTW_SL && stat(path, &target) && may_be_elf(rel, 0)) {
		/* A link is not followed (its target in the tree is read as itself), but one whose
		 * target cannot be reached names an object nobody can read. */
		snprintf(walk.err, walk.err_size, "%s: cannot read: %s (a symbolic link; an object or module of the build cannot be left out)",
		         path, strerror(errno));
		walk.failed = 1;
		return -1;
	}
	struct stat self;
	if (type == FTW_NS && lstat(path, &self) && errno == ENOENT)
		return 0;  /* gone since it was listed (another tool's temporary file renamed): not in the tree */
	if (type == FTW_NS || type == FTW_DNR) {
		snprintf(walk.err, walk.err_size, "%s: %s", path, type == FTW_DNR ? "cannot read: a directory of the build tree" : "cannot stat");
		walk.failed = 1;
		return -1;
	}
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	return add_file(path, rel, st->st_mode);
}

/* The directory to walk for a root given as a symbolic link (a "current" link to the latest
 * build): its target, since a physical walk does not follow the root itself.  NULL otherwise. */
static char *walk_root(const char *path)
{
	struct stat st;
	char *link = hp_xstrdup(path);  /* "link/" names the directory; nftw sees the link itself */
	size_t n = strlen(link);
	while (n > 1 && link[n - 1] == '/')
		link[--n] = 0;
	int is_link = !lstat(link, &st) && S_ISLNK(st.st_mode);
	free(link);
	return is_link ? realpath(path, NULL) : NULL;
}

static int module_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hp_module *)a)->name, ((const struct hp_module *)b)->name);
}

static int object_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hp_object *)a)->elf.path, ((const struct hp_object *)b)->elf.path);
}

int hp_build_load(const char *path, const char *objects_dir, int want_objects, struct hp_build *b,
                  char *err, size_t err_size)
{
	struct stat st;
	memset(b, 0, sizeof *b);
	if (stat(path, &st)) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	walk.b = b;
	walk.err = err;
	walk.err_size = err_size;
	walk.failed = 0;
	err[0] = 0;
	if (S_ISDIR(st.st_mode)) {
		b->root = hp_xstrdup(path);
		char *real = walk_root(path);
		walk.root = real ? real : path;
		walk.want_objects = want_objects;
		/* Physical walk: symlinked library names would list one module twice, and a link to a
		 * directory could list another tree's modules or loop. */
		if (nftw(walk.root, visit, 32, FTW_PHYS) != 0 && !walk.failed) {
			snprintf(err, err_size, "%s: cannot read the build tree: %s", path, strerror(errno));
			walk.failed = 1;
		}
		free(real);
	} else {
		char *copy = hp_xstrdup(path);
		char *slash = strrchr(copy, '/');
		b->root = hp_xstrdup(slash ? (*slash = 0, copy[0] ? copy : "/") : ".");
		free(copy);
		struct hp_elf e;
		if (hp_elf_open(path, &e, err, err_size))
			walk.failed = 1;
		else if (!hp_elf_is_linked(&e)) {
			snprintf(err, err_size, "%s: not an executable or shared library", path);
			hp_elf_close(&e);
			walk.failed = 1;
		} else {
			hp_elf_close(&e);
			const char *base = strrchr(path, '/');
			walk.want_objects = 0;
			if (add_file(path, base ? base + 1 : path, S_IXUSR) == 0 && !walk.failed && b->module_count == 0) {
				snprintf(err, err_size, "%s: no %s metadata (not built with -fplugin=hotpatch)",
				         path, HP_META_SECTION);
				walk.failed = 1;
			}
			if (!walk.failed && want_objects) {
				const char *dir = objects_dir ? objects_dir : b->root;
				char *real = walk_root(dir);
				walk.root = real ? real : dir;
				walk.want_objects = 1;
				size_t modules = b->module_count, bare = b->bare_module_count;
				if (nftw(walk.root, visit, 32, FTW_PHYS) != 0 && !walk.failed) {
					snprintf(err, err_size, "%s: cannot read: %s", dir, strerror(errno));
					walk.failed = 1;
				}
				free(real);
				/* Only the named file is compared, not other programs beside it. */
				for (size_t i = modules; i < b->module_count; i++) {
					hp_meta_free(&b->modules[i].meta);
					hp_elf_close(&b->modules[i].elf);
					free(b->modules[i].name);
				}
				b->module_count = modules;
				for (size_t i = bare; i < b->bare_module_count; i++)
					free(b->bare_modules[i]);
				b->bare_module_count = bare;
			}
		}
	}
	if (!walk.failed && b->module_count == 0) {
		snprintf(err, err_size, "%s: no executable or shared library built with -fplugin=hotpatch", path);
		walk.failed = 1;
	}
	if (walk.failed) {
		hp_build_free(b);
		return -1;
	}
	hp_sort(b->modules, b->module_count, sizeof *b->modules, module_cmp);
	hp_sort(b->plain_objects, b->plain_object_count, sizeof *b->plain_objects, object_cmp);
	hp_sort(b->objects, b->object_count, sizeof *b->objects, object_cmp);
	return 0;
}

void hp_build_free(struct hp_build *b)
{
	for (size_t i = 0; i < b->module_count; i++) {
		hp_meta_free(&b->modules[i].meta);
		hp_elf_close(&b->modules[i].elf);
		free(b->modules[i].name);
	}
	for (size_t i = 0; i < b->object_count; i++) {
		hp_meta_free(&b->objects[i].meta);
		hp_elf_close(&b->objects[i].elf);
		free(b->objects[i].name);
	}
	for (size_t i = 0; i < b->plain_object_count; i++) {
		hp_elf_close(&b->plain_objects[i].elf);
		free(b->plain_objects[i].name);
	}
	for (size_t i = 0; i < b->bare_module_count; i++)
		free(b->bare_modules[i]);
	free(b->bare_modules);
	free(b->plain_objects);
	free(b->modules);
	free(b->objects);
	free(b->root);
	memset(b, 0, sizeof *b);
}

struct hp_object *hp_build_object_for(struct hp_build *b, const char *tu, const char *symbol)
{
	for (size_t i = 0; i < 2 * b->object_count; i++) {
		struct hp_object *o = &b->objects[i % b->object_count];
		if (i < b->object_count ? !o->linked : o->linked)
			continue;  /* linked ones first, then the rest */
		int unit = 0;
		for (size_t t = 0; t < o->meta.tu_count && !unit; t++)
			unit = !strcmp(o->meta.tus[t].name, tu);
		if (!unit)
			continue;
		const struct hp_symbol *s = hp_elf_find_symbol(&o->elf, symbol);
		if (s && s->section != SHN_UNDEF)
			return o;
	}
	return NULL;
}

int hp_build_has_bare_module(const struct hp_build *b, const char *name)
{
	for (size_t i = 0; i < b->bare_module_count; i++)
		if (!strcmp(b->bare_modules[i], name))
			return 1;
	return 0;
}

/* The same records, in the same order, with the same fingerprints: the unit's blob as the
 * linker copied it into the module.  Anything else means the object was rebuilt since. */
static int same_unit(const struct hp_tu *a, const struct hp_tu *b)
{
	if (a->record_count != b->record_count || memcmp(a->options_hash, b->options_hash, sizeof a->options_hash))
		return 0;
	for (size_t r = 0; r < a->record_count; r++) {
		const struct hp_rec *x = &a->records[r], *y = &b->records[r];
		if (x->kind != y->kind || x->size != y->size || strcmp(x->name, y->name) ||
		    memcmp(x->fingerprint, y->fingerprint, sizeof x->fingerprint) ||
		    memcmp(x->source_fingerprint, y->source_fingerprint, sizeof x->source_fingerprint) ||
		    memcmp(x->layout_fingerprint, y->layout_fingerprint, sizeof x->layout_fingerprint))
			return 0;
	}
	return 1;
}

int hp_build_check_objects(struct hp_build *b, const struct hp_module *m, const char *side, char *err,
                           size_t err_size)
{
	for (size_t t = 0; t < m->meta.tu_count; t++) {
		const struct hp_tu *unit = &m->meta.tus[t];
		const struct hp_object *stale = NULL;
		int linked = 0;
		for (size_t i = 0; i < b->object_count; i++)
			for (size_t k = 0; k < b->objects[i].meta.tu_count; k++) {
				const struct hp_tu *o = &b->objects[i].meta.tus[k];
				if (strcmp(o->name, unit->name))
					continue;
				if (same_unit(o, unit))
					linked = b->objects[i].linked = 1;
				else if (!stale)
					stale = &b->objects[i];
			}
		if (!linked && stale) {
			snprintf(err, err_size, "%s's object %s does not match the module %s it was linked into (rebuilt since; relink %s)",
			         side, stale->name, m->name, m->name);
			return -1;
		}
	}
	return 0;
}

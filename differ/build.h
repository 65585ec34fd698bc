/* build.h — one build as hpdiff sees it: the linked modules (executables and shared libraries
 * that carry hotpatch metadata) and the relocatable objects new code is taken from. */
#ifndef HP_BUILD_H
#define HP_BUILD_H

#include <stddef.h>
#include "elf_file.h"
#include "meta_read.h"

struct hp_module {
	char *name;                   /* path relative to the build root: what pairs modules */
	struct hp_elf elf;
	struct hp_meta meta;
};

struct hp_object {
	struct hp_elf elf;
	struct hp_meta meta;          /* normally one unit */
	char *name;                   /* path relative to the build root */
	int linked;                   /* a unit of it is the one a compared module was linked with
	                                 (hp_build_check_objects): preferred as the source of code */
};

struct hp_build {
	char *root;
	struct hp_module *modules;
	size_t module_count;
	struct hp_object *objects;
	size_t object_count;
	struct hp_object *plain_objects; /* objects of the tree without metadata (built without the */
	size_t plain_object_count;       /* plugin): their code is compared byte by byte */
	char **bare_modules;             /* linked files of the tree without metadata (stripped, or */
	size_t bare_module_count;        /* built without the plugin), by relative path: a module of
	                                    the other build at that path cannot be compared */
};

/* Loads a build tree (a directory), or one linked file whose objects are searched for below
 * objects_dir (NULL: the file's directory).  Objects are read only when want_objects is set.
 * Returns 0, or -1 with a one-line message in err. */
int hp_build_load(const char *path, const char *objects_dir, int want_objects, struct hp_build *b,
                  char *err, size_t err_size);
void hp_build_free(struct hp_build *b);

/* Whether the build holds a linked file at that relative path that has no metadata. */
int hp_build_has_bare_module(const struct hp_build *b, const char *name);

/* Checks that, for every unit of the module that objects of the build hold, one of them holds
 * the records the module was linked with: code is taken from objects but decisions from the
 * module's records, so an object rebuilt after the link (the module not relinked) would put code
 * that no build holds into the package.  side is "OLD" or "NEW", for the message.  Returns 0, or
 * -1 with a one-line message in err. */
int hp_build_check_objects(struct hp_build *b, const struct hp_module *m, const char *side, char *err,
                           size_t err_size);

/* The object whose unit has that source identity and which defines symbol, one found linked
 * into a module first (a stale copy of the unit elsewhere in the tree is not taken); NULL if
 * none. */
struct hp_object *hp_build_object_for(struct hp_build *b, const char *tu, const char *symbol);

#endif

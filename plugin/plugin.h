/* plugin.h — the interface between the plugin's C++ front end (register.cpp and the AST
 * collectors source_facts.h names) and its C passes: what Clang's front end knows about a
 * translation unit, handed to code that sees IR. */
#ifndef HP_PLUGIN_H
#define HP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <llvm-c/Core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the plugin lays out at every function's entry (-fplugin-arg-hotpatch-entry=; contract/site.h,
 * docs/design.md "The prologue"). */
enum hp_entry_mode {
	/* entry=atomic-site, the default: the padding, and a first instruction at least as long as
	 * the site (LLVM puts a 2-byte no-op before a shorter one), so that any function can be
	 * switched while the program runs. */
	HP_ENTRY_ATOMIC_SITE = 0,
	/* entry=padding-only: the padding alone, no executed no-op; a function whose first
	 * instruction is 1 byte long can then be switched only with every thread stopped. */
	HP_ENTRY_PADDING_ONLY = 1,
};

/* Settings from -fplugin-arg-hotpatch-KEY=VALUE. */
struct hp_plugin_options {
	const char *root;             /* project root for source identities; NULL: derive */
	const char *const *exclude;   /* functions that must keep no patchable prologue */
	size_t exclude_count;
	int entry;                    /* enum hp_entry_mode */
};

/* A struct or union as the source declares it. */
struct hp_source_type {
	const char *name;
	uint32_t size;
	uint8_t layout[16];
};

/* What the front end knows of one function (with a body) or variable of the unit. */
struct hp_source_decl {
	const char *symbol;           /* IR name before the plugin renames file-local symbols */
	int is_function;
	int is_local;                 /* static: file-local linkage */
	int is_referenced;            /* a function of this unit refers to it */
	const uint32_t *types;        /* types its own code uses: indices into .types, ascending */
	size_t type_count;
	uint8_t layout[16];           /* XXH3-128 over each type it depends on, callees' included */
	uint8_t source_fingerprint[16];  /* functions: from Clang's ODR hash of the body */
	const char *const *callees;   /* same-file functions it refers to, by symbol */
	size_t callee_count;
	const uint32_t *lines;        /* functions: values its body took from __LINE__, AST order */
	size_t line_count;
	uint8_t lines_fingerprint[16];  /* functions: its source with those values masked out */
};

/* Facts only the front end has; NULL for IR inputs (-fpass-plugin). */
struct hp_source_info {
	const char *main_file;        /* as given on the command line */
	const char *producer;         /* compiler version */
	const char *options;          /* code generation options that shape code, as text */
	uint32_t tu_flags;            /* HP_META_TU_* */
	const struct hp_source_type *types;
	size_t type_count;
	const struct hp_source_decl *decls;  /* sorted by symbol */
	size_t decl_count;
};

/* OptimizerLast: give file-local symbols unique names, add patchable prologues, fingerprint the
 * final IR and emit the ".hotpatch" section.  Returns 0, or -1 with a message in err. */
int hp_plugin_finish(LLVMModuleRef module, const struct hp_plugin_options *options,
                     const struct hp_source_info *source, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif
#endif

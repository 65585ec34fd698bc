/* plugin.h — the interface between the plugin's C++ registration glue (register.cpp) and its C
 * passes: what Clang's front end knows about a translation unit, handed to code that sees IR. */
#ifndef HP_PLUGIN_H
#define HP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <llvm-c/Core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Settings from -fplugin-arg-hotpatch-KEY=VALUE. */
struct hp_plugin_options {
	const char *root;             /* project root for source identities; NULL: derive */
	const char *const *exclude;   /* functions that must keep no patchable prologue */
	size_t exclude_count;
};

/* A struct or union as the source declares it. */
struct hp_source_type {
	const char *name;
	uint32_t size;
	uint8_t layout[16];
};

/* The source types a function or variable uses directly, and the hash over the layouts of all
 * it depends on: its own types and those of every same-file function it may inline. */
struct hp_source_uses {
	const char *symbol;           /* IR name before the plugin renames file-local symbols */
	const uint32_t *types;        /* its own: indices into hp_source_info.types, ascending */
	size_t count;
	uint8_t layout[16];           /* XXH3-128 over name and layout of each type it depends on */
};

/* Facts only the front end has; main_file == NULL for IR inputs (-fpass-plugin). */
struct hp_source_info {
	const char *main_file;        /* as given on the command line */
	const char *producer;         /* compiler version */
	const char *options;          /* code generation options that shape code, as text */
	uint32_t tu_flags;            /* HP_META_TU_* */
	const struct hp_source_type *types;
	size_t type_count;
	const struct hp_source_uses *uses;   /* sorted by symbol */
	size_t use_count;
};

/* PipelineStart: fingerprint each function before optimization and note its same-file callees,
 * so that the final records can tell a function's own change from an inlined callee's. */
void hp_plugin_begin(LLVMModuleRef module);

/* OptimizerLast: give file-local symbols unique names, add patchable prologues, fingerprint the
 * final IR and emit the ".hotpatch" section.  Returns 0, or -1 with a message in err. */
int hp_plugin_finish(LLVMModuleRef module, const struct hp_plugin_options *options,
                     const struct hp_source_info *source, char *err, size_t err_size);

/* C++ helpers for what LLVM-C cannot do (register.cpp). */
void hp_erase_named_metadata(LLVMModuleRef module, const char *name);

#ifdef __cplusplus
}
#endif
#endif

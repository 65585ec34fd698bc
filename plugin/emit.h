/* emit.h — builds one translation unit's ".hotpatch" blob (hp_meta.h) and places it in the
 * object through module-level assembly, the one way to get a non-allocated section out of
 * LLVM that survives optimization, --gc-sections and strip. */
#ifndef HP_EMIT_H
#define HP_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <llvm-c/Core.h>
#include "hp_meta.h"

struct hp_blob {
	struct hp_meta_header header;
	struct hp_meta_record *records;
	struct hp_meta_type *types;
	uint32_t *indices;
	char *strings;
	size_t record_count, record_cap;
	size_t type_count, type_cap;
	size_t index_count, index_cap;
	size_t strings_size, strings_cap;
};

/* Each returns 0, or -1 when memory runs out (the blob stays valid to free). */
int hp_blob_string(struct hp_blob *b, const char *s, uint32_t *offset);
int hp_blob_record(struct hp_blob *b, const struct hp_meta_record *r);
int hp_blob_type(struct hp_blob *b, const struct hp_meta_type *t);
int hp_blob_index(struct hp_blob *b, uint32_t value);

/* Finishes the header and appends the section to the module's inline assembly. */
int hp_blob_emit(struct hp_blob *b, LLVMModuleRef module);
void hp_blob_free(struct hp_blob *b);

#endif

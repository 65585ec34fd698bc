/* emit.c — the ".hotpatch" blob builder and its emission as module-level assembly. */
#include "emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(void **data, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*data, n * elem);
	if (!p)
		return -1;
	*data = p;
	*cap = n;
	return 0;
}

int hp_blob_string(struct hp_blob *b, const char *s, uint32_t *offset)
{
	size_t len = strlen(s) + 1;
	if (reserve((void **)&b->strings, &b->strings_cap, b->strings_size + len, 1))
		return -1;
	memcpy(b->strings + b->strings_size, s, len);
	*offset = (uint32_t)b->strings_size;
	b->strings_size += len;
	return 0;
}

int hp_blob_record(struct hp_blob *b, const struct hp_meta_record *r)
{
	if (reserve((void **)&b->records, &b->record_cap, b->record_count + 1, sizeof *r))
		return -1;
	b->records[b->record_count++] = *r;
	return 0;
}

int hp_blob_type(struct hp_blob *b, const struct hp_meta_type *t)
{
	if (reserve((void **)&b->types, &b->type_cap, b->type_count + 1, sizeof *t))
		return -1;
	b->types[b->type_count++] = *t;
	return 0;
}

int hp_blob_index(struct hp_blob *b, uint32_t value)
{
	if (reserve((void **)&b->indices, &b->index_cap, b->index_count + 1, sizeof value))
		return -1;
	b->indices[b->index_count++] = value;
	return 0;
}

/* Appends bytes as .ascii lines: printable characters as they are, the rest as octal. */
static int put_ascii(char **out, size_t *len, size_t *cap, const void *data, size_t size)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < size; i += 64) {
		size_t n = size - i < 64 ? size - i : 64;
		if (reserve((void **)out, cap, *len + 16 + n * 4, 1))
			return -1;
		*len += (size_t)sprintf(*out + *len, "\t.ascii \"");
		for (size_t k = 0; k < n; k++) {
			unsigned char c = p[i + k];
			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				(*out)[(*len)++] = (char)c;
			else
				*len += (size_t)sprintf(*out + *len, "\\%03o", c);
		}
		(*len) += (size_t)sprintf(*out + *len, "\"\n");
	}
	return 0;
}

int hp_blob_emit(struct hp_blob *b, LLVMModuleRef module)
{
	struct hp_meta_header *h = &b->header;
	memcpy(h->magic, HP_META_MAGIC, sizeof h->magic);
	h->version = HP_META_VERSION;
	h->header_size = sizeof *h;
	h->record_count = (uint32_t)b->record_count;
	h->record_size = sizeof(struct hp_meta_record);
	h->type_count = (uint32_t)b->type_count;
	h->type_size = sizeof(struct hp_meta_type);
	h->index_count = (uint32_t)b->index_count;
	h->strings_size = (uint32_t)b->strings_size;
	h->total_size = (uint32_t)(sizeof *h + b->record_count * sizeof *b->records +
	                           b->type_count * sizeof *b->types +
	                           b->index_count * sizeof *b->indices + b->strings_size);

	char *text = NULL;
	size_t len = 0, cap = 0;
	static const char open[] = "\t.pushsection " HP_META_SECTION ",\"\",@progbits\n";
	static const char close[] = "\t.popsection\n";
	if (reserve((void **)&text, &cap, sizeof open, 1))
		return -1;
	memcpy(text, open, sizeof open - 1);
	len = sizeof open - 1;
	int rc = put_ascii(&text, &len, &cap, h, sizeof *h) ||
	         put_ascii(&text, &len, &cap, b->records, b->record_count * sizeof *b->records) ||
	         put_ascii(&text, &len, &cap, b->types, b->type_count * sizeof *b->types) ||
	         put_ascii(&text, &len, &cap, b->indices, b->index_count * sizeof *b->indices) ||
	         put_ascii(&text, &len, &cap, b->strings, b->strings_size) ||
	         reserve((void **)&text, &cap, len + sizeof close, 1);
	if (rc == 0) {
		memcpy(text + len, close, sizeof close - 1);
		len += sizeof close - 1;
		LLVMAppendModuleInlineAsm(module, text, len);
	}
	free(text);
	return rc ? -1 : 0;
}

void hp_blob_free(struct hp_blob *b)
{
	free(b->records);
	free(b->types);
	free(b->indices);
	free(b->strings);
	memset(b, 0, sizeof *b);
}

/* meta_read.h — parses and validates ".hotpatch" section contents (contract/hp_meta.h) into plain
 * structs.  Nothing is trusted: every offset, count and string is checked against the blob. */
#ifndef HP_META_READ_H
#define HP_META_READ_H

#include <stddef.h>
#include <stdint.h>
#include "hp_meta.h"

struct hp_tu;

struct hp_rec {
	const char *name;
	uint8_t kind, linkage;
	uint16_t flags;
	uint64_t size;
	uint8_t fingerprint[16], source_fingerprint[16], layout_fingerprint[16], shape_fingerprint[16];
	uint8_t abi_fingerprint[16];
	const uint32_t *types;        /* indices into tu->types */
	uint32_t type_count;
	const uint32_t *calls;        /* indices into tu->records */
	uint32_t call_count;
	const uint32_t *lines;        /* values its own body took from __LINE__, in AST order */
	uint32_t line_count;          /* 0 also for records written before lines were recorded */
	uint8_t lines_fingerprint[16];  /* its source with those values masked; zero when unknown */
	struct hp_tu *tu;
};

struct hp_type {
	const char *name;
	uint32_t size;
	uint8_t layout[16];
};

struct hp_tu {
	const char *name, *producer, *triple, *options;
	uint8_t options_hash[16];
	uint32_t flags;
	struct hp_rec *records;
	size_t record_count;
	struct hp_type *types;
	size_t type_count;
};

struct hp_meta {
	struct hp_tu *tus;
	size_t tu_count;
	struct hp_rec *all_records;   /* storage the tus point into */
	struct hp_type *all_types;
	void *storage;                /* strings and index arrays the records point into */
};

/* Parses a whole section (back-to-back blobs).  Returns 0, or -1 with a message in err
 * ("offset N: what is wrong").  On failure *out is empty and needs no free. */
int hp_meta_parse(const uint8_t *data, size_t size, struct hp_meta *out, char *err, size_t err_size);
void hp_meta_free(struct hp_meta *meta);

const char *hp_meta_kind_name(uint8_t kind);
const char *hp_meta_linkage_name(uint8_t linkage);
/* Comma-separated record flags, or "-" when none; buf must hold 160 bytes. */
const char *hp_meta_flags_text(uint16_t flags, char *buf);

#endif

/* meta_read.c — the ".hotpatch" reader: validate every blob, then copy it into hp_meta. */
#include "meta_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(char *err, size_t err_size, size_t offset, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(err, err_size, "corrupt metadata at offset %zu: %s", offset, what);
	return -1;
}

/* Blob layout after validation, in bytes from the blob's start. */
struct layout {
	struct hp_meta_header h;
	size_t records, types, indices, strings;
};

static int check_blob(const uint8_t *p, size_t avail, size_t at, struct layout *l, char *err,
                      size_t err_size)
{
	if (avail < 12)
		return bad(err, err_size, at, "truncated header");
	if (memcmp(p, HP_META_MAGIC, 8))
		return bad(err, err_size, at, "bad magic");
	memset(&l->h, 0, sizeof l->h);
	memcpy(&l->h, p, 12);  /* magic, version, header_size */
	if (l->h.version != HP_META_VERSION)
		return bad(err, err_size, at, "unsupported format version %u (this hpdump reads %u)",
		           l->h.version, HP_META_VERSION);
	if (l->h.header_size < sizeof l->h || l->h.header_size > avail)
		return bad(err, err_size, at, "header size %u out of bounds", l->h.header_size);
	memcpy(&l->h, p, sizeof l->h);
	const struct hp_meta_header *h = &l->h;
	if (h->total_size > avail || h->total_size < h->header_size)
		return bad(err, err_size, at, "blob size %u exceeds the section (%zu bytes left)",
		           h->total_size, avail);
	if (h->record_size < HP_META_RECORD_MIN_SIZE || h->type_size < sizeof(struct hp_meta_type))
		return bad(err, err_size, at, "record size %u or type size %u too small", h->record_size,
		           h->type_size);
	uint64_t end = h->header_size;
	l->records = (size_t)end;
	end += (uint64_t)h->record_count * h->record_size;
	l->types = (size_t)end;
	end += (uint64_t)h->type_count * h->type_size;
	l->indices = (size_t)end;
	end += (uint64_t)h->index_count * 4;
	l->strings = (size_t)end;
	end += h->strings_size;
	if (end != h->total_size)
		return bad(err, err_size, at, "parts add up to %llu bytes, header says %u",
		           (unsigned long long)end, h->total_size);
	if (h->strings_size == 0 || p[l->strings + h->strings_size - 1] != 0)
		return bad(err, err_size, at, "string area not terminated");
	return 0;
}

static int check_string(const struct layout *l, uint32_t off, size_t at, const char *what,
                        char *err, size_t err_size)
{
	if (off >= l->h.strings_size)
		return bad(err, err_size, at, "%s string offset %u out of bounds", what, off);
	return 0;
}

static int check_range(const struct layout *l, uint32_t first, uint32_t count, size_t at,
                       char *err, size_t err_size)
{
	if (first > l->h.index_count || count > l->h.index_count - first)
		return bad(err, err_size, at, "index list %u+%u out of bounds", first, count);
	return 0;
}

/* A record as this reader knows it: fields a shorter (older) record lacks read as zero. */
static void read_record(const uint8_t *at, uint16_t record_size, struct hp_meta_record *r)
{
	memset(r, 0, sizeof *r);
	memcpy(r, at, record_size < sizeof *r ? record_size : sizeof *r);
}

int hp_meta_parse(const uint8_t *data, size_t size, struct hp_meta *out, char *err, size_t err_size)
{
	memset(out, 0, sizeof *out);
	/* Pass 1: validate everything and count. */
	size_t tus = 0, records = 0, types = 0;
	for (size_t at = 0; at < size;) {
		if (data[at] == 0) {  /* alignment padding a linker may add between inputs */
			at++;
			continue;
		}
		struct layout l;
		if (check_blob(data + at, size - at, at, &l, err, err_size))
			return -1;
		const uint8_t *p = data + at;
		const struct hp_meta_header *h = &l.h;
		if (check_string(&l, h->tu_name, at, "source", err, err_size) ||
		    check_string(&l, h->producer, at, "producer", err, err_size) ||
		    check_string(&l, h->triple, at, "triple", err, err_size) ||
		    check_string(&l, h->options, at, "options", err, err_size))
			return -1;
		for (uint32_t i = 0; i < h->record_count; i++) {
			struct hp_meta_record r;
			size_t ra = at + l.records + (size_t)i * h->record_size;
			read_record(p + l.records + (size_t)i * h->record_size, h->record_size, &r);
			if (check_string(&l, r.name, ra, "record name", err, err_size) ||
			    check_range(&l, r.types_first, r.types_count, ra, err, err_size) ||
			    check_range(&l, r.calls_first, r.calls_count, ra, err, err_size) ||
			    check_range(&l, r.lines_first, r.lines_count, ra, err, err_size))
				return -1;
			if (r.kind != HP_META_FUNCTION && r.kind != HP_META_VARIABLE)
				return bad(err, err_size, ra, "unknown record kind %u", r.kind);
			for (uint32_t k = 0; k < r.types_count; k++) {
				uint32_t v;
				memcpy(&v, p + l.indices + (size_t)(r.types_first + k) * 4, 4);
				if (v >= h->type_count)
					return bad(err, err_size, ra, "type index %u out of bounds", v);
			}
			for (uint32_t k = 0; k < r.calls_count; k++) {
				uint32_t v;
				memcpy(&v, p + l.indices + (size_t)(r.calls_first + k) * 4, 4);
				if (v >= h->record_count)
					return bad(err, err_size, ra, "callee index %u out of bounds", v);
			}
		}
		for (uint32_t i = 0; i < h->type_count; i++) {
			struct hp_meta_type t;
			memcpy(&t, p + l.types + (size_t)i * h->type_size, sizeof t);
			if (check_string(&l, t.name, at + l.types, "type name", err, err_size))
				return -1;
		}
		tus++;
		records += h->record_count;
		types += h->type_count;
		at += h->total_size;
	}

	/* Pass 2: copy into aligned storage that the structs point into. */
	out->tus = calloc(tus ? tus : 1, sizeof *out->tus);
	struct hp_rec *rec = calloc(records ? records : 1, sizeof *rec);
	struct hp_type *typ = calloc(types ? types : 1, sizeof *typ);
	char *storage = malloc(size + 8);
	if (!out->tus || !rec || !typ || !storage) {
		free(out->tus);
		free(rec);
		free(typ);
		free(storage);
		out->tus = NULL;
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	/* Index arrays need 4-byte alignment: storage holds them first, then the strings. */
	size_t used = 0;
	for (size_t at = 0; at < size;) {
		if (data[at] == 0) {
			at++;
			continue;
		}
		struct layout l;
		check_blob(data + at, size - at, at, &l, err, err_size);
		const uint8_t *p = data + at;
		const struct hp_meta_header *h = &l.h;
		uint32_t *idx = (uint32_t *)(void *)(storage + used);
		memcpy(idx, p + l.indices, (size_t)h->index_count * 4);
		used += (size_t)h->index_count * 4;
		char *str = storage + used;
		memcpy(str, p + l.strings, h->strings_size);
		used += h->strings_size;
		used = (used + 3) & ~(size_t)3;

		struct hp_tu *tu = &out->tus[out->tu_count++];
		tu->name = str + h->tu_name;
		tu->producer = str + h->producer;
		tu->triple = str + h->triple;
		tu->options = str + h->options;
		memcpy(tu->options_hash, h->options_hash, 16);
		tu->flags = h->flags;
		tu->records = rec;
		tu->record_count = h->record_count;
		tu->types = typ;
		tu->type_count = h->type_count;
		for (uint32_t i = 0; i < h->record_count; i++, rec++) {
			struct hp_meta_record r;
			read_record(p + l.records + (size_t)i * h->record_size, h->record_size, &r);
			*rec = (struct hp_rec){ .name = str + r.name, .kind = r.kind, .linkage = r.linkage,
				                .flags = r.flags, .size = r.size, .types = idx + r.types_first,
				                .type_count = r.types_count, .calls = idx + r.calls_first,
				                .call_count = r.calls_count, .lines = idx + r.lines_first,
				                .line_count = r.lines_count, .tu = tu };
			memcpy(rec->lines_fingerprint, r.lines_fingerprint, 16);
			memcpy(rec->shape_fingerprint, r.shape_fingerprint, 16);
			memcpy(rec->abi_fingerprint, r.abi_fingerprint, 16);
			memcpy(rec->fingerprint, r.fingerprint, 16);
			memcpy(rec->source_fingerprint, r.source_fingerprint, 16);
			memcpy(rec->layout_fingerprint, r.layout_fingerprint, 16);
		}
		for (uint32_t i = 0; i < h->type_count; i++, typ++) {
			struct hp_meta_type t;
			memcpy(&t, p + l.types + (size_t)i * h->type_size, sizeof t);
			*typ = (struct hp_type){ str + t.name, t.size, {0} };
			memcpy(typ->layout, t.layout, 16);
		}
		at += h->total_size;
	}
	out->all_records = rec - records;
	out->all_types = typ - types;
	out->storage = storage;
	return 0;
}

void hp_meta_free(struct hp_meta *m)
{
	free(m->all_records);
	free(m->all_types);
	free(m->tus);
	free(m->storage);
	memset(m, 0, sizeof *m);
}

const char *hp_meta_kind_name(uint8_t kind)
{
	return kind == HP_META_FUNCTION ? "function" : kind == HP_META_VARIABLE ? "variable" : "?";
}

const char *hp_meta_linkage_name(uint8_t linkage)
{
	static const char *const names[] = { "?", "external", "internal", "weak", "linkonce", "common" };
	return linkage < sizeof names / sizeof *names ? names[linkage] : "?";
}

const char *hp_meta_flags_text(uint16_t flags, char *buf)
{
	static const char *const names[] = { "constructor", "destructor", "no-patch", "variadic",
		                             "inlined-away", "recursive", "const", "thread-local",
		                             "static-local", "zero-init" };
	buf[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (flags & (1u << i)) {
			if (buf[0])
				strcat(buf, ",");
			strcat(buf, names[i]);
		}
	if (!buf[0])
		strcpy(buf, "-");
	return buf;
}

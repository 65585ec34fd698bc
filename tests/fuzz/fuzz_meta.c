/* fuzz_meta.c — libFuzzer target for the .hotpatch metadata reader (differ/meta_read.c,
 * hp_meta_parse): the input is a section's contents.  What it parses is walked as hpdump and
 * hpdiff read it: every name, every index a record holds into its unit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);  /* exact size: a read past the input is caught */
	if (!p)
		return 0;
	memcpy(p, data, size);
	struct hp_meta m;
	char err[300];
	if (hp_meta_parse(p, size, &m, err, sizeof err) == 0) {
		volatile size_t sink = 0;
		for (size_t t = 0; t < m.tu_count; t++) {
			const struct hp_tu *tu = &m.tus[t];
			sink += strlen(tu->name) + strlen(tu->producer) + strlen(tu->triple) + strlen(tu->options);
			for (size_t i = 0; i < tu->type_count; i++)
				sink += strlen(tu->types[i].name) + tu->types[i].layout[15];
			for (size_t r = 0; r < tu->record_count; r++) {
				const struct hp_rec *rec = &tu->records[r];
				char flags[160];
				sink += strlen(rec->name) + strlen(hp_meta_flags_text(rec->flags, flags));
				for (uint32_t k = 0; k < rec->type_count; k++)
					sink += strlen(tu->types[rec->types[k]].name);
				for (uint32_t k = 0; k < rec->call_count; k++)
					sink += strlen(tu->records[rec->calls[k]].name);
				for (uint32_t k = 0; k < rec->line_count; k++)
					sink += rec->lines[k];
			}
		}
		(void)sink;
		hp_meta_free(&m);
	}
	free(p);
	return 0;
}

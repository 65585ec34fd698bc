/* lines.c — "only line numbers changed" (docs/hpdiff.md, "Line numbers").  A fix that adds lines
 * moves every later function of its file, and each one that passes __LINE__ somewhere (an
 * assert, an error macro) gets other constants.  The plugin records which values came from
 * __LINE__; this file proves that such values are all that differs, or says no. */
#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static int is_zero16(const uint8_t *a)
{
	static const uint8_t zero[16];
	return !memcmp(a, zero, 16);
}

static int by_name(const void *a, const void *b)
{
	const struct hp_rec *x = *(const struct hp_rec *const *)a, *y = *(const struct hp_rec *const *)b;
	return strcmp(x->name, y->name);
}

/* The same-file functions r may have inlined: its call lists, transitively, r excluded, in
 * name order.  Returns the count (the array in *out, to free). */
static long callee_closure(const struct hp_rec *r, const struct hp_rec ***out)
{
	const struct hp_tu *tu = r->tu;
	char *seen = hp_xcalloc(tu->record_count + 1, 1);
	const struct hp_rec **list = hp_xcalloc(tu->record_count + 1, sizeof *list);
	size_t n = 0, next = 0;
	seen[r - tu->records] = 1;
	for (const struct hp_rec *at = r;; at = list[next++]) {
		for (uint32_t k = 0; k < at->call_count; k++)
			if (!seen[at->calls[k]]) {
				seen[at->calls[k]] = 1;
				list[n++] = &tu->records[at->calls[k]];
			}
		if (next == n)
			break;
	}
	free(seen);
	hp_sort(list, n, sizeof *list, by_name);
	*out = list;
	return (long)n;
}

/* Appends a record's line values to a list. */
static void append(uint32_t *list, size_t *count, const struct hp_rec *r)
{
	memcpy(list + *count, r->lines, r->line_count * sizeof *list);
	*count += r->line_count;
}

/* Whether r's own source is the same in both builds once line values are masked, and its
 * callee closure names the same functions with as many line values each (so that the lists
 * line up); if so, the two line lists (to free) with their common length. */
static int same_masked_source(const struct hp_rec *o, const struct hp_rec *n, uint32_t **old_lines,
                              uint32_t **new_lines, size_t *count)
{
	const struct hp_rec **oc = NULL, **nc = NULL;
	long on = callee_closure(o, &oc), nn = callee_closure(n, &nc);
	int ok = nn == on && !is_zero16(o->lines_fingerprint) &&
	         !memcmp(o->lines_fingerprint, n->lines_fingerprint, 16) &&
	         !memcmp(o->layout_fingerprint, n->layout_fingerprint, 16) && o->line_count == n->line_count;
	size_t total = o->line_count;
	for (long k = 0; ok && k < on; k++) {
		ok = !strcmp(oc[k]->name, nc[k]->name) && oc[k]->line_count == nc[k]->line_count;
		total += ok ? oc[k]->line_count : 0;
	}
	*old_lines = *new_lines = NULL;
	if (ok) {
		*old_lines = hp_xcalloc(total + 1, sizeof **old_lines);
		*new_lines = hp_xcalloc(total + 1, sizeof **new_lines);
	}
	if (ok) {
		size_t oi = 0, ni = 0;
		append(*old_lines, &oi, o);
		append(*new_lines, &ni, n);
		for (long k = 0; k < on; k++) {
			append(*old_lines, &oi, oc[k]);
			append(*new_lines, &ni, nc[k]);
		}
		*count = total;
	} else {
		free(*old_lines);
		free(*new_lines);
	}
	free(oc);
	free(nc);
	return ok;
}

static uint64_t read_le(const uint8_t *p, int width)
{
	uint64_t v = 0;
	for (int b = width - 1; b >= 0; b--)
		v = v << 8 | p[b];
	return v;
}

/* A window [at, at + width) that no relocation touches and that holds old line i in the old
 * code and new line i in the new code, for some i. */
static int line_window(const uint8_t *was, const uint8_t *now, const uint8_t *covered, size_t at,
                       int width, const uint32_t *old_lines, const uint32_t *new_lines, size_t count)
{
	for (int b = 0; b < width; b++)
		if (covered[at + (size_t)b])
			return 0;
	uint64_t before = read_le(was + at, width), after = read_le(now + at, width);
	for (size_t i = 0; i < count; i++)
		if (before == old_lines[i] && after == new_lines[i])
			return 1;
	return 0;
}

/* Instruction words (arch.h, line_immediate): every differing word no relocation touches must be
 * one instruction whose immediate is old line i before and new line i after, for some i. */
static int only_line_words(const struct hp_arch *arch, const uint8_t *was, const uint8_t *now, const uint8_t *covered,
                           size_t size, const uint32_t *old_lines, const uint32_t *new_lines, size_t count)
{
	int any = 0;
	for (size_t at = 0; at < size; at += 4) {
		size_t len = size - at < 4 ? size - at : 4;
		if (!memcmp(was + at, now + at, len))
			continue;
		int relocated = 0;
		for (size_t b = 0; b < len; b++)
			relocated += covered[at + b] != 0;
		if (relocated == 4)
			continue;  /* a relocated field, proven already */
		if (len < 4 || relocated)
			return 0;
		uint64_t before, after;
		if (!arch->line_immediate((uint32_t)read_le(was + at, 4), (uint32_t)read_le(now + at, 4), &before, &after))
			return 0;
		int found = 0;
		for (size_t i = 0; i < count && !found; i++)
			found = before == old_lines[i] && after == new_lines[i];
		if (!found)
			return 0;
		any = 1;
	}
	return any;
}

int hp_lines_only_change(const struct hp_arch *arch, const struct hp_rec *old_rec, const struct hp_rec *new_rec,
                         const uint8_t *was, const uint8_t *now, const uint8_t *covered, size_t size)
{
	uint32_t *old_lines, *new_lines;
	size_t count;
	if (!same_masked_source(old_rec, new_rec, &old_lines, &new_lines, &count))
		return 0;
	if (arch->line_immediate) {
		int only = count > 0 && only_line_words(arch, was, now, covered, size, old_lines, new_lines, count);
		free(old_lines);
		free(new_lines);
		return only;
	}
	/* Left to right: at the first differing byte not yet explained, the widest window holding
	 * it that starts after the last one taken; none means a byte no line value explains. */
	static const int widths[] = { 8, 4, 2, 1 };
	int only = count > 0, any = 0;
	size_t free_from = 0;  /* windows taken so far end here */
	for (size_t k = 0; only && k < size; k++) {
		if (covered[k] || was[k] == now[k])
			continue;
		int found = 0;
		for (size_t w = 0; w < sizeof widths / sizeof *widths && !found; w++) {
			size_t width = (size_t)widths[w];
			for (size_t back = 0; back < width && !found; back++) {
				if (back > k || k - back < free_from || k - back + width > size)
					continue;
				size_t at = k - back;
				if (line_window(was, now, covered, at, (int)width, old_lines, new_lines, count)) {
					found = 1;
					free_from = at + width;
					k = at + width - 1;
				}
			}
		}
		only = found;
		any |= found;
	}
	free(old_lines);
	free(new_lines);
	return only && any;
}

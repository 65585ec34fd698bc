/* package_read.c — the package reader: nothing in a package is trusted before it is checked.
 * check() walks the file's records in place (copied out one at a time: the file has no alignment
 * guarantees beyond its own offsets) and refuses the first thing wrong; decode() then copies
 * what was checked into one allocation, which is all the package's readers see. */
#include "package_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reloc.h"
#include "site.h"

#define XXH_INLINE_ALL  /* header-only: the runtime links nothing but libc */
#include <xxhash.h>

static int bad(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
	return -1;
}

static int within(uint64_t offset, uint64_t size, uint64_t limit)
{
	return offset <= limit && size <= limit - offset;
}

const char *hp_package_segment_name(unsigned segment)
{
	static const char *const names[HP_SEG_COUNT] = { "text", "rodata", "data", "bss" };
	return segment < HP_SEG_COUNT ? names[segment] : "?";
}

const char *hp_package_hook_name(unsigned kind)
{
	static const char *const names[] = { [HP_HOOK_PRE_APPLY] = "pre-apply", [HP_HOOK_POST_APPLY] = "post-apply",
		                             [HP_HOOK_PRE_REVERT] = "pre-revert", [HP_HOOK_POST_REVERT] = "post-revert" };
	return kind < sizeof names / sizeof *names && names[kind] ? names[kind] : "?";
}

const char *hp_package_accept_name(unsigned kind)
{
	return kind == HP_ACCEPT_LAYOUT ? "layout" : kind == HP_ACCEPT_VALUE ? "value" : "?";
}

/* The sizes of a module's patch sites, by its architecture (contract/site.h). */
struct site_numbers {
	unsigned padding, marker, size;
};

static int site_numbers_of(unsigned arch, struct site_numbers *out)
{
	if (arch == HP_ARCH_X86_64)
		*out = (struct site_numbers){ HP_X86_64_SITE_PADDING, HP_X86_64_SITE_MARKER_SIZE, HP_X86_64_SITE_SIZE };
	else if (arch == HP_ARCH_AARCH64)
		*out = (struct site_numbers){ HP_AARCH64_SITE_PADDING, HP_AARCH64_SITE_MARKER_SIZE, HP_AARCH64_SITE_SIZE };
	else
		return -1;
	return 0;
}

/* The file's records, copied out of a package whose header and tables are in bounds. */
static void read_header(const void *data, struct hp_pkg_header *out)
{
	memcpy(out, data, sizeof *out);
}

static void read_module(const void *data, uint32_t index, struct hp_pkg_module *out)
{
	struct hp_pkg_header h;
	read_header(data, &h);
	memcpy(out, (const uint8_t *)data + h.modules_offset + (size_t)index * sizeof *out, sizeof *out);
}

static void read_redirect(const void *data, const struct hp_pkg_module *m, uint32_t index,
                          struct hp_pkg_redirect *out)
{
	memcpy(out, (const uint8_t *)data + m->redirects_offset + (size_t)index * sizeof *out, sizeof *out);
}

static void read_import(const void *data, const struct hp_pkg_module *m, uint32_t index, struct hp_pkg_import *out)
{
	memcpy(out, (const uint8_t *)data + m->imports_offset + (size_t)index * sizeof *out, sizeof *out);
}

static void read_reloc(const void *data, const struct hp_pkg_module *m, uint32_t index, struct hp_pkg_reloc *out)
{
	memcpy(out, (const uint8_t *)data + m->relocs_offset + (size_t)index * sizeof *out, sizeof *out);
}

/* The state part of the header: zeros for a package without one. */
static void read_state(const void *data, struct hp_pkg_header_state *out)
{
	struct hp_pkg_header h;
	read_header(data, &h);
	memset(out, 0, sizeof *out);
	if (h.header_size == sizeof *out)
		memcpy(out, data, sizeof *out);
}

static void read_hook(const void *data, const struct hp_pkg_header_state *hs, uint32_t index, struct hp_pkg_hook *out)
{
	memcpy(out, (const uint8_t *)data + hs->hooks_offset + (size_t)index * sizeof *out, sizeof *out);
}

static void read_accept(const void *data, const struct hp_pkg_header_state *hs, uint32_t index,
                        struct hp_pkg_accept *out)
{
	memcpy(out, (const uint8_t *)data + hs->accepts_offset + (size_t)index * sizeof *out, sizeof *out);
}

static uint32_t hooks_of_module(const void *data, const struct hp_pkg_header_state *hs, uint32_t module)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < hs->hook_count; i++) {
		struct hp_pkg_hook k;
		read_hook(data, hs, i, &k);
		n += k.module == module;
	}
	return n;
}

static const char *string_at(const void *data, uint32_t offset)
{
	struct hp_pkg_header h;
	read_header(data, &h);
	return (const char *)data + h.strings_offset + offset;
}

/* Reads an unsigned LEB128 number at *q, below end (bits past 64 dropped); -1 when it runs past. */
static int uleb128(const uint8_t *t, uint32_t end, uint32_t *q, uint64_t *value)
{
	*value = 0;
	for (unsigned shift = 0; *q < end; shift += 7) {
		uint8_t b = t[(*q)++];
		*value |= shift < 64 ? (uint64_t)(b & 0x7f) << shift : 0;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Checks one CIE, [at, end) of the table: version 1 or 3, an augmentation of "z" with R, L, S
 * (the package carries no personality routine), and for AArch64 code B (return addresses signed
 * with the B key, which the unwinder must know to authenticate them), FDE pointers 32-bit
 * pc-relative.  Returns NULL, or what is wrong. */
static const char *check_cie(const uint8_t *t, uint32_t at, uint32_t end, unsigned arch, int *z)
{
	uint32_t q = at + 8;
	uint64_t n;
	if (q >= end || (t[q] != 1 && t[q] != 3))
		return "bad version";
	int version = t[q];
	uint32_t aug = ++q;
	while (q < end && t[q])
		q++;
	if (q >= end)
		return "unterminated augmentation";
	q++;
	if (uleb128(t, end, &q, &n) || uleb128(t, end, &q, &n) ||  /* code and data alignment */
	    (version == 1 ? q++ >= end : uleb128(t, end, &q, &n)))   /* return address register */
		return "fields past its end";
	uint8_t fde_enc = 0;
	*z = t[aug] == 'z';
	if (*z) {
		if (uleb128(t, end, &q, &n) || n > end - q)
			return "augmentation data past its end";
		uint32_t data = q, data_end = q + (uint32_t)n;
		for (uint32_t a = aug + 1; t[a]; a++) {
			if (t[a] == 'S' || (t[a] == 'B' && arch == HP_ARCH_AARCH64))
				continue;  /* no augmentation data */
			if ((t[a] != 'R' && t[a] != 'L') || data >= data_end)
				return "unsupported augmentation";
			if (t[a] == 'R')
				fde_enc = t[data];
			data++;
		}
	} else if (t[aug]) {
		return "unsupported augmentation";
	}
	return fde_enc == 0x1b ? NULL : "FDE pointers not 32-bit pc-relative";  /* DW_EH_PE_pcrel|sdata4 */
}

/* An entry of the unwind table, for finding CIEs and FDEs by offset. */
struct unwind_entry {
	uint32_t at;
	uint8_t is_cie, z, relocated;
};

/* The entry that starts at offset `at`, or NULL (entries are in table order). */
static struct unwind_entry *unwind_entry_at(struct unwind_entry *e, uint32_t count, uint32_t at)
{
	uint32_t lo = 0, hi = count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (e[mid].at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && e[lo].at == at ? &e[lo] : NULL;
}

/* Checks a module's unwind table (within rodata, as check_module found it) the way the unwinder
 * the runtime registers it with will read it: every entry's length within the table, each FDE's
 * CIE pointer at a CIE before it, each CIE's fields (check_cie), each FDE's pc_begin relocated
 * to segment text and nothing else in the table relocated, and one zero terminator, last.  A
 * table that failed here would have the unwinder read past it, or abort the process, at the
 * next backtrace or thread cancellation. */
static int check_unwind(const uint8_t *p, const struct hp_pkg_module *m, uint32_t index, char *err, size_t err_size)
{
	const uint8_t *t = p + m->segment_offset[HP_SEG_RODATA] + m->eh_frame_offset;
	uint32_t size = m->eh_frame_size, at = 0, count = 0, cap = 0;
	struct unwind_entry *entries = NULL;
	const char *why = NULL;
	int rc = -1;
	for (;;) {
		uint32_t length, id;
		if (size - at < 4) {
			why = "no terminator";
			break;
		}
		memcpy(&length, t + at, 4);
		if (length == 0) {
			if (size - at != 4)
				why = "terminator before its end";
			break;
		}
		if (length < 4 || length > size - at - 4) {
			why = "bad length";
			break;
		}
		uint32_t end = at + 4 + length;
		struct unwind_entry e = { at, 0, 0, 0 };
		memcpy(&id, t + at + 4, 4);
		if (id == 0) {
			int z = 0;
			e.is_cie = 1;
			why = check_cie(t, at, end, m->arch, &z);
			e.z = (uint8_t)z;
		} else {
			/* The CIE pointer counts back from its own field to a CIE's length field. */
			struct unwind_entry *cie = id <= at + 4 ? unwind_entry_at(entries, count, at + 4 - id) : NULL;
			uint32_t q = at + 16;
			uint64_t n;
			if (!cie || !cie->is_cie)
				why = "FDE's CIE pointer does not point at a CIE";
			else if (length < 12)
				why = "FDE too short";
			else if (cie->z && (uleb128(t, end, &q, &n) || n > end - q))
				why = "FDE augmentation data past its end";
		}
		if (why)
			break;
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			struct unwind_entry *grown = realloc(entries, (size_t)cap * sizeof *entries);
			if (!grown) {
				why = "out of memory";
				break;
			}
			entries = grown;
		}
		entries[count++] = e;
		at = end;
	}
	/* Every FDE's pc_begin relocated (once) to text, and nothing else in the table. */
	for (uint32_t i = 0; !why && i < m->reloc_count; i++) {
		struct hp_pkg_reloc r;
		read_reloc(p, m, i, &r);
		unsigned width = hp_reloc_width(r.type);
		if (r.segment != HP_SEG_RODATA || (uint64_t)r.offset + width <= m->eh_frame_offset ||
		    r.offset >= (uint64_t)m->eh_frame_offset + size)
			continue;
		struct unwind_entry *e = r.offset >= 8 + (uint64_t)m->eh_frame_offset
		                                 ? unwind_entry_at(entries, count, r.offset - m->eh_frame_offset - 8) : NULL;
		if (!e || e->is_cie || e->relocated || r.type != HP_RELOC_PC32 || r.target_kind != HP_TARGET_SEGMENT ||
		    r.target_segment != HP_SEG_TEXT) {
			at = r.offset >= m->eh_frame_offset ? r.offset - m->eh_frame_offset : 0;
			why = "a relocation that is not an FDE's pc_begin into text";
		} else {
			e->relocated = 1;
		}
	}
	for (uint32_t i = 0; !why && i < count; i++)
		if (!entries[i].is_cie && !entries[i].relocated) {
			at = entries[i].at;
			why = "FDE's pc_begin not relocated";
		}
	if (why)
		bad(err, err_size, "module %u: unwind table: %s (at +%u of %u bytes)", index, why, at, size);
	else
		rc = 0;
	free(entries);
	return rc;
}

static int check_module(const uint8_t *p, const struct hp_pkg_header *h, const struct hp_pkg_header_state *hs,
                        uint32_t index, char *err, size_t err_size)
{
	struct hp_pkg_module m;
	read_module(p, index, &m);
	uint64_t size = h->total_size;
	if (m.name >= h->strings_size)
		return bad(err, err_size, "module %u: name outside the string area", index);
	if (m.build_id_size == 0 || m.build_id_size > sizeof m.build_id)
		return bad(err, err_size, "module %u: bad build-id size %u", index, m.build_id_size);
	if (!within(m.redirects_offset, (uint64_t)m.redirect_count * h->redirect_size, size) ||
	    !within(m.imports_offset, (uint64_t)m.import_count * h->import_size, size) ||
	    !within(m.relocs_offset, (uint64_t)m.reloc_count * h->reloc_size, size))
		return bad(err, err_size, "module %u: a table lies outside the package", index);
	for (int s = 0; s < HP_SEG_COUNT; s++) {
		uint32_t align = m.segment_align[s];
		if (align == 0 || (align & (align - 1)) || align > 4096)
			return bad(err, err_size, "module %u: segment %s: bad alignment %u", index, hp_package_segment_name(s), align);
		if (s != HP_SEG_BSS && !within(m.segment_offset[s], m.segment_size[s], size))
			return bad(err, err_size, "module %u: segment %s lies outside the package", index, hp_package_segment_name(s));
		if (m.segment_size[s] > (1u << 30))
			return bad(err, err_size, "module %u: segment %s too large", index, hp_package_segment_name(s));
	}
	if (m.eh_frame_size && (!within(m.eh_frame_offset, m.eh_frame_size, m.segment_size[HP_SEG_RODATA]) ||
	                        m.eh_frame_size < 4))
		return bad(err, err_size, "module %u: unwind table outside segment rodata", index);
	if (m.redirect_count == 0 && !hooks_of_module(p, hs, index))
		return bad(err, err_size, "module %u: no function to redirect and no hook", index);
	struct site_numbers site;
	if (site_numbers_of(m.arch, &site))
		return bad(err, err_size, "module %u: unknown architecture %u", index, m.arch);
	for (uint32_t i = 0; i < m.redirect_count; i++) {
		struct hp_pkg_redirect r;
		read_redirect(p, &m, i, &r);
		if (r.name >= h->strings_size)
			return bad(err, err_size, "module %u: redirect %u: name outside the string area", index, i);
		if ((r.site_offset != 0 && r.site_offset != site.marker) || r.expected_size != site.padding + r.site_offset + site.size)
			return bad(err, err_size, "module %u: redirect %u: bad patch site", index, i);
		if (r.new_offset >= m.segment_size[HP_SEG_TEXT])
			return bad(err, err_size, "module %u: redirect %u: new code outside segment text", index, i);
		if (r.old_offset < site.padding)
			return bad(err, err_size, "module %u: redirect %u: bad function offset", index, i);
		if (r.flags & ~HP_REDIRECT_KNOWN)
			return bad(err, err_size, "module %u: redirect %u: unknown flags 0x%x", index, i,
			           r.flags & ~HP_REDIRECT_KNOWN);
	}
	for (uint32_t i = 0; i < m.import_count; i++) {
		struct hp_pkg_import im;
		read_import(p, &m, i, &im);
		if (im.name >= h->strings_size || !string_at(p, im.name)[0])
			return bad(err, err_size, "module %u: import %u: bad name", index, i);
	}
	for (uint32_t i = 0; i < m.reloc_count; i++) {
		struct hp_pkg_reloc r;
		read_reloc(p, &m, i, &r);
		unsigned width = hp_reloc_width(r.type);
		if (!width || !hp_reloc_for_arch(r.type, m.arch))
			return bad(err, err_size, "module %u: relocation %u: unknown type %u", index, i, r.type);
		if (r.segment >= HP_SEG_BSS || !within(r.offset, width, m.segment_size[r.segment]))
			return bad(err, err_size, "module %u: relocation %u outside its segment", index, i);
		switch (r.target_kind) {
		case HP_TARGET_MODULE:
		case HP_TARGET_ABSOLUTE:
			break;
		case HP_TARGET_SEGMENT:
			if (r.target_segment >= HP_SEG_COUNT || r.target > m.segment_size[r.target_segment])
				return bad(err, err_size, "module %u: relocation %u targets outside the package", index, i);
			break;
		case HP_TARGET_IMPORT:
			if (r.target >= m.import_count)
				return bad(err, err_size, "module %u: relocation %u: import %llu does not exist", index, i,
				           (unsigned long long)r.target);
			break;
		default:
			return bad(err, err_size, "module %u: relocation %u: unknown target kind %u", index, i, r.target_kind);
		}
	}
	if (m.eh_frame_size && check_unwind(p, &m, index, err, err_size))
		return -1;
	return 0;
}

static int string_ok(const struct hp_pkg_header *h, uint32_t offset)
{
	return offset < h->strings_size;
}

/* The hooks and acceptances (in a package with the state header), before the modules, whose
 * table is in bounds by then: each names a module, a kind and strings that exist, each hook an
 * entry inside its module's text. */
static int check_state(const uint8_t *p, const struct hp_pkg_header *h, const struct hp_pkg_header_state *hs,
                       char *err, size_t err_size)
{
	if (h->header_size == sizeof *hs && !hs->hook_count && !hs->accept_count)
		return bad(err, err_size, "malformed header: a state header with no hook and no acceptance");
	if (!within(hs->hooks_offset, (uint64_t)hs->hook_count * sizeof(struct hp_pkg_hook), h->total_size) ||
	    !within(hs->accepts_offset, (uint64_t)hs->accept_count * sizeof(struct hp_pkg_accept), h->total_size))
		return bad(err, err_size, "hook or acceptance table outside the package");
	for (uint32_t i = 0; i < hs->hook_count; i++) {
		struct hp_pkg_hook k;
		read_hook(p, hs, i, &k);
		if (k.module >= h->module_count)
			return bad(err, err_size, "hook %u: module %u does not exist", i, k.module);
		struct hp_pkg_module m;
		read_module(p, k.module, &m);
		if (k.kind < HP_HOOK_PRE_APPLY || k.kind > HP_HOOK_POST_REVERT || k.reserved[0] || k.reserved[1] ||
		    k.reserved[2])
			return bad(err, err_size, "hook %u: unknown kind %u", i, k.kind);
		if (k.offset >= m.segment_size[HP_SEG_TEXT])
			return bad(err, err_size, "hook %u: entry outside segment text", i);
		if (!string_ok(h, k.name) || !string_at(p, k.name)[0])
			return bad(err, err_size, "hook %u: bad name", i);
	}
	for (uint32_t i = 0; i < hs->accept_count; i++) {
		struct hp_pkg_accept a;
		read_accept(p, hs, i, &a);
		if (a.module >= h->module_count)
			return bad(err, err_size, "acceptance %u: module %u does not exist", i, a.module);
		if (a.kind != HP_ACCEPT_LAYOUT && a.kind != HP_ACCEPT_VALUE)
			return bad(err, err_size, "acceptance %u: unknown kind %u", i, a.kind);
		if (!string_ok(h, a.subject) || !string_ok(h, a.hook) || !string_ok(h, a.reason) ||
		    !string_at(p, a.subject)[0] || !string_at(p, a.reason)[0])
			return bad(err, err_size, "acceptance %u: bad string", i);
	}
	return 0;
}

static int check(const void *data, size_t size, char *err, size_t err_size)
{
	const uint8_t *p = data;
	struct hp_pkg_header h;
	if (size < 12 || memcmp(p, HP_PACKAGE_MAGIC, 8))
		return bad(err, err_size, "not a hotpatch package");
	memset(&h, 0, sizeof h);
	memcpy(&h, p, size < sizeof h ? size : sizeof h);
	if (h.version != HP_PACKAGE_VERSION)
		return bad(err, err_size, "unsupported package version %u (this reader knows %u)", h.version,
		           HP_PACKAGE_VERSION);
	/* Three headers: today's, the one with a sequence number (hp_pkg_header_seq), the one with
	 * state as well (hp_pkg_header_state). */
	if (size < sizeof h ||
	    (h.header_size != sizeof h && h.header_size != sizeof(struct hp_pkg_header_seq) &&
	     h.header_size != sizeof(struct hp_pkg_header_state)) ||
	    size < h.header_size)
		return bad(err, err_size, "truncated or malformed header");
	if (h.total_size != size)
		return bad(err, err_size, "size is %zu bytes, header says %llu (truncated or padded)", size,
		           (unsigned long long)h.total_size);
	/* The checksum is computed with its own field zeroed. */
	XXH3_state_t st;
	static const uint8_t zero[16];
	size_t at = offsetof(struct hp_pkg_header, checksum);
	XXH3_128bits_reset(&st);
	XXH3_128bits_update(&st, p, at);
	XXH3_128bits_update(&st, zero, 16);
	XXH3_128bits_update(&st, p + at + 16, size - at - 16);
	XXH128_canonical_t sum;
	XXH128_canonicalFromHash(&sum, XXH3_128bits_digest(&st));
	if (memcmp(sum.digest, h.checksum, 16))
		return bad(err, err_size, "checksum mismatch: the package is corrupt");
	if (h.flags)
		return bad(err, err_size, "unknown flags 0x%x", h.flags);
	if (h.header_size >= sizeof(struct hp_pkg_header_seq)) {
		struct hp_pkg_header_seq hs;
		memcpy(&hs, p, sizeof hs);
		if (hs.reserved)
			return bad(err, err_size, "malformed header: reserved field not zero");
	}
	if (h.module_size != sizeof(struct hp_pkg_module) || h.redirect_size != sizeof(struct hp_pkg_redirect) ||
	    h.import_size != sizeof(struct hp_pkg_import) || h.reloc_size != sizeof(struct hp_pkg_reloc))
		return bad(err, err_size, "unexpected record sizes");
	if (h.module_count == 0 || h.module_count > 4096 ||
	    !within(h.modules_offset, (uint64_t)h.module_count * h.module_size, size))
		return bad(err, err_size, "module table outside the package");
	if (h.strings_size == 0 || !within(h.strings_offset, h.strings_size, size) ||
	    p[h.strings_offset + h.strings_size - 1] != 0)
		return bad(err, err_size, "string area malformed");
	struct hp_pkg_header_state hst;
	read_state(p, &hst);
	if (check_state(p, &h, &hst, err, err_size))
		return -1;
	for (uint32_t i = 0; i < h.module_count; i++)
		if (check_module(p, &h, &hst, i, err, err_size))
			return -1;
	return 0;
}

/* Room for n records of one decoded type in the block, kept aligned for the next type. */
static uint64_t room(uint64_t n, size_t record)
{
	const uint64_t align = _Alignof(max_align_t);
	return (n * record + align - 1) & ~(align - 1);
}

/* Takes the next part of the block (sized by room()). */
static void *take(uint8_t **at, uint64_t n, size_t record)
{
	void *p = *at;
	*at += room(n, record);
	return p;
}

/* Copies a checked package into one allocation: the package, its modules, then each module's
 * redirects, imports and relocations. */
static struct hp_package *decode(const uint8_t *p)
{
	struct hp_pkg_header h;
	read_header(p, &h);
	uint64_t total = room(1, sizeof(struct hp_package)) + room(h.module_count, sizeof(struct hp_package_module));
	for (uint32_t i = 0; i < h.module_count; i++) {
		struct hp_pkg_module m;
		read_module(p, i, &m);
		total += room(m.redirect_count, sizeof(struct hp_package_redirect)) +
		         room(m.import_count, sizeof(struct hp_package_import)) + room(m.reloc_count, sizeof(struct hp_pkg_reloc));
	}
	struct hp_pkg_header_state hs;
	read_state(p, &hs);
	total += room(hs.hook_count, sizeof(struct hp_package_hook)) + room(hs.accept_count, sizeof(struct hp_package_accept));
	/* Tables may overlap in the file and each is copied: the sum can exceed the file. */
	uint8_t *block = total <= SIZE_MAX ? malloc((size_t)total) : NULL;
	if (!block)
		return NULL;
	uint8_t *at = block;
	struct hp_package *pkg = take(&at, 1, sizeof *pkg);
	struct hp_package_module *modules = take(&at, h.module_count, sizeof *modules);
	memset(pkg, 0, sizeof *pkg);
	pkg->version = h.version;
	pkg->size = h.total_size;
	memcpy(pkg->checksum, h.checksum, sizeof pkg->checksum);
	pkg->module_count = h.module_count;
	pkg->modules = modules;
	if (h.header_size >= sizeof(struct hp_pkg_header_seq)) {
		struct hp_pkg_header_seq seq;
		memcpy(&seq, p, sizeof seq);
		pkg->sequence = seq.sequence;
	}
	/* Each module's hooks and acceptances, in the package's order, side by side in two arrays. */
	struct hp_package_hook *hooks = take(&at, hs.hook_count, sizeof *hooks);
	struct hp_package_accept *accepts = take(&at, hs.accept_count, sizeof *accepts);
	for (uint32_t i = 0; i < h.module_count; i++) {
		struct hp_pkg_module m;
		struct hp_package_module *d = &modules[i];
		read_module(p, i, &m);
		memset(d, 0, sizeof *d);
		d->name = string_at(p, m.name);
		d->arch = m.arch;
		memcpy(d->build_id, m.build_id, sizeof d->build_id);
		d->build_id_size = m.build_id_size;
		d->redirect_count = m.redirect_count;
		d->import_count = m.import_count;
		d->reloc_count = m.reloc_count;
		struct hp_package_redirect *redirects = take(&at, m.redirect_count, sizeof *redirects);
		struct hp_package_import *imports = take(&at, m.import_count, sizeof *imports);
		struct hp_pkg_reloc *relocs = take(&at, m.reloc_count, sizeof *relocs);
		for (uint32_t k = 0; k < m.redirect_count; k++) {
			struct hp_pkg_redirect r;
			read_redirect(p, &m, k, &r);
			redirects[k] = (struct hp_package_redirect){ string_at(p, r.name), r.old_offset, r.new_offset,
				                                     r.site_offset, r.expected_size, r.flags, { 0 } };
			memcpy(redirects[k].expected, r.expected, sizeof r.expected);
		}
		for (uint32_t k = 0; k < m.import_count; k++) {
			struct hp_pkg_import im;
			read_import(p, &m, k, &im);
			imports[k] = (struct hp_package_import){ string_at(p, im.name), im.flags };
		}
		for (uint32_t k = 0; k < m.reloc_count; k++)
			read_reloc(p, &m, k, &relocs[k]);
		d->redirects = redirects;
		d->imports = imports;
		d->relocs = relocs;
		for (int s = 0; s < HP_SEG_COUNT; s++) {
			d->segment[s] = s != HP_SEG_BSS ? p + m.segment_offset[s] : NULL;
			d->segment_size[s] = m.segment_size[s];
			d->segment_align[s] = m.segment_align[s];
		}
		d->eh_frame_offset = m.eh_frame_offset;
		d->eh_frame_size = m.eh_frame_size;
		d->hooks = hooks;
		for (uint32_t k = 0; k < hs.hook_count; k++) {
			struct hp_pkg_hook hk;
			read_hook(p, &hs, k, &hk);
			if (hk.module == i)
				*hooks++ = (struct hp_package_hook){ string_at(p, hk.name), hk.kind, hk.offset };
		}
		d->hook_count = (uint32_t)(hooks - d->hooks);
		d->accepts = accepts;
		for (uint32_t k = 0; k < hs.accept_count; k++) {
			struct hp_pkg_accept a;
			read_accept(p, &hs, k, &a);
			if (a.module == i)
				*accepts++ = (struct hp_package_accept){ a.kind, string_at(p, a.subject), string_at(p, a.hook),
					                                 string_at(p, a.reason) };
		}
		d->accept_count = (uint32_t)(accepts - d->accepts);
	}
	return pkg;
}

int hp_package_decode(const void *data, size_t size, struct hp_package **out, char *err, size_t err_size)
{
	*out = NULL;
	if (check(data, size, err, err_size))
		return -1;
	if (!(*out = decode(data))) {
		bad(err, err_size, "out of memory");
		return -2;
	}
	return 0;
}

void hp_package_free(struct hp_package *package)
{
	free(package);  /* one block (decode) */
}

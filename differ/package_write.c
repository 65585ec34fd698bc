/* package_write.c — the package writer: header, module table, per-module arrays, segments,
 * strings, then the checksum over all of it. */
#include "package_write.h"

#include "file_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static size_t put(struct buf *b, const void *data, size_t len, size_t align)
{
	size_t at = (b->len + align - 1) & ~(align - 1);
	if (at + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < at + len)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);
		if (!p) {
			fprintf(stderr, "hpdiff: out of memory\n");
			exit(1);
		}
		b->data = p;
		b->cap = cap;
	}
	memset(b->data + b->len, 0, at - b->len);
	if (data)
		memcpy(b->data + at, data, len);
	else
		memset(b->data + at, 0, len);
	b->len = at + len;
	return at;
}

static uint32_t put_string(struct buf *strings, const char *s)
{
	return (uint32_t)put(strings, s, strlen(s) + 1, 1);
}

long hp_package_write(const char *path, struct hp_out_module *const *modules, size_t count, uint32_t sequence,
                      char *err, size_t err_size)
{
	struct buf out = { 0 }, strings = { 0 };
	/* Without state or a sequence, the header of every earlier package, byte for byte. */
	struct hp_pkg_header_state hst = { .seq.sequence = sequence };
	for (size_t i = 0; i < count; i++) {
		hst.hook_count += (uint32_t)modules[i]->hook_count;
		hst.accept_count += (uint32_t)modules[i]->accept_count;
	}
	const size_t header_size = hst.hook_count || hst.accept_count ? sizeof hst :
	                           sequence                           ? sizeof hst.seq :
	                                                                sizeof hst.seq.base;
	struct hp_pkg_header h = { .version = HP_PACKAGE_VERSION, .header_size = (uint16_t)header_size,
		                   .module_count = (uint32_t)count, .module_size = sizeof(struct hp_pkg_module),
		                   .redirect_size = sizeof(struct hp_pkg_redirect),
		                   .import_size = sizeof(struct hp_pkg_import),
		                   .reloc_size = sizeof(struct hp_pkg_reloc) };
	memcpy(h.magic, HP_PACKAGE_MAGIC, sizeof h.magic);
	put(&out, NULL, header_size, 8);  /* written last, once complete */
	put_string(&strings, "");  /* offset 0: the empty string */
	struct hp_pkg_module *mods = calloc(count ? count : 1, sizeof *mods);
	if (!mods) {
		snprintf(err, err_size, "out of memory");
		return -1;
	}
	h.modules_offset = (uint32_t)put(&out, NULL, count * sizeof *mods, 8);
	for (size_t i = 0; i < count; i++) {
		const struct hp_out_module *m = modules[i];
		struct hp_pkg_module *pm = &mods[i];
		pm->name = put_string(&strings, m->name);
		pm->build_id_size = (uint8_t)m->build_id_size;
		pm->arch = m->arch;
		memcpy(pm->build_id, m->build_id, m->build_id_size);
		pm->redirect_count = (uint32_t)m->redirect_count;
		pm->redirects_offset = (uint32_t)put(&out, NULL, m->redirect_count * sizeof(struct hp_pkg_redirect), 8);
		for (size_t r = 0; r < m->redirect_count; r++) {
			struct hp_pkg_redirect rd = m->redirects[r];
			rd.name = put_string(&strings, m->redirect_names[r]);
			memcpy(out.data + pm->redirects_offset + r * sizeof rd, &rd, sizeof rd);
		}
		pm->import_count = (uint32_t)m->import_count;
		pm->imports_offset = (uint32_t)put(&out, NULL, m->import_count * sizeof(struct hp_pkg_import), 8);
		for (size_t k = 0; k < m->import_count; k++) {
			struct hp_pkg_import im = { put_string(&strings, m->imports[k].name), m->imports[k].flags };
			memcpy(out.data + pm->imports_offset + k * sizeof im, &im, sizeof im);
		}
		pm->eh_frame_offset = m->eh_frame_offset;
		pm->eh_frame_size = m->eh_frame_size;
		pm->reloc_count = (uint32_t)m->reloc_count;
		pm->relocs_offset = (uint32_t)put(&out, m->relocs, m->reloc_count * sizeof(struct hp_pkg_reloc), 8);
		for (int s = 0; s < HP_SEG_COUNT; s++) {
			pm->segment_size[s] = (uint32_t)m->segment_size[s];
			pm->segment_align[s] = m->segment_align[s] ? m->segment_align[s] : 1;
			pm->segment_offset[s] = s == HP_SEG_BSS || !m->segment_size[s] ? 0 :
			                        (uint32_t)put(&out, m->segment[s], m->segment_size[s], 16);
		}
	}
	memcpy(out.data + h.modules_offset, mods, count * sizeof *mods);
	free(mods);
	/* Tables only when there is something in them: a package without state keeps its bytes. */
	if (hst.hook_count)
		hst.hooks_offset = (uint32_t)put(&out, NULL, hst.hook_count * sizeof(struct hp_pkg_hook), 8);
	for (size_t i = 0, n = 0; i < count; i++)
		for (size_t k = 0; k < modules[i]->hook_count; k++, n++) {
			const struct hp_out_hook *o = &modules[i]->hooks[k];
			struct hp_pkg_hook hk = { .module = (uint32_t)i, .kind = o->kind, .offset = o->offset,
				                  .name = put_string(&strings, o->name) };
			memcpy(out.data + hst.hooks_offset + n * sizeof hk, &hk, sizeof hk);
		}
	if (hst.accept_count)
		hst.accepts_offset = (uint32_t)put(&out, NULL, hst.accept_count * sizeof(struct hp_pkg_accept), 8);
	for (size_t i = 0, n = 0; i < count; i++)
		for (size_t k = 0; k < modules[i]->accept_count; k++, n++) {
			const struct hp_out_accept *o = &modules[i]->accepts[k];
			struct hp_pkg_accept a = { (uint32_t)i, o->kind, put_string(&strings, o->subject),
				                   put_string(&strings, o->hook), put_string(&strings, o->reason) };
			memcpy(out.data + hst.accepts_offset + n * sizeof a, &a, sizeof a);
		}
	h.strings_offset = (uint32_t)put(&out, strings.data, strings.len, 1);
	h.strings_size = (uint32_t)strings.len;
	free(strings.data);
	h.total_size = out.len;
	hst.seq.base = h;
	memcpy(out.data, &hst, header_size);
	XXH128_canonical_t sum;
	XXH128_canonicalFromHash(&sum, XXH3_128bits(out.data, out.len));
	memcpy(out.data + offsetof(struct hp_pkg_header, checksum), sum.digest, 16);

	if (hp_write_file(path, out.data, out.len, NULL, 0, err, err_size)) {
		free(out.data);
		return -1;
	}
	long size = (long)out.len;
	free(out.data);
	return size;
}

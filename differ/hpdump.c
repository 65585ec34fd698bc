/* hpdump — prints the hotpatch metadata of objects, executables, shared libraries and archives
 * (one line per function and variable with its fingerprint; --prologues checks every patch site
 * in the file itself), and the contents of hotpatch packages.  --json for machines. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "meta_read.h"
#include "package_read.h"
#include "sign.h"
#include "text.h"
#include "site.h"

struct dump {
	int json, verbose, prologues;
	int files_done;               /* archive members printed so far, for JSON commas */
	int unpatchable;              /* functions whose prologue check failed */
	int member_found;             /* an archive member had metadata */
	int archive;
};



/* The record's state in a linked file: its symbol may have been dropped by --gc-sections. */
static const struct hp_symbol *record_symbol(struct hp_elf *e, const struct hp_rec *r)
{
	/* Without .symtab nothing can be said about file-local or dropped symbols. */
	return r->flags & HP_META_INLINED_AWAY ? NULL : hp_elf_find_symbol(e, r->name);
}

static const char *prologue_text(struct hp_elf *e, const struct hp_rec *r, char *buf)
{
	const struct hp_symbol *s = record_symbol(e, r);
	if (r->kind != HP_META_FUNCTION || (r->flags & (HP_META_INLINED_AWAY | HP_META_NO_PATCH)))
		return "-";
	if (!s)
		return e->has_symtab ? "no symbol" : "stripped";
	const struct hp_site_arch *arch = hp_site_arch_for_machine(e->ehdr.e_machine);
	if (!arch)
		return "BAD: no patch site for this architecture";
	size_t len = 0;
	const uint8_t *bytes = hp_elf_symbol_bytes(e, s, -(int64_t)arch->padding,
	                                           (size_t)arch->padding + arch->marker_size + arch->size, &len);
	struct hp_site p;
	if (!bytes)
		return "BAD: no patchable padding before the entry";
	arch->inspect(bytes, len, s->value, &p);
	if (p.problem) {
		snprintf(buf, 96, "BAD: %s", p.problem);
		return buf;
	}
	char hex[2 * HP_SITE_MAX_SIZE + 1];
	for (unsigned i = 0; i < arch->size; i++)
		snprintf(hex + 2 * i, 3, "%02x", p.bytes[i]);
	snprintf(buf, 96, "+%u:%s%s", p.offset, hex, p.needs_stopped_world ? " stopped" : "");
	return buf;
}

static void print_table(struct dump *d, struct hp_elf *e, const struct hp_meta *m)
{
	char fp[33], flags[200], pro[96];
	int linked = hp_elf_is_linked(e);
	printf("%s:", e->path);
	if (e->build_id_size) {
		char id[129];
		hp_hex(e->build_id, e->build_id_size, id);
		printf(" build-id %s", id);
	}
	printf("\n");
	for (size_t t = 0; t < m->tu_count; t++) {
		const struct hp_tu *tu = &m->tus[t];
		printf("unit %s%s%s\n  %s; %s; %s\n", tu->name,
		       tu->flags & HP_META_TU_LTO ? " [lto]" : "",
		       tu->flags & HP_META_TU_NO_LAYOUTS ? " [no-layouts]" : "", tu->producer, tu->triple,
		       tu->options);
		printf("  %-8s  %-8s  %-32s  %-22s  %s%s\n", "KIND", "LINKAGE", "FINGERPRINT", "FLAGS",
		       d->prologues ? "SITE            " : "", "NAME");
		for (size_t i = 0; i < tu->record_count; i++) {
			const struct hp_rec *r = &tu->records[i];
			hp_hex(r->fingerprint, 16, fp);
			hp_meta_flags_text(r->flags, flags);
			if (linked && e->has_symtab && !(r->flags & HP_META_INLINED_AWAY) && !record_symbol(e, r))
				strcpy(flags + (strcmp(flags, "-") ? strlen(flags) : 0),
				       strcmp(flags, "-") ? ",dropped" : "dropped");
			printf("  %-8s  %-8s  %-32s  %-22s  ", hp_meta_kind_name(r->kind),
			       hp_meta_linkage_name(r->linkage), r->flags & HP_META_INLINED_AWAY ? "-" : fp, flags);
			if (d->prologues) {
				const char *text = prologue_text(e, r, pro);
				d->unpatchable += !strncmp(text, "BAD", 3);
				printf("%-16s", text);
			}
			printf("%s\n", r->name);
			if (!d->verbose)
				continue;
			hp_hex(r->source_fingerprint, 16, fp);
			printf("      source %s", fp);
			hp_hex(r->layout_fingerprint, 16, fp);
			printf("  layout %s", fp);
			if (r->kind == HP_META_VARIABLE)
				printf("  size %llu", (unsigned long long)r->size);
			printf("\n");
			if (r->type_count) {
				printf("      types");
				for (uint32_t k = 0; k < r->type_count; k++)
					printf("%s %s", k ? "," : "", tu->types[r->types[k]].name);
				printf("\n");
			}
			if (r->call_count) {
				printf("      calls");
				for (uint32_t k = 0; k < r->call_count; k++)
					printf("%s %s", k ? "," : "", tu->records[r->calls[k]].name);
				printf("\n");
			}
			if (r->line_count) {  /* the values its body took from __LINE__ */
				printf("      lines");
				for (uint32_t k = 0; k < r->line_count; k++)
					printf("%s %u", k ? "," : "", r->lines[k]);
				printf("\n");
			}
		}
		if (d->verbose)
			for (size_t k = 0; k < tu->type_count; k++) {
				hp_hex(tu->types[k].layout, 16, fp);
				printf("  type %s  size %u  layout %s\n", tu->types[k].name, tu->types[k].size, fp);
			}
	}
}

static void print_json(struct dump *d, struct hp_elf *e, const struct hp_meta *m)
{
	char h[129], flags[200], pro[96];
	printf("%s{\"file\":", d->files_done++ ? ",\n" : "");
	hp_json_string(e->path);
	hp_hex(e->build_id, e->build_id_size, h);
	printf(",\"build_id\":\"%s\",\"units\":[", h);
	for (size_t t = 0; t < m->tu_count; t++) {
		const struct hp_tu *tu = &m->tus[t];
		printf("%s{\"source\":", t ? "," : "");
		hp_json_string(tu->name);
		printf(",\"producer\":");
		hp_json_string(tu->producer);
		printf(",\"triple\":");
		hp_json_string(tu->triple);
		printf(",\"options\":");
		hp_json_string(tu->options);
		hp_hex(tu->options_hash, 16, h);
		printf(",\"options_hash\":\"%s\",\"lto\":%s,\"layouts\":%s,\"records\":[", h,
		       tu->flags & HP_META_TU_LTO ? "true" : "false",
		       tu->flags & HP_META_TU_NO_LAYOUTS ? "false" : "true");
		for (size_t i = 0; i < tu->record_count; i++) {
			const struct hp_rec *r = &tu->records[i];
			printf("%s\n{\"name\":", i ? "," : "");
			hp_json_string(r->name);
			printf(",\"kind\":\"%s\",\"linkage\":\"%s\",\"flags\":\"%s\",\"size\":%llu",
			       hp_meta_kind_name(r->kind), hp_meta_linkage_name(r->linkage),
			       hp_meta_flags_text(r->flags, flags), (unsigned long long)r->size);
			hp_hex(r->fingerprint, 16, h);
			printf(",\"fingerprint\":\"%s\"", h);
			hp_hex(r->source_fingerprint, 16, h);
			printf(",\"source_fingerprint\":\"%s\"", h);
			hp_hex(r->layout_fingerprint, 16, h);
			printf(",\"layout_fingerprint\":\"%s\"", h);
			hp_hex(r->shape_fingerprint, 16, h);
			printf(",\"shape_fingerprint\":\"%s\"", h);
			if (hp_elf_is_linked(e) && e->has_symtab)
				printf(",\"linked\":%s", record_symbol(e, r) ? "true" : "false");
			if (d->prologues) {
				const char *text = prologue_text(e, r, pro);
				d->unpatchable += !strncmp(text, "BAD", 3);
				printf(",\"site\":");
				hp_json_string(text);
			}
			printf(",\"types\":[");
			for (uint32_t k = 0; k < r->type_count; k++) {
				printf(k ? "," : "");
				hp_json_string(tu->types[r->types[k]].name);
			}
			printf("],\"calls\":[");
			for (uint32_t k = 0; k < r->call_count; k++) {
				printf(k ? "," : "");
				hp_json_string(tu->records[r->calls[k]].name);
			}
			printf("],\"lines\":[");
			for (uint32_t k = 0; k < r->line_count; k++)
				printf("%s%u", k ? "," : "", r->lines[k]);
			printf("]}");
		}
		printf("],\"types\":[");
		for (size_t k = 0; k < tu->type_count; k++) {
			printf("%s{\"name\":", k ? "," : "");
			hp_json_string(tu->types[k].name);
			hp_hex(tu->types[k].layout, 16, h);
			printf(",\"size\":%u,\"layout\":\"%s\"}", tu->types[k].size, h);
		}
		printf("]}");
	}
	printf("]}");
}

struct file_ctx {
	struct dump *d;
	char err[512];
};

static int dump_elf(struct hp_elf *e, void *arg)
{
	struct file_ctx *c = arg;
	size_t size = 0;
	const uint8_t *data = hp_elf_section(e, HP_META_SECTION, &size);
	if (!data) {
		if (c->d->archive)
			return 0;  /* archives may hold objects built without the plugin */
		snprintf(c->err, sizeof c->err, "%s: no %s metadata (not built with -fplugin=hotpatch)",
		         e->path, HP_META_SECTION);
		return -1;
	}
	struct hp_meta m;
	char err[300];
	if (hp_meta_parse(data, size, &m, err, sizeof err)) {
		snprintf(c->err, sizeof c->err, "%s: %s", e->path, err);
		return -1;
	}
	c->d->member_found = 1;
	if (c->d->json)
		print_json(c->d, e, &m);
	else
		print_table(c->d, e, &m);
	hp_meta_free(&m);
	/* Patchable code, but nothing in the process to patch it: hpctl must load the runtime with
	 * ptrace, which production hosts often forbid. */
	if (c->d->prologues && e->is_program && hp_elf_has_runtime(e) == 0) {
		fflush(stdout);
		fprintf(stderr, "hpdump: %s: warning: built with the plugin but no hotpatch runtime is linked "
		        "(no hp_control_start, no libhotpatch.so needed): hpctl apply must load it with ptrace; link "
		        "with -lhotpatch\n",
		        e->path);
	}
	return 0;
}

static const char *const target_names[] = { "?", "module", "package", "import", "value" };
static const char *const reloc_names[HP_RELOC_TYPE_LAST + 1] = {
	"?", [HP_RELOC_PC32] = "pc32", [HP_RELOC_ABS64] = "abs64", [HP_RELOC_ABS32S] = "abs32s",
	[HP_RELOC_ABS32] = "abs32", [HP_RELOC_A64_BRANCH26] = "branch26", [HP_RELOC_A64_ADR_PAGE21] = "page21",
	[HP_RELOC_A64_ADD_LO12] = "add-lo12", [HP_RELOC_A64_LDST8_LO12] = "ldst8-lo12",
	[HP_RELOC_A64_LDST16_LO12] = "ldst16-lo12", [HP_RELOC_A64_LDST32_LO12] = "ldst32-lo12",
	[HP_RELOC_A64_LDST64_LO12] = "ldst64-lo12", [HP_RELOC_A64_LDST128_LO12] = "ldst128-lo12",
	[HP_RELOC_A64_CONDBR19] = "condbr19", [HP_RELOC_A64_TSTBR14] = "tstbr14",
};

/* The name of a module's architecture (hp_package.h, enum hp_pkg_arch), as the tools print it. */
static const char *arch_name(unsigned arch)
{
	return arch == HP_ARCH_X86_64 ? hp_site_x86_64.name : arch == HP_ARCH_AARCH64 ? hp_site_aarch64.name : "?";
}

/* A package: what it patches, where, and what it needs.  Returns 0, or -1 with err set. */
static int dump_package(struct dump *d, const char *path, const uint8_t *p, size_t size, char *err,
                        size_t err_size)
{
	char why[300], h[65], signer[17];
	struct hp_package *pkg;
	/* Who signed: the trailer's key, and whether the signature holds for it (whether that key is
	 * trusted is the process's policy, or hpsign show with the keys to compare). */
	struct hp_signature sig;
	if (hp_signature_split(p, size, &sig, why, sizeof why)) {
		snprintf(err, err_size, "%s: %s", path, why);
		return -1;
	}
	int valid = hp_signature_valid(p, &sig);
	hp_key_id(sig.key, signer);
	if (hp_package_decode(p, sig.body_size, &pkg, why, sizeof why)) {
		snprintf(err, err_size, "%s: %s", path, why);
		return -1;
	}
	const struct hp_package hd = *pkg;
	hp_hex(hd.checksum, 16, h);
	if (d->json) {
		printf("%s{\"file\":", d->files_done++ ? ",\n" : "");
		hp_json_string(path);
		printf(",\"package\":{\"version\":%u,\"size\":%zu,\"checksum\":\"%s\",\"sequence\":%u,", hd.version, size,
		       h, hd.sequence);
		if (sig.present)
			printf("\"signer\":{\"key_id\":\"%s\",\"valid\":%s},", signer, valid ? "true" : "false");
		else
			printf("\"signer\":null,");
		printf("\"modules\":[");
	} else {
		printf("%s: hotpatch package v%u, %zu bytes, checksum %s", path, hd.version, size, h);
		if (hd.sequence)
			printf(", sequence %u", hd.sequence);
		printf("\n");
		if (sig.present)
			printf("signed by key %s: %s\n", signer,
			       valid ? "signature valid" : "signature INVALID (the package or its trailer was changed)");
		else
			printf("unsigned\n");
	}
	for (uint32_t i = 0; i < hd.module_count; i++) {
		const struct hp_package_module m = hd.modules[i];
		hp_hex(m.build_id, m.build_id_size, h);
		if (d->json) {
			printf("%s{\"name\":", i ? "," : "");
			hp_json_string(m.name);
			printf(",\"build_id\":\"%s\",\"arch\":\"%s\",\"segments\":{", h, arch_name(m.arch));
			for (int s = 0; s < HP_SEG_COUNT; s++)
				printf("%s\"%s\":%u", s ? "," : "", hp_package_segment_name(s), m.segment_size[s]);
			printf("},\"unwind_bytes\":%u,\"relocations\":%u,\"redirects\":[", m.eh_frame_size, m.reloc_count);
		} else {
			/* The unwind table closes rodata: shown apart from the data the code uses. */
			uint32_t unwind = m.eh_frame_size ? m.segment_size[HP_SEG_RODATA] - m.eh_frame_offset : 0;
			/* x86-64, the architecture of every package before there were others, goes unsaid. */
			printf("module %s  build-id %s%s%s\n  segments:", m.name, h, m.arch != HP_ARCH_X86_64 ? "  " : "",
			       m.arch != HP_ARCH_X86_64 ? arch_name(m.arch) : "");
			for (int s = 0; s < HP_SEG_COUNT; s++)
				printf(" %s %u", hp_package_segment_name(s), m.segment_size[s] - (s == HP_SEG_RODATA ? unwind : 0));
			printf("\n");
		}
		for (uint32_t r = 0; r < m.redirect_count; r++) {
			const struct hp_package_redirect rd = m.redirects[r];
			hp_hex(rd.expected, rd.expected_size, h);
			if (d->json) {
				printf("%s{\"function\":", r ? "," : "");
				hp_json_string(rd.name);
				printf(",\"old_offset\":%llu,\"new_offset\":%u,\"site\":%u,\"expected\":\"%s\","
				       "\"recursive\":%s,\"variadic\":%s,\"stopped_world\":%s}",
				       (unsigned long long)rd.old_offset, rd.new_offset, rd.site_offset, h,
				       rd.flags & HP_REDIRECT_RECURSIVE ? "true" : "false",
				       rd.flags & HP_REDIRECT_VARIADIC ? "true" : "false",
				       rd.flags & HP_REDIRECT_STOPPED_WORLD ? "true" : "false");
			} else {
				printf("  redirect  %-28s old +0x%llx -> text +0x%x  (site +%u, expects %s)%s%s%s\n",
				       rd.name, (unsigned long long)rd.old_offset, rd.new_offset, rd.site_offset, h,
				       rd.flags & HP_REDIRECT_RECURSIVE ? " recursive" : "",
				       rd.flags & HP_REDIRECT_VARIADIC ? " variadic" : "",
				       rd.flags & HP_REDIRECT_STOPPED_WORLD ? " stopped-world" : "");
			}
		}
		if (d->json) {
			printf("],\"imports\":[");
			for (uint32_t k = 0; k < m.import_count; k++) {
				printf(k ? "," : "");
				hp_json_string(m.imports[k].name);
			}
			printf("],\"hooks\":[");
			for (uint32_t k = 0; k < m.hook_count; k++) {
				printf("%s{\"kind\":\"%s\",\"function\":", k ? "," : "", hp_package_hook_name(m.hooks[k].kind));
				hp_json_string(m.hooks[k].name);
				printf(",\"offset\":%u}", m.hooks[k].offset);
			}
			printf("],\"accepted\":[");
			for (uint32_t k = 0; k < m.accept_count; k++) {
				const struct hp_package_accept *a = &m.accepts[k];
				printf("%s{\"kind\":\"%s\",\"subject\":", k ? "," : "", hp_package_accept_name(a->kind));
				hp_json_string(a->subject);
				printf(",\"hook\":");
				if (a->hook[0])
					hp_json_string(a->hook);
				else
					printf("null");
				printf(",\"reason\":");
				hp_json_string(a->reason);
				printf("}");
			}
			printf("]}");
			continue;
		}
		for (uint32_t k = 0; k < m.hook_count; k++)
			printf("  hook      %-28s %s, text +0x%x\n", m.hooks[k].name, hp_package_hook_name(m.hooks[k].kind),
			       m.hooks[k].offset);
		for (uint32_t k = 0; k < m.accept_count; k++) {
			const struct hp_package_accept *a = &m.accepts[k];
			printf("  accepted  %s change of %s%s%s: %s\n", hp_package_accept_name(a->kind), a->subject,
			       a->hook[0] ? ", migrated by " : "", a->hook, a->reason);
		}
		for (uint32_t k = 0; k < m.import_count; k++)
			printf("  import    %s%s\n", m.imports[k].name, m.imports[k].flags & HP_IMPORT_WEAK ? " weak" : "");
		unsigned by_kind[5] = { 0 }, code = 0, unwind = 0;
		for (uint32_t k = 0; k < m.reloc_count; k++) {
			const struct hp_pkg_reloc rl = m.relocs[k];
			if (rl.segment == HP_SEG_RODATA && m.eh_frame_size && rl.offset >= m.eh_frame_offset &&
			    rl.offset < m.eh_frame_offset + m.eh_frame_size) {
				unwind++;  /* pc_begin of an FDE */
				continue;
			}
			code++;
			by_kind[rl.target_kind < 5 ? rl.target_kind : 0]++;
			if (d->verbose)
				printf("  reloc     %-6s %s+0x%x -> %s %s0x%llx %+lld\n",
				       reloc_names[rl.type <= HP_RELOC_TYPE_LAST && reloc_names[rl.type] ? rl.type : 0],
				       hp_package_segment_name(rl.segment), rl.offset, target_names[rl.target_kind < 5 ? rl.target_kind : 0],
				       rl.target_kind == HP_TARGET_SEGMENT ? hp_package_segment_name(rl.target_segment) : "",
				       (unsigned long long)rl.target, (long long)rl.addend);
		}
		printf("  relocations: %u (%u to the running module, %u within the package, %u imports, %u values)",
		       code, by_kind[HP_TARGET_MODULE], by_kind[HP_TARGET_SEGMENT], by_kind[HP_TARGET_IMPORT],
		       by_kind[HP_TARGET_ABSOLUTE]);
		printf(unwind ? "; %u in unwind records\n" : "\n", unwind);
		if (m.eh_frame_size)
			printf("  unwind: %u bytes of CIE/FDE records at rodata +0x%x\n", m.eh_frame_size,
			       m.eh_frame_offset);
	}
	if (d->json)
		printf("]}}");
	hp_package_free(pkg);
	return 0;
}

/* Reads a whole file; returns NULL with err set on failure. */
static uint8_t *read_file(const char *path, size_t *size, char *err, size_t err_size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	if (!f) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!b) {
				free(buf);
				fclose(f);
				snprintf(err, err_size, "%s: out of memory", path);
				return NULL;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*size = len;
	return buf;
}

static int is_package(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	int yes = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, HP_PACKAGE_MAGIC, 8);
	if (f)
		fclose(f);
	return yes;
}

static int is_archive(const char *path)
{
	char magic[8];
	FILE *f = fopen(path, "rb");
	int yes = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, "!<arch>\n", 8);
	if (f)
		fclose(f);
	return yes;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: hpdump [--json] [--verbose] [--prologues] FILE...\n"
	             "       hpdump --version\n"
	             "Prints the hotpatch fingerprints recorded in objects, executables, shared\n"
	             "libraries and archives built with -fplugin=hotpatch, and hotpatch packages.\n"
	             "  --json       one JSON array for machines\n"
	             "  --verbose    also source and layout fingerprints, types used and calls;\n"
	             "               for packages, every relocation\n"
	             "  --prologues  check each function's patch site in the file (exit 2 if any is bad;\n"
	             "               \"stopped\": patchable only with every thread stopped)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },     { "verbose", no_argument, NULL, 'v' },
		{ "prologues", no_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },  { NULL, 0, NULL, 0 },
	};
	struct dump d = { 0 };
	int opt;
	while ((opt = getopt_long(argc, argv, "jvph", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': d.json = 1; break;
		case 'v': d.verbose = 1; break;
		case 'p': d.prologues = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("hpdump %s\n", HOTPATCH_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	int failed = 0;
	if (d.json)
		printf("[");
	for (int i = optind; i < argc; i++) {
		struct file_ctx c = { .d = &d };
		d.archive = is_archive(argv[i]);
		d.member_found = 0;
		if (!d.json && i > optind)
			printf("\n");
		int rc;
		if (is_package(argv[i])) {
			size_t size = 0;
			uint8_t *p = read_file(argv[i], &size, c.err, sizeof c.err);
			rc = p ? dump_package(&d, argv[i], p, size, c.err, sizeof c.err) : -1;
			free(p);
		} else {
			rc = hp_elf_each(argv[i], dump_elf, &c, c.err, sizeof c.err);
		}
		if (rc == 0 && d.archive && !d.member_found) {
			snprintf(c.err, sizeof c.err, "%s: no member has %s metadata", argv[i], HP_META_SECTION);
			rc = -1;
		}
		if (rc) {
			fflush(stdout);
			fprintf(stderr, "hpdump: %s\n", c.err);
			failed = 1;
		}
	}
	if (d.json)
		printf("]\n");
	return failed ? 1 : d.unpatchable ? 2 : 0;
}

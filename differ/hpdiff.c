/* hpdiff — compares two builds (trees or linked files) made with -fplugin=hotpatch and writes
 * a package that patches a process running the old build into the new one's code.
 *
 * Exit status: 0 package written, 1 error, 2 refused (unsafe to patch), 3 no code change (also
 * for bit-identical builds). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "diff.h"
#include "package_write.h"
#include "sign.h"
#include "source_name.h"
#include "text.h"

enum { EXIT_WRITTEN = 0, EXIT_ERROR = 1, EXIT_REFUSED = 2, EXIT_UNCHANGED = 3 };
#define PACKAGE_MAGIC_SIZE sizeof(((struct hp_pkg_header *)0)->magic)

struct options {
	const char *old_path, *new_path, *output, *objects, *sign;
	int explain, json, version;
	struct hp_secret_key key;     /* --sign's, read before any work */
	uint32_t sequence;            /* --sequence; 0: none (today's header) */
	struct hp_diff_options diff;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: hpdiff [options] OLD NEW -o PACKAGE\n"
	        "Compares two builds made with -fplugin=hotpatch (build trees, or two linked files)\n"
	        "and writes a package that patches processes running OLD.\n"
	        "  -o, --output FILE         the package to write\n"
	        "      --explain             say, per module, what changed and why\n"
	        "      --json                the same for machines, on stdout\n"
	        "      --objects DIR         where NEW's object files are (for linked-file inputs;\n"
	        "                            default: the directory of NEW)\n"
	        "      --allow-unfingerprinted  accept changed code in objects built without the\n"
	        "                            plugin (it is not patched)\n"
	        "      --allow-lost-state    accept removed static locals (their state is dropped)\n"
	        "      --patch-line-changes  patch functions whose code differs only in __LINE__ values\n"
	        "      --sign KEY.secret     sign the package (hpsign's key; docs/signing.md)\n"
	        "      --sequence N          the package's number within its baseline (1 to 4294967295):\n"
	        "                            a process refuses a lower one over a higher one, unless forced\n"
	        "      --version             print the version and exit\n"
	        "Exit status: 0 written, 1 error, 2 refused, 3 no code change.\n");
}



/* One module of OLD, its counterpart in NEW, and what the comparison decided. */
struct pair {
	const struct hp_module *old, *new;
	struct hp_module_diff *d;
	int identical;                /* same build-id: bit-identical, not compared */
};

/* A build-id as hex digits, or "none". */
static const char *build_id(const struct hp_elf *e, char out[129])
{
	if (!e->build_id_size)
		return "none";
	hp_hex(e->build_id, e->build_id_size, out);
	return out;
}

/* "app (build-id OLD, new build-id NEW)": how refusals and errors name a module. */
static void describe(const struct pair *p, char *out, size_t size)
{
	char a[129], b[129];
	snprintf(out, size, "%s (build-id %s, new build-id %s)", p->old->name, build_id(&p->old->elf, a),
	         build_id(&p->new->elf, b));
}

/* "app build-id X, libapp.so build-id Y" for a whole build, for messages about builds. */
static void describe_build(const struct hp_build *b, char *out, size_t size)
{
	char id[129];
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < b->module_count && n < size; i++) {
		int w = snprintf(out + n, size - n, "%s%s build-id %s", i ? ", " : "", b->modules[i].name,
		                 build_id(&b->modules[i].elf, id));
		n += w > 0 ? (size_t)w : 0;
	}
}

static void print_explain(const struct pair *p)
{
	const struct hp_module_diff *d = p->d;
	char id[129], sym[512], why[1024];
	printf("module %s (build-id %s)\n", d->out.name, build_id(&p->old->elf, id));
	if (!d->note_count)
		printf("  no code change%s\n", p->identical ? " (identical build)" : "");
	for (size_t i = 0; i < d->note_count; i++) {
		const struct hp_note *n = &d->notes[i];
		hp_source_name(n->symbol, sym, sizeof sym);
		hp_source_name(n->why, why, sizeof why);
		printf("  %-8s  %-8s  %s  [%s]: %s\n", hp_verdict_word(n->verdict), n->kind, sym, n->unit, why);
	}
}

static void print_json(const struct pair *pairs, size_t count, const char *result, const char *package,
                       long size)
{
	char id[129], text[1024];
	printf("{\"result\":\"%s\",\"package\":", result);
	if (package)
		hp_json_string(package);
	else
		printf("null");
	printf(",\"size\":%ld,\"modules\":[", size);
	for (size_t m = 0; m < count; m++) {
		const struct hp_module_diff *d = pairs[m].d;
		printf("%s{\"name\":", m ? "," : "");
		hp_json_string(d->out.name);
		printf(",\"build_id\":\"%s\"", build_id(&pairs[m].old->elf, id));
		printf(",\"new_build_id\":\"%s\",\"identical\":%s", build_id(&pairs[m].new->elf, id),
		       pairs[m].identical ? "true" : "false");
		printf(",\"redirects\":%zu,\"hooks\":%zu,\"notes\":[", d->out.redirect_count, d->out.hook_count);
		for (size_t i = 0; i < d->note_count; i++) {
			const struct hp_note *n = &d->notes[i];
			printf("%s{\"verdict\":\"%s\",\"kind\":\"%s\",\"name\":", i ? "," : "", hp_verdict_word(n->verdict),
			       n->kind);
			hp_source_name(n->symbol, text, sizeof text);
			hp_json_string(text);
			printf(",\"symbol\":");
			hp_json_string(n->symbol);
			printf(",\"unit\":");
			hp_json_string(n->unit);
			printf(",\"why\":");
			hp_source_name(n->why, text, sizeof text);
			hp_json_string(text);
			printf(",\"size\":%llu}", (unsigned long long)n->size);
		}
		printf("]}");
	}
	printf("]}\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_EXPLAIN = 256, OPT_JSON, OPT_OBJECTS, OPT_UNFP, OPT_LOST, OPT_LINES, OPT_VERSION, OPT_SIGN, OPT_SEQUENCE };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "objects", required_argument, NULL, OPT_OBJECTS },
		{ "allow-unfingerprinted", no_argument, NULL, OPT_UNFP },
		{ "allow-lost-state", no_argument, NULL, OPT_LOST },
		{ "patch-line-changes", no_argument, NULL, OPT_LINES },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "sign", required_argument, NULL, OPT_SIGN },
		{ "sequence", required_argument, NULL, OPT_SEQUENCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': o->output = optarg; break;
		case OPT_EXPLAIN: o->explain = 1; break;
		case OPT_JSON: o->json = 1; break;
		case OPT_OBJECTS: o->objects = optarg; break;
		case OPT_UNFP: o->diff.allow_unfingerprinted = 1; break;
		case OPT_LOST: o->diff.allow_lost_state = 1; break;
		case OPT_LINES: o->diff.patch_line_changes = 1; break;
		case OPT_VERSION: o->version = 1; return 0;
		case OPT_SIGN: o->sign = optarg; break;
		case OPT_SEQUENCE: {
			/* Digits only, in range: "--sequence -1" or "3x" is a mistake, never a number. */
			char *end = NULL;
			errno = 0;
			unsigned long long n = optarg[0] >= '0' && optarg[0] <= '9' ? strtoull(optarg, &end, 10) : 0;
			if (!end || *end || errno || n < 1 || n > 4294967295ULL) {
				fprintf(stderr, "hpdiff: --sequence: not a number from 1 to 4294967295: %s\n", optarg);
				return -1;
			}
			o->sequence = (uint32_t)n;
			break;
		}
		case 'h': usage(stdout); exit(0);
		default: fprintf(stderr, "hpdiff: see hpdiff --help\n"); return -1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "hpdiff: expected two builds, OLD and NEW (see hpdiff --help)\n");
		return -1;
	}
	if (!o->output) {
		fprintf(stderr, "hpdiff: no package named: give -o PACKAGE (see hpdiff --help)\n");
		return -1;
	}
	o->old_path = argv[optind];
	o->new_path = argv[optind + 1];
	return 0;
}

static int same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* Removes a package an earlier run left at the output path, so that it cannot be taken for the
 * result of this run when this run writes none.  Only a package (a file that starts like one,
 * or a link to one) is removed: a mistyped -o never costs another file. */
static void discard_output(const char *path)
{
	if (path && hp_file_starts_with(path, HP_PACKAGE_MAGIC, PACKAGE_MAGIC_SIZE) == 1 && unlink(path) &&
	    errno != ENOENT)
		fprintf(stderr, "hpdiff: %s: cannot remove the earlier package: %s\n", path, strerror(errno));
}

/* Whether the file at the output path may be replaced by a package: it is absent, empty (as
 * mktemp leaves it), or already a package.  Anything else (a program of OLD or NEW named by a
 * slip of tab completion, a source file, a FIFO, a link to a device) is someone's data, and the
 * rename that puts the package in place would destroy it.  A character device named directly is
 * written into.  Returns 1 when replaceable, else 0 with err set. */
static int replaceable(const char *path, char *err, size_t err_size)
{
	struct stat st;
	if (!lstat(path, &st) && S_ISCHR(st.st_mode))
		return 1;  /* -o /dev/null: written into, never replaced (package_write.c) */
	if (stat(path, &st))
		return errno == ENOENT ? 1 : (snprintf(err, err_size, "%s: %s", path, strerror(errno)), 0);
	if (S_ISREG(st.st_mode) && st.st_size == 0)
		return 1;
	int package = hp_file_starts_with(path, HP_PACKAGE_MAGIC, PACKAGE_MAGIC_SIZE);
	if (package < 0)
		snprintf(err, err_size, "%s: cannot tell whether it is a hotpatch package (%s): refusing to replace it",
		         path, strerror(errno));
	else if (!package)
		snprintf(err, err_size, "%s exists and is not a hotpatch package: refusing to replace it", path);
	return package == 1;
}

/* The newest (or oldest) modification time among a build's modules, in nanoseconds. */
static long long module_time(const struct hp_build *b, int newest)
{
	long long best = -1;
	for (size_t i = 0; i < b->module_count; i++) {
		struct stat st;
		if (stat(b->modules[i].elf.path, &st))
			return -1;
		long long t = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		if (best < 0 || (newest ? t > best : t < best))
			best = t;
	}
	return best;
}

/* A hint that OLD and NEW were given the wrong way round: every module of NEW is older than
 * every module of OLD.  File times are weak evidence (a copy or an archive may reset them, an
 * old release may be rebuilt later), so this is only a warning. */
static void warn_if_swapped(const struct options *o, const struct hp_build *old, const struct hp_build *new)
{
	long long new_newest = module_time(new, 1), old_oldest = module_time(old, 0);
	if (new_newest < 0 || old_oldest < 0 || new_newest >= old_oldest)
		return;
	char a[1024], b[1024];
	describe_build(new, a, sizeof a);
	describe_build(old, b, sizeof b);
	fprintf(stderr, "hpdiff: warning: NEW %s (%s) is older than OLD %s (%s): are the builds swapped?\n",
	        o->new_path, a, o->old_path, b);
}

static int has_module(const struct hp_build *b, const char *name)
{
	for (size_t i = 0; i < b->module_count; i++)
		if (!strcmp(b->modules[i].name, name))
			return 1;
	return 0;
}

/* "ROOT/NAME" without a doubled slash, for naming a file of a tree. */
static void tree_path(const struct hp_build *b, const char *name, char *out, size_t size)
{
	size_t n = strlen(b->root);
	while (n > 1 && b->root[n - 1] == '/')
		n--;
	snprintf(out, size, "%.*s/%s", (int)n, b->root, name);
}

/* A regular file (not a link: a tree's links are not followed) that does not begin like ELF. */
static int not_elf(const char *path)
{
	struct stat st;
	return !lstat(path, &st) && S_ISREG(st.st_mode) && hp_file_starts_with(path, ELFMAG, SELFMAG) == 0;
}

/* A program or library present in both trees, with metadata in only one of them, cannot be
 * compared; left out, the package would silently carry only part of the fix (the library's
 * change without the program's).  The same holds for a module of NEW whose path in OLD holds a
 * file that is not ELF at all (overwritten).  Returns 0, or -1 after printing the error. */
static int check_bare_modules(const struct hp_build *old, const struct hp_build *new, int old_is_tree)
{
	char path[PATH_MAX + 256];
	for (size_t i = 0; i < new->module_count; i++) {
		const char *name = new->modules[i].name;
		if (has_module(old, name))
			continue;
		tree_path(old, name, path, sizeof path);
		if (hp_build_has_bare_module(old, name)) {
			fprintf(stderr, "hpdiff: OLD's %s has no hotpatch metadata but NEW's has (stripped with llvm-strip? "
			        "keep .hotpatch): cannot patch it\n", path);
			return -1;
		}
		if (old_is_tree && not_elf(path)) {
			fprintf(stderr, "hpdiff: OLD's %s is not an ELF file but NEW's is a program or library with hotpatch "
			        "metadata (overwritten?): cannot patch it\n", path);
			return -1;
		}
	}
	for (size_t i = 0; i < old->module_count; i++) {
		const char *name = old->modules[i].name;
		if (has_module(new, name) || !hp_build_has_bare_module(new, name))
			continue;
		tree_path(new, name, path, sizeof path);
		fprintf(stderr, "hpdiff: NEW's %s has no hotpatch metadata but OLD's has (stripped with llvm-strip? "
		        "keep .hotpatch): cannot patch it\n", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	char err[1024] = "", what[1024];
	if (parse_args(argc, argv, &o)) {
		discard_output(o.output);
		return EXIT_ERROR;
	}
	if (o.version) {
		printf("hpdiff (hotpatch) %s\n", HOTPATCH_VERSION);
		return EXIT_WRITTEN;
	}
	struct stat st;
	int directory = !stat(o.output, &st) && S_ISDIR(st.st_mode);
	if (directory || same_file(o.output, o.old_path) || same_file(o.output, o.new_path)) {
		fprintf(stderr, "hpdiff: %s: the package would replace %s\n", o.output,
		        directory ? "a directory" : "one of the builds");
		return EXIT_ERROR;
	}
	if (!replaceable(o.output, err, sizeof err)) {
		fprintf(stderr, "hpdiff: %s\n", err);
		return EXIT_ERROR;
	}
	if (o.sign && (hp_sign_init(err, sizeof err) || hp_key_read_secret(o.sign, &o.key, err, sizeof err))) {
		fprintf(stderr, "hpdiff: %s\n", err);
		discard_output(o.output);
		return EXIT_ERROR;
	}

	/* load */
	struct hp_build old_build, new_build;
	if (hp_build_load(o.old_path, NULL, 0, &old_build, err, sizeof err)) {
		fprintf(stderr, "hpdiff: %s\n", err);
		discard_output(o.output);
		return EXIT_ERROR;
	}
	if (same_file(o.old_path, o.new_path)) {
		describe_build(&old_build, what, sizeof what);
		fprintf(stderr, "hpdiff: %s: OLD and NEW are the same build (%s)\n", o.new_path, what);
		hp_build_free(&old_build);
		discard_output(o.output);
		return EXIT_ERROR;
	}
	if (hp_build_load(o.new_path, o.objects, 1, &new_build, err, sizeof err)) {
		fprintf(stderr, "hpdiff: %s\n", err);
		hp_build_free(&old_build);
		discard_output(o.output);
		return EXIT_ERROR;
	}
	warn_if_swapped(&o, &old_build, &new_build);
	if (check_bare_modules(&old_build, &new_build, !stat(o.old_path, &st) && S_ISDIR(st.st_mode))) {
		hp_build_free(&old_build);
		hp_build_free(&new_build);
		discard_output(o.output);
		return EXIT_ERROR;
	}

	/* pair modules and diff each; refusals of every module are collected before deciding */
	int status = EXIT_ERROR;
	struct pair *pairs = calloc(old_build.module_count + 1, sizeof *pairs);
	size_t count = 0, refusals = 0, changed = 0, hooks = 0, identical = 0;
	for (size_t i = 0; pairs && i < old_build.module_count; i++) {
		struct hp_module *om = &old_build.modules[i], *nm = NULL;
		for (size_t k = 0; k < new_build.module_count && !nm; k++)
			if (!strcmp(new_build.modules[k].name, om->name) ||
			    (old_build.module_count == 1 && new_build.module_count == 1))
				nm = &new_build.modules[k];
		if (!nm)
			continue;  /* the module is gone in the new build: nothing to patch */
		struct pair *p = &pairs[count];
		*p = (struct pair){ om, nm, calloc(1, sizeof *p->d), 0 };
		if (!p->d) {
			fprintf(stderr, "hpdiff: out of memory\n");
			goto out;
		}
		count++;
		if (om->elf.build_id_size && om->elf.build_id_size == nm->elf.build_id_size &&
		    !memcmp(om->elf.build_id, nm->elf.build_id, om->elf.build_id_size)) {
			/* Bit-identical (a reproducible build of the same sources): nothing to compare. */
			p->identical = 1;
			identical++;
			p->d->out.name = strdup(om->name);
			if (!p->d->out.name) {
				fprintf(stderr, "hpdiff: out of memory\n");
				goto out;
			}
			continue;
		}
		if (hp_build_check_objects(&new_build, nm, "NEW", err, sizeof err)) {
			fprintf(stderr, "hpdiff: %s\n", err);
			goto out;
		}
		if (hp_diff_module(om, nm, &new_build, &o.diff, p->d, err, sizeof err)) {
			describe(p, what, sizeof what);
			fprintf(stderr, "hpdiff: %s: %s\n", what, err);
			goto out;
		}
		refusals += p->d->refusals;
		changed += p->d->changed;
		hooks += p->d->out.hook_count;
		/* The running program has no control channel: hpctl must load the runtime with ptrace,
		 * which production hosts often forbid. */
		if (p->d->out.redirect_count && om->elf.is_program && hp_elf_has_runtime(&om->elf) == 0)
			fprintf(stderr, "hpdiff: warning: %s has no hotpatch runtime linked (no hp_control_start, no "
			        "libhotpatch.so needed): hpctl apply must load it with ptrace, which needs root or the "
			        "process's own user where ptrace is allowed; link it with -lhotpatch\n",
			        om->elf.path);
	}
	if (!pairs) {
		fprintf(stderr, "hpdiff: out of memory\n");
		goto out;
	}

	/* write, then report */
	long size = 0;
	const char *result = refusals ? "refused" : changed || hooks ? "written" : "unchanged";
	if (!refusals && (changed || hooks)) {
		struct hp_out_module **mods = calloc(count, sizeof *mods);
		size_t n = 0;
		for (size_t i = 0; mods && i < count; i++)
			if (pairs[i].d->out.redirect_count || pairs[i].d->out.hook_count)
				mods[n++] = &pairs[i].d->out;
		size = mods ? hp_package_write(o.output, mods, n, o.sequence, err, sizeof err) : -1;
		free(mods);
		if (size < 0) {
			fprintf(stderr, "hpdiff: %s\n", mods ? err : "out of memory");
			goto out;
		}
		if (o.sign && hp_sign_file(o.output, o.output, &o.key, err, sizeof err)) {
			fprintf(stderr, "hpdiff: %s\n", err);
			goto out;
		}
	}
	if (o.json) {
		print_json(pairs, count, result, size > 0 ? o.output : NULL, size);
	} else {
		for (size_t i = 0; o.explain && i < count; i++)
			print_explain(&pairs[i]);
		for (size_t i = 0; i < count; i++)
			for (size_t k = 0; k < pairs[i].d->note_count; k++) {
				const struct hp_note *nt = &pairs[i].d->notes[k];
				char sym[512], why[1024];
				if (nt->verdict != HP_VERDICT_REFUSED)
					continue;
				describe(&pairs[i], what, sizeof what);
				hp_source_name(nt->symbol, sym, sizeof sym);
				hp_source_name(nt->why, why, sizeof why);
				fprintf(stderr, "hpdiff: refused: %s: %s [%s]: %s\n", what, sym, nt->unit, why);
			}
		if (refusals) {
			fprintf(stderr, "hpdiff: %zu reason(s) to refuse; no package written\n", refusals);
		} else if (!changed && !hooks && count && identical == count) {
			describe_build(&old_build, what, sizeof what);
			printf("hpdiff: no code change between %s and %s: identical builds (%s)\n", o.old_path, o.new_path,
			       what);
		} else if (!changed && !hooks) {
			printf("hpdiff: no code change between %s and %s\n", o.old_path, o.new_path);
		} else {
			printf("hpdiff: wrote %s (%ld bytes): %zu function(s) redirected", o.output, size, changed);
			printf(hooks ? ", %zu state hook(s)\n" : "\n", hooks);
			if (o.sign) {
				char id[17];
				hp_key_id(o.key.public_key, id);
				printf("hpdiff: signed %s with key %s (%d more bytes)\n", o.output, id, HP_SIGNATURE_TRAILER_SIZE);
			}
		}
	}
	status = refusals ? EXIT_REFUSED : changed || hooks ? EXIT_WRITTEN : EXIT_UNCHANGED;
out:
	if (status != EXIT_WRITTEN)
		discard_output(o.output);
	for (size_t i = 0; i < count; i++) {
		hp_module_diff_free(pairs[i].d);
		free(pairs[i].d);
	}
	free(pairs);
	hp_build_free(&old_build);
	hp_build_free(&new_build);
	return status;
}

/* persist.c — fixes that survive restarts (persist.h): as the process starts, every package
 * stored for a module it has loaded is applied, in sequence order, through the live apply's own
 * path.  Nothing here decides what a package may do; it only finds the files, refuses those
 * that anyone but root or the process's own user could have put or changed there, and checks
 * that a file is what its name and its directory say. */
#define _GNU_SOURCE
#include "persist.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "runtime.h"
#include "signature.h"

#define MAX_PACKAGE_SIZE (1 << 30)  /* as a package sent to the control channel */

/* One stored package, read. */
struct stored {
	char path[600];               /* for the history */
	uint32_t sequence;            /* as its name says */
	uint8_t checksum[16];
	char checksum_hex[33];
	uint8_t build_id[32];         /* of its directory */
	size_t build_id_size;
	void *data;
	size_t size;
	int applied;
};

/* A start-refuse event for what persist.c itself refuses (files it will not read, names that
 * lie); refusals by the apply are recorded by it. */
static void refuse(const struct stored *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(const struct stored *s, const char *fmt, ...)
{
	struct hp_event e;
	memset(&e, 0, sizeof e);
	e.kind = HP_EVENT_START_REFUSE;
	e.uid = geteuid();
	e.pid = getpid();
	if (s) {
		e.sequence = s->sequence;
		memcpy(e.checksum, s->checksum, 16);
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.detail, sizeof e.detail, fmt, ap);
	va_end(ap);
	hp_history_add(&e);
}

/* Why a file or directory may not be trusted, or NULL: it must be what is wanted, and belong to
 * root or to this process's effective uid, and be writable by nobody else (whoever else could
 * write it could make this process run their code). */
static const char *untrusted(const struct stat *st, int directory, char *why, size_t size)
{
	if (directory ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		snprintf(why, size, "not a %s", directory ? "directory" : "regular file");
	else if (st->st_uid != 0 && st->st_uid != geteuid())
		snprintf(why, size, "owned by uid %u, neither root nor the process's uid %u", (unsigned)st->st_uid,
		         (unsigned)geteuid());
	else if (st->st_mode & 022)
		snprintf(why, size, "writable by %s (mode %04o)",
		         (st->st_mode & 022) == 022 ? "its group and by others" : st->st_mode & 020 ? "its group" : "others",
		         (unsigned)(st->st_mode & 07777));
	else
		return NULL;
	return why;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lowercase hex of n bytes (n from 1 to max) into out; returns n, or 0 when s is not that. */
static size_t parse_hex(const char *s, size_t len, uint8_t *out, size_t max)
{
	if (!len || len % 2 || len / 2 > max)
		return 0;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return len / 2;
}

/* "0000000003-<32 hex>.hp": the sequence and checksum; returns 0, or -1 when not such a name
 * (hpctl's temporary files, anything else: not a stored package, passed over in silence). */
static int parse_name(const char *name, struct stored *s)
{
	const int digits = HP_PERSIST_SEQUENCE_DIGITS;
	if (strlen(name) != HP_PERSIST_NAME_LEN || name[digits] != '-' ||
	    strcmp(name + HP_PERSIST_NAME_LEN - 3, ".hp"))
		return -1;
	uint64_t sequence = 0;
	for (int i = 0; i < digits; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		sequence = sequence * 10 + (uint64_t)(name[i] - '0');
	}
	if (sequence > UINT32_MAX || parse_hex(name + digits + 1, 32, s->checksum, 16) != 16)
		return -1;
	s->sequence = (uint32_t)sequence;
	memcpy(s->checksum_hex, name + digits + 1, 32);
	s->checksum_hex[32] = 0;
	return 0;
}

/* Reads a whole file from fd; NULL when it cannot. */
static void *read_all(int fd, size_t size)
{
	char *buf = malloc(size ? size : 1);
	size_t got = 0;
	while (buf && got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != size) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct list {
	struct stored *items;
	size_t count, cap;
};

/* Reads the stored packages of one build-id directory (dirfd, already checked) into list. */
static void read_directory(int dirfd, const char *dir, const uint8_t *build_id, size_t build_id_size,
                           struct list *list)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		refuse(NULL, "cannot list %s: %s", dir, strerror(errno));
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		struct stored s;
		memset(&s, 0, sizeof s);
		if (parse_name(e->d_name, &s))
			continue;
		snprintf(s.path, sizeof s.path, "%s/%s", dir, e->d_name);
		memcpy(s.build_id, build_id, build_id_size);
		s.build_id_size = build_id_size;
		/* Opened without following a link, and judged by what was opened. */
		int file = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;
		char why[160];
		if (file < 0 || fstat(file, &st)) {
			refuse(&s, "ignored %s: %s", s.path, strerror(errno));
		} else if (untrusted(&st, 0, why, sizeof why)) {
			refuse(&s, "ignored %s: %s", s.path, why);
		} else if (st.st_size <= 0 || st.st_size > MAX_PACKAGE_SIZE) {
			refuse(&s, "ignored %s: size %lld", s.path, (long long)st.st_size);
		} else if (!(s.data = read_all(file, (size_t)st.st_size))) {
			refuse(&s, "ignored %s: cannot read it", s.path);
		} else {
			s.size = (size_t)st.st_size;
			struct stored *grown = list->count < list->cap ? list->items :
			                       realloc(list->items, (list->cap = list->cap * 2 + 8) * sizeof *grown);
			if (grown) {
				list->items = grown;
				list->items[list->count++] = s;
			} else {
				free(s.data);
				refuse(&s, "ignored %s: out of memory", s.path);
			}
		}
		if (file >= 0)
			close(file);
	}
	closedir(d);
}

/* Sequence order; within one sequence, by checksum, then by where it was found. */
static int by_sequence(const void *a, const void *b)
{
	const struct stored *x = a, *y = b;
	if (x->sequence != y->sequence)
		return x->sequence < y->sequence ? -1 : 1;
	int c = memcmp(x->checksum, y->checksum, 16);
	return c ? c : strcmp(x->path, y->path);
}

/* Whether the calling thread is the process's only one, as it usually is while constructors
 * run: then the world is stopped in the sense hp_apply_world asks (history.h), since no other
 * thread exists to be inside a patch site, none can be started but by this one, and this one is
 * running the runtime's constructor, not resuming inside a site.  So a stored package for code
 * built with entry=padding-only applies at start; with a thread started earlier (a preloaded
 * library's constructor) it is refused like a live apply. */
static int only_thread(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	int threads = 0;
	for (struct dirent *e; (e = readdir(d));)
		threads += e->d_name[0] != '.';
	closedir(d);
	return threads == 1;
}

/* Checks a stored package against its name and directory, then applies it as a live apply. */
static void apply_stored(struct stored *s)
{
	struct hp_package *pkg = NULL;
	struct hp_signature sig;
	char why[300];
	/* A signed package's body is what names it; the whole file, trailer included, is applied. */
	if (hp_signature_split(s->data, s->size, &sig, why, sizeof why) == 0 &&
	    hp_package_decode(s->data, sig.body_size, &pkg, why, sizeof why) == 0) {
		/* The name is how hpctl and the operator know it: a file whose content is another
		 * package (renamed, or misplaced under another build) is not applied on its word. */
		int here = 0;
		for (uint32_t i = 0; i < pkg->module_count && !here; i++)
			here = pkg->modules[i].build_id_size == s->build_id_size &&
			       !memcmp(pkg->modules[i].build_id, s->build_id, s->build_id_size);
		char sum[33];
		hp_hex(pkg->checksum, 16, sum);
		int named = pkg->sequence == s->sequence && !memcmp(pkg->checksum, s->checksum, 16);
		uint32_t sequence = pkg->sequence;
		hp_package_free(pkg);
		if (!named) {
			refuse(s, "refused %s: the package is sequence %u, checksum %s, not what its name says", s->path,
			       sequence, sum);
			return;
		}
		if (!here) {
			refuse(s, "refused %s: stored under a build-id none of the package's modules has", s->path);
			return;
		}
	}
	/* A package that does not read goes to the apply all the same, which refuses it with the
	 * reader's reason, as it would refuse it from hpctl. */
	struct hp_requester who = hp_requester_self();
	who.at_start = 1;
	who.source = s->path;
	static const struct hp_stopped_world alone = { NULL, NULL, NULL };
	s->applied = hp_apply_world(s->data, s->size, 0, &who, only_thread() ? &alone : NULL, NULL, 0, NULL) > 0;
}

void hp_persist_start(void)
{
	/* Not in a setuid program: its caller must not choose which code it runs. */
	const char *env = secure_getenv(HP_PERSIST_ENV);
	const char *base = env && *env ? env : HP_PERSIST_DIR;
	int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0) {
		if (errno != ENOENT)  /* ENOENT: nothing was ever stored on this machine */
			refuse(NULL, "cannot open %s: %s; no stored package applied", base, strerror(errno));
		return;
	}
	struct stat st;
	char why[160];
	if (fstat(basefd, &st))
		snprintf(why, sizeof why, "%s", strerror(errno));
	else if (!untrusted(&st, 1, why, sizeof why))
		why[0] = 0;
	if (why[0]) {
		refuse(NULL, "ignored %s and every package in it: %s", base, why);
		close(basefd);
		return;
	}
	/* The directories of the builds loaded now; the others are other programs' (or older
	 * baselines'), passed over without a word. */
	struct list list = { 0 };
	int fd = dup(basefd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		uint8_t build_id[32];
		size_t size = parse_hex(e->d_name, strlen(e->d_name), build_id, sizeof build_id);
		struct hp_loaded mod;
		if (!size || hp_find_module(build_id, size, &mod))
			continue;
		char dir[600];
		snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
		int dirfd = openat(basefd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0 || fstat(dirfd, &st)) {
			refuse(NULL, "ignored %s: %s", dir, strerror(errno));
		} else if (untrusted(&st, 1, why, sizeof why)) {
			refuse(NULL, "ignored %s and every package in it: %s", dir, why);
		} else {
			read_directory(dirfd, dir, build_id, size, &list);
		}
		if (dirfd >= 0)
			close(dirfd);
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	close(basefd);

	if (list.count)  /* qsort takes no NULL array, even of none */
		qsort(list.items, list.count, sizeof *list.items, by_sequence);
	for (size_t i = 0; i < list.count; i++) {
		/* A package of several modules is stored under each of their build-ids: once applied,
		 * its other copies are the same package.  A copy refused does not stop the next. */
		int done = 0;
		for (size_t k = 0; k < i && !done; k++)
			done = list.items[k].applied && !memcmp(list.items[k].checksum, list.items[i].checksum, 16);
		if (!done)
			apply_stored(&list.items[i]);
		free(list.items[i].data);
		list.items[i].data = NULL;
	}
	free(list.items);
}

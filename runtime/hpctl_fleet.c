/* hpctl_fleet.c — finding every running process of one build, for `hpctl ... --all` (hpctl.h).
 * A build is named by a file (an executable or a library) or by a GNU build-id.  A process is of
 * that build when one of the files it has mapped (its program or a library it loaded, as
 * /proc/PID/maps lists them) is that file (same device and inode) or has that build-id.  The
 * build-id is read from the mapped file itself, through /proc/PID/map_files (the very file
 * mapped: one deleted or replaced on disk since, or inside a container's own root, is still
 * found), or else through the process's root (/proc/PID/root), checked to be the same inode.
 * A file replaced on disk by a new build is another build: processes still running the old one
 * match the old file's build-id, not the new file's path. */
#define _GNU_SOURCE
#include "hpctl.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "control.h"

size_t hp_ctl_hex_parse(const char *hex, uint8_t out[32])
{
	size_t n = strlen(hex);
	if (n < 2 || n > 64 || n % 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)hex[i]))
			return 0;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned byte;
		sscanf(hex + 2 * i, "%2x", &byte);
		out[i] = (uint8_t)byte;
	}
	return n / 2;
}

/* The notes of one PT_NOTE segment: the GNU build-id's size, or 0. */
static size_t note_build_id(int fd, const Elf64_Phdr *ph, uint8_t out[32])
{
	uint8_t buf[4096];
	size_t size = ph->p_filesz < sizeof buf ? (size_t)ph->p_filesz : sizeof buf;
	if (pread(fd, buf, size, (off_t)ph->p_offset) != (ssize_t)size)
		return 0;
	size_t align = ph->p_align == 8 ? 8 : 4;
	for (size_t at = 0; at + sizeof(Elf64_Nhdr) <= size;) {
		Elf64_Nhdr n;
		memcpy(&n, buf + at, sizeof n);
		size_t name = at + sizeof n, desc = name + ((n.n_namesz + align - 1) & ~(align - 1));
		if (n.n_namesz > size || n.n_descsz > size || desc + n.n_descsz > size)
			return 0;
		if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && !memcmp(buf + name, "GNU", 4) && n.n_descsz &&
		    n.n_descsz <= 32) {
			memcpy(out, buf + desc, n.n_descsz);
			return n.n_descsz;
		}
		at = desc + ((n.n_descsz + align - 1) & ~(align - 1));
	}
	return 0;
}

size_t hp_ctl_file_build_id(int fd, uint8_t out[32])
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
			return 0;
		size_t n = ph.p_type == PT_NOTE ? note_build_id(fd, &ph, out) : 0;
		if (n)
			return n;
	}
	return 0;
}

int hp_ctl_build_parse(const char *arg, struct hp_ctl_build *b)
{
	memset(b, 0, sizeof *b);
	/* A path first: a file named like a build-id in the current directory is that file. */
	int fd = strchr(arg, '/') || access(arg, F_OK) == 0 ? open(arg, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
			close(fd);
			hp_ctl_error("%s: not an executable or library file", arg);
			return -1;
		}
		b->has_file = 1;
		b->dev = st.st_dev;
		b->ino = st.st_ino;
		b->build_id_size = hp_ctl_file_build_id(fd, b->build_id);
		close(fd);
		return 0;
	}
	if (!strchr(arg, '/') && (b->build_id_size = hp_ctl_hex_parse(arg, b->build_id)))
		return 0;
	hp_ctl_error("%s: neither a file that can be read nor a build-id (2 to 64 hex digits)", arg);
	return -1;
}

/* The build-ids of the files seen so far, by device and inode: each library is read once. */
struct known {
	dev_t dev;
	ino_t ino;
	uint8_t id[32];
	size_t size;
};
static struct known *known;
static size_t known_count, known_cap;

/* The build-id of the file mapped at [start, end) in process pid, known by dev and ino from its
 * maps line, at path as the process sees it; its size, or 0 when it has none or it cannot be
 * read. */
static size_t mapped_build_id(pid_t pid, const char *range, dev_t dev, ino_t ino, const char *path, uint8_t out[32])
{
	for (size_t i = 0; i < known_count; i++)
		if (known[i].dev == dev && known[i].ino == ino) {
			memcpy(out, known[i].id, known[i].size);
			return known[i].size;
		}
	char where[4200];
	snprintf(where, sizeof where, "/proc/%d/map_files/%s", (int)pid, range);
	int fd = open(where, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && path[0] == '/') {
		/* map_files needs CAP_SYS_ADMIN: the same path in the process's root, if still that file. */
		struct stat st;
		snprintf(where, sizeof where, "/proc/%d/root%s", (int)pid, path);
		fd = open(where, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) || st.st_ino != ino)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return 0;
	size_t size = hp_ctl_file_build_id(fd, out);
	close(fd);
	if (known_count == known_cap) {
		size_t cap = known_cap ? 2 * known_cap : 64;
		struct known *grown = realloc(known, cap * sizeof *grown);
		if (!grown)
			return size;
		known = grown;
		known_cap = cap;
	}
	known[known_count].dev = dev;
	known[known_count].ino = ino;
	memcpy(known[known_count].id, out, size);
	known[known_count++].size = size;
	return size;
}

/* Calls each(dev, ino, build-id, size, arg) once per file process pid has mapped, in the order
 * of its maps (the program first), until it returns nonzero; returns that, or -1 when the maps
 * cannot be read. */
static int each_mapped_file(pid_t pid, int (*each)(dev_t, ino_t, const uint8_t *, size_t, void *), void *arg)
{
	char path[64], line[4400];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	dev_t last_dev = 0;
	ino_t last_ino = 0;
	int rc = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		char range[64];
		unsigned major, minor;
		unsigned long long inode;
		int at = 0;
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%63s %*s %*s %x:%x %llu %n", range, &major, &minor, &inode, &at) != 4 || !inode || !at)
			continue;
		dev_t dev = makedev(major, minor);
		if (dev == last_dev && inode == last_ino)  /* the next segment of the same file */
			continue;
		last_dev = dev;
		last_ino = (ino_t)inode;
		/* A file deleted since it was mapped reads "PATH (deleted)": map_files still has it. */
		uint8_t id[32];
		size_t size = mapped_build_id(pid, range, dev, (ino_t)inode, line + at, id);
		rc = each(dev, (ino_t)inode, id, size, arg);
	}
	fclose(f);
	return rc;
}

static int matches(dev_t dev, ino_t ino, const uint8_t *id, size_t size, void *arg)
{
	const struct hp_ctl_build *b = arg;
	return (b->has_file && b->dev == dev && b->ino == ino) ||
	       (b->build_id_size && size == b->build_id_size && !memcmp(id, b->build_id, size));
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int hp_ctl_find_processes(const struct hp_ctl_build *b, pid_t **pids, size_t *count)
{
	DIR *d = opendir("/proc");
	if (!d) {
		hp_ctl_error("/proc: cannot list processes");
		return -1;
	}
	size_t n = 0, cap = 0;
	pid_t *out = NULL, self = getpid();
	for (struct dirent *e; (e = readdir(d));) {
		long long pid;
		if (hp_parse_number(e->d_name, NULL, 1, HP_PID_MAX, &pid) || pid == self)
			continue;
		if (each_mapped_file((pid_t)pid, matches, (void *)b) != 1)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			pid_t *grown = realloc(out, cap * sizeof *grown);
			if (!grown) {
				closedir(d);
				free(out);
				hp_ctl_error("out of memory");
				return -1;
			}
			out = grown;
		}
		out[n++] = (pid_t)pid;
	}
	closedir(d);
	if (n)  /* qsort takes no NULL array, even of none */
		qsort(out, n, sizeof *out, by_pid);
	*pids = out;
	*count = n;
	return 0;
}

struct collected {
	uint8_t (*ids)[32];
	size_t *sizes;
	int count, max;
};

static int collect(dev_t dev, ino_t ino, const uint8_t *id, size_t size, void *arg)
{
	(void)dev;
	(void)ino;
	struct collected *c = arg;
	for (int i = 0; i < c->count; i++)
		if (c->sizes[i] == size && !memcmp(c->ids[i], id, size))
			return 0;
	if (size && c->count < c->max) {
		memcpy(c->ids[c->count], id, size);
		c->sizes[c->count++] = size;
	}
	return 0;
}

int hp_ctl_process_build_ids(pid_t pid, uint8_t ids[][32], size_t sizes[], int max)
{
	struct collected c = { ids, sizes, 0, max };
	return each_mapped_file(pid, collect, &c) < 0 ? -1 : c.count;
}

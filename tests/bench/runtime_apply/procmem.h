/* procmem.h — for tests/bench/runtime_apply.sh: a process's own memory, read from /proc without
 * allocating (the buffer is static and touched once before anything is measured). */
#ifndef RUNTIME_APPLY_PROCMEM_H
#define RUNTIME_APPLY_PROCMEM_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char procmem_buf[1 << 18];

/* Reads a whole /proc file into procmem_buf, NUL-terminated; returns its length or -1. */
static long procmem_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, procmem_buf + got, sizeof procmem_buf - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	procmem_buf[got] = 0;
	return (long)got;
}

/* The number after "name:" at the start of a line of text, or -1. */
static long procmem_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ':') {
			long v = 0;
			for (p += len + 1; *p == ' ' || *p == '\t'; p++)
				;
			for (; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (*p - '0');
			return v;
		}
	return -1;
}

struct procmem {
	long rss, pss, anonymous, private_dirty, threads;   /* KiB; threads: a count */
};

static void procmem_self(struct procmem *m)
{
	m->rss = m->pss = m->anonymous = m->private_dirty = m->threads = -1;
	if (procmem_read("/proc/self/smaps_rollup") > 0) {
		m->rss = procmem_field(procmem_buf, "Rss");
		m->pss = procmem_field(procmem_buf, "Pss");
		m->anonymous = procmem_field(procmem_buf, "Anonymous");
		m->private_dirty = procmem_field(procmem_buf, "Private_Dirty");
	}
	if (procmem_read("/proc/self/status") > 0)
		m->threads = procmem_field(procmem_buf, "Threads");
}

/* KiB of anonymous (copied-on-write) pages in the mappings of the program's own file: the text
 * pages a patch wrote to. */
static long procmem_exe_anonymous(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0 || procmem_read("/proc/self/smaps") <= 0)
		return -1;
	exe[n] = 0;
	long sum = 0;
	int mine = 0;
	for (char *line = procmem_buf; line && *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		/* A mapping's header starts with its address range: hex digits then '-'. */
		size_t hex = strspn(line, "0123456789abcdef");
		if (hex && line[hex] == '-') {
			const char *path = strchr(line, '/');
			mine = path && !strcmp(path, exe);
		} else if (mine && !strncmp(line, "Anonymous:", 10)) {
			sum += procmem_field(line, "Anonymous");
		}
		line = end ? end + 1 : NULL;
	}
	return sum;
}

/* Makes the buffer resident before the first measurement, so reading /proc adds nothing later. */
static void procmem_init(void)
{
	memset(procmem_buf, 1, sizeof procmem_buf);
}

#endif

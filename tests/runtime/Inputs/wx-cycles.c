/* wx-cycles.c — a test program's fixed part: applies the package named by argv[1] to itself and
 * reverts it, argv[2] times, checking probe()'s result (OLD, NEW, given with -D) after each, while
 * a thread reads /proc/self/maps over and over and counts the mappings it finds writable and
 * executable at once.  Preloaded with fault-shim.so (HP_FAULT_WATCH_WX=1), the shim also reads the
 * mappings after every mmap, mprotect, pwrite and membarrier, which sees every state without
 * depending on timing; the program prints both counts and probe()'s result at the end, and the
 * first error if an apply or revert fails (exit status 1). */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "hotpatch.h"
#include "read_file.h"

int probe(void);

static int stop;                     /* atomic */
static unsigned long samples, seen;  /* written by the sampler, read after it stopped */

/* Counts the lines of maps whose permissions are "rwx" or "-wx". */
static unsigned long writable_executable(const char *maps)
{
	unsigned long n = 0;
	for (const char *line = maps; *line;) {
		const char *sp = strchr(line, ' ');
		if (sp && sp[2] == 'w' && sp[3] == 'x')
			n++;
		const char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : line + strlen(line);
	}
	return n;
}

static void *sampler(void *arg)
{
	(void)arg;
	static char buf[1 << 16];
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		/* the system call itself: the shim does not watch or count these */
		int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
		ssize_t n = 0, r;
		while (fd >= 0 && n < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
			n += r;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = 0;
		seen += writable_executable(buf);
		samples++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int cycles = atoi(argv[2]), failed = 0, done = 0;
	size_t size = 0;
	void *pkg = read_all(argv[1], &size);
	int (*wx_seen)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "hp_fault_wx_seen");
	if (!wx_seen) {
		fprintf(stderr, "wx-cycles: run it with fault-shim.so preloaded\n");
		return 2;
	}
	pthread_t thread;
	if (pthread_create(&thread, NULL, sampler, NULL))
		return 2;
	for (; done < cycles && !failed; done++) {
		int id = hp_apply(pkg, size);
		if (id < 0) {
			printf("apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
			failed = 1;
		} else if (probe() != NEW) {
			printf("after apply: %d\n", probe());
			failed = 1;
		} else if ((id = hp_revert(id))) {
			printf("revert failed: %s: %s\n", hp_strerror(id), hp_last_error());
			failed = 1;
		} else if (probe() != OLD) {
			printf("after revert: %d\n", probe());
			failed = 1;
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	printf("cycles: %d%s\n", failed ? done - 1 : done, failed ? " (then failed)" : "");
	printf("writable and executable, after each call: %d\n", wx_seen());
	printf("writable and executable, sampled: %lu (in %lu samples)\n", seen, samples);
	printf("probe: %d\n", probe());
	free(pkg);
	return failed;
}

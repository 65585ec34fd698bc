/* hpctl_attach.c — loads the hotpatch runtime into a process built with the plugin but not linked
 * with libhotpatch (hpctl_attach.h).  The process's threads are stopped (hpctl_world.h); dlopen is
 * found in the libc the process has mapped (its dynamic symbol table, read from the very file
 * mapped, plus the load bias); one thread blocked in a system call that is safe to call in
 * (rank) calls dlopen(library, RTLD_NOW) while the others run (a stopped thread might hold malloc's or the
 * loader's lock that dlopen needs); then every thread goes on as it was.  The runtime's
 * constructors start its control channel, and hpctl talks to it as to any linked runtime.
 *
 * A process in another mount namespace (or chroot), or running as another user, may not see or
 * read hpctl's copy of the library: it gets a private copy in its own /tmp, removed once loaded
 * (the mapping stays).  A process that has a runtime already never gets a second one.
 *
 * An hpctl built without the stopped world (HPCTL_STOP_WORLD 0: a processor hpctl_world.c has no
 * registers for) still surveys the process, which reads only files, and refuses to load the
 * runtime when that is what the apply would need (HP_CTL_UNSUPPORTED). */
#define _GNU_SOURCE
#include "hpctl_attach.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "hp_meta.h"
#include "hpctl.h"
#if HPCTL_STOP_WORLD
#include "hpctl_world.h"
#endif

/* One file the process has mapped: where its first mapping is, and the file's identity. */
struct mapped {
	uint64_t start, end, offset;
	unsigned long long inode;
	unsigned major, minor;
	char path[4096];
};

/* The files process pid maps (one entry per file: its mapping at file offset 0, or its first),
 * or -1 when /proc/PID/maps is not ours to read. */
static int read_maps(pid_t pid, struct mapped **out, size_t *count)
{
	char path[64], line[4400];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	struct mapped *m = NULL;
	size_t n = 0, cap = 0;
	int read_any = 0;
	while (fgets(line, sizeof line, f)) {
		read_any = 1;
		struct mapped e;
		int at = 0;
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %llu %n", (unsigned long *)&e.start, (unsigned long *)&e.end,
		           (unsigned long *)&e.offset, &e.major, &e.minor, &e.inode, &at) != 6 || !at ||
		    line[at] != '/' || !e.inode)
			continue;
		snprintf(e.path, sizeof e.path, "%s", line + at);
		size_t k = 0;
		while (k < n && !(m[k].inode == e.inode && m[k].major == e.major && m[k].minor == e.minor))
			k++;
		if (k < n) {
			if (e.offset == 0 && m[k].offset != 0)
				m[k] = e;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct mapped *grown = realloc(m, cap * sizeof *grown);
			if (!grown)
				break;
			m = grown;
		}
		m[n++] = e;
	}
	fclose(f);
	if (!read_any) {  /* another user's process: the file opens, but reads nothing */
		free(m);
		return -1;
	}
	*out = m;
	*count = n;
	return 0;
}

/* Opens the file of mapping e as process pid maps it: through /proc/PID/map_files (the very
 * file, even deleted or in another mount namespace), else through the process's root, checked
 * to be the same inode. */
static int open_mapped(pid_t pid, const struct mapped *e)
{
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/map_files/%lx-%lx", (int)pid, (unsigned long)e->start,
	         (unsigned long)e->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, e->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) || st.st_ino != e->inode)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A 64-bit ELF file's headers and section names, read whole (section headers and names only). */
struct elf {
	int fd;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	char *names;
	size_t names_size;
};

static void elf_close(struct elf *e)
{
	free(e->sh);
	free(e->names);
}

static void *read_at(int fd, uint64_t offset, uint64_t size)
{
	if (size > (1u << 28))
		return NULL;
	void *p = malloc(size ? size : 1);
	if (p && pread(fd, p, size, (off_t)offset) != (ssize_t)size) {
		free(p);
		p = NULL;
	}
	return p;
}

static int elf_open(int fd, struct elf *e)
{
	memset(e, 0, sizeof *e);
	e->fd = fd;
	if (pread(fd, &e->eh, sizeof e->eh, 0) != sizeof e->eh || memcmp(e->eh.e_ident, ELFMAG, SELFMAG) ||
	    e->eh.e_ident[EI_CLASS] != ELFCLASS64 || e->eh.e_shentsize != sizeof(Elf64_Shdr) || !e->eh.e_shnum ||
	    e->eh.e_shstrndx >= e->eh.e_shnum)
		return -1;
	e->sh = read_at(fd, e->eh.e_shoff, (uint64_t)e->eh.e_shnum * sizeof(Elf64_Shdr));
	if (!e->sh)
		return -1;
	const Elf64_Shdr *s = &e->sh[e->eh.e_shstrndx];
	e->names = read_at(fd, s->sh_offset, s->sh_size);
	e->names_size = s->sh_size;
	if (!e->names) {
		elf_close(e);
		return -1;
	}
	return 0;
}

static const Elf64_Shdr *elf_section(const struct elf *e, const char *name)
{
	for (size_t i = 0; i < e->eh.e_shnum; i++)
		if (e->sh[i].sh_name < e->names_size &&
		    !strncmp(e->names + e->sh[i].sh_name, name, e->names_size - e->sh[i].sh_name) &&
		    e->sh[i].sh_type != SHT_NOBITS)
			return &e->sh[i];
	return NULL;
}

/* The value of symbol name defined in the section of type (SHT_DYNSYM or SHT_SYMTAB); for the
 * dynamic table, its default version (name@@VERSION: glibc exports dlopen@GLIBC_2.2.5 too, for
 * programs of before 2.34).  0 when found. */
static int elf_symbol(const struct elf *e, uint32_t type, const char *name, uint64_t *value)
{
	const Elf64_Shdr *tab = NULL, *versions = NULL;
	for (size_t i = 0; i < e->eh.e_shnum; i++) {
		if (e->sh[i].sh_type == type && !tab)
			tab = &e->sh[i];
		if (e->sh[i].sh_type == SHT_GNU_versym)
			versions = &e->sh[i];
	}
	if (!tab || tab->sh_link >= e->eh.e_shnum || tab->sh_entsize != sizeof(Elf64_Sym))
		return -1;
	const Elf64_Shdr *strs = &e->sh[tab->sh_link];
	Elf64_Sym *syms = read_at(e->fd, tab->sh_offset, tab->sh_size);
	char *str = read_at(e->fd, strs->sh_offset, strs->sh_size);
	uint16_t *ver = type == SHT_DYNSYM && versions ? read_at(e->fd, versions->sh_offset, versions->sh_size) : NULL;
	size_t count = tab->sh_size / sizeof(Elf64_Sym), len = strlen(name);
	int rc = -1;
	for (size_t i = 0; syms && str && i < count; i++) {
		const Elf64_Sym *s = &syms[i];
		if (s->st_shndx == SHN_UNDEF || s->st_name >= strs->sh_size || len >= strs->sh_size - s->st_name ||
		    memcmp(str + s->st_name, name, len + 1))
			continue;
		if (ver && i < versions->sh_size / 2 && (ver[i] & 0x8000))
			continue;  /* a hidden (non-default) version */
		*value = s->st_value;
		rc = 0;
		break;
	}
	free(syms);
	free(str);
	free(ver);
	return rc;
}

/* Where the file's addresses are in the process: the mapping of file offset 0 less the address
 * its first segment asked for (0 for a program linked at a fixed address). */
static int elf_bias(const struct elf *e, const struct mapped *m, uint64_t *bias)
{
	if (e->eh.e_type == ET_EXEC) {
		*bias = 0;
		return 0;
	}
	if (m->offset != 0 || e->eh.e_phentsize != sizeof(Elf64_Phdr))
		return -1;
	Elf64_Phdr *ph = read_at(e->fd, e->eh.e_phoff, (uint64_t)e->eh.e_phnum * sizeof(Elf64_Phdr));
	int rc = -1;
	for (size_t i = 0; ph && i < e->eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			*bias = m->start - (ph[i].p_vaddr & ~(uint64_t)0xfff);
			rc = 0;
			break;
		}
	free(ph);
	return rc;
}

/* Whether the metadata section names a function name (a NUL-terminated string of it, after
 * another string's NUL). */
static int meta_names(const struct elf *e, const Elf64_Shdr *meta, const char *name)
{
	char *bytes = read_at(e->fd, meta->sh_offset, meta->sh_size);
	if (!bytes)
		return 0;
	char needle[64];
	size_t len = (size_t)snprintf(needle, sizeof needle, "%c%s", 0, name) + 1;  /* with both NULs */
	int found = memmem(bytes, meta->sh_size, needle, len) != NULL;
	free(bytes);
	return found;
}

/* What the process's mapped files say: whether one of them is (or has linked in) the runtime,
 * whether one carries hotpatch metadata, and where dlopen and dlerror are. */
struct survey {
	int runtime, metadata;
	uint64_t dlopen, dlerror;
	char runtime_file[4096];
};

static int is_libc(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) || !strncmp(base, "libdl.so", 8) ||
	       !strncmp(base, "libdl-", 6) || !strncmp(base, "ld-musl-", 8);
}

static int survey(pid_t pid, struct survey *s)
{
	memset(s, 0, sizeof *s);
	struct mapped *m;
	size_t n;
	if (read_maps(pid, &m, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int fd = open_mapped(pid, &m[i]);
		struct elf e;
		if (fd < 0)
			continue;
		if (elf_open(fd, &e)) {
			close(fd);
			continue;
		}
		uint64_t v;
		/* The runtime defines these whether linked statically (the channel's constructor is always
		 * linked in) or loaded as libhotpatch.so (hp_control_enable is exported). */
		if (!s->runtime && (!elf_symbol(&e, SHT_DYNSYM, "hp_control_enable", &v) ||
		                    !elf_symbol(&e, SHT_SYMTAB, "hp_control_start", &v) ||
		                    !elf_symbol(&e, SHT_SYMTAB, "hp_control_enable", &v))) {
			s->runtime = 1;
			snprintf(s->runtime_file, sizeof s->runtime_file, "%s", m[i].path);
		}
		const Elf64_Shdr *meta = elf_section(&e, HP_META_SECTION);
		if (meta)
			s->metadata = 1;
		/* A stripped program linked with libhotpatch.a has no symbol table left, but the runtime
		 * was compiled with the plugin: its channel's constructor is named in the metadata's
		 * strings (the section survives strip). */
		if (meta && !s->runtime && meta_names(&e, meta, "hp_control_start")) {
			s->runtime = 1;
			snprintf(s->runtime_file, sizeof s->runtime_file, "%s", m[i].path);
		}
		uint64_t bias, open_at, error_at;
		if (!s->dlopen && is_libc(m[i].path) && !elf_symbol(&e, SHT_DYNSYM, "dlopen", &open_at) &&
		    !elf_symbol(&e, SHT_DYNSYM, "dlerror", &error_at) && !elf_bias(&e, &m[i], &bias)) {
			s->dlopen = bias + open_at;
			s->dlerror = bias + error_at;
		}
		elf_close(&e);
		close(fd);
	}
	free(m);
	return 0;
}

int hp_ctl_attachable(pid_t pid)
{
	struct survey s;
	return !survey(pid, &s) && s.metadata && !s.runtime;
}

#if HPCTL_STOP_WORLD
/* The runtime library to load: $HOTPATCH_RUNTIME, else the one installed beside hpctl (the
 * relative paths from bindir to libdir, installed and in the build tree, compiled in). */
static int runtime_path(char out[PATH_MAX])
{
	const char *env = getenv("HOTPATCH_RUNTIME");
	if (env && *env) {
		if (!realpath(env, out)) {
			hp_ctl_error("HOTPATCH_RUNTIME=%s: %s", env, strerror(errno));
			return -1;
		}
		return 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		hp_ctl_error("cannot find hpctl's own directory (/proc/self/exe): %s", strerror(errno));
		return -1;
	}
	self[n] = 0;
	*strrchr(self, '/') = 0;
	const char *candidates[] = { HOTPATCH_RUNTIME_INSTALLED, HOTPATCH_RUNTIME_BUILD };
	char tried[2 * PATH_MAX + 64] = "";
	for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
		char path[2 * PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", self, candidates[i]);
		if (realpath(path, out) && !access(out, R_OK))
			return 0;
		if (!i)
			snprintf(tried, sizeof tried, "%s", path);
	}
	hp_ctl_error("no hotpatch runtime to load: %s: %s (set HOTPATCH_RUNTIME to libhotpatch.so's path)", tried,
	             strerror(errno));
	return -1;
}

/* Whether process pid sees the files as hpctl does: the same mount namespace and root, and the
 * same user (another user may not be able to read hpctl's copy). */
static int same_view(pid_t pid)
{
	char path[64];
	struct stat a, b, c, d;
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	if (stat("/proc/self/ns/mnt", &a) || stat(path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/root/", (int)pid);
	if (stat("/", &c) || stat(path, &d) || c.st_ino != d.st_ino || c.st_dev != d.st_dev)
		return 0;
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	return !stat(path, &d) && d.st_uid == geteuid();
}

/* A copy of the library in the process's own file system: a new file (O_EXCL, a random name) in
 * its /tmp (else /var/tmp, /dev/shm: the first not mounted noexec, which dlopen could not map),
 * owned by hpctl's user (root, normally) and writable by nobody else.  Its path as the process
 * sees it in inside; the directory (to remove it from, in *dir) and its name in name. */
static int stage(pid_t pid, int src, char *inside, size_t size, int *dir, char *name, size_t name_size)
{
	char root[64];
	snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		hp_ctl_error("process %d: cannot reach its file system (%s): %s", (int)pid, root, strerror(errno));
		return -1;
	}
	static const char *const dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };
	int err = ENOENT;
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		/* Resolved inside the process's root: a link in a container's /tmp stays in it. */
		struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		int d = (int)syscall(SYS_openat2, rootfd, dirs[i], &how, sizeof how);
		if (d < 0) {
			err = errno;
			continue;
		}
		uint8_t r[8];
		if (getrandom(r, sizeof r, 0) != sizeof r) {
			err = errno;
			close(d);
			continue;
		}
		snprintf(name, name_size, "hotpatch-runtime-%02x%02x%02x%02x%02x%02x%02x%02x.so", r[0], r[1], r[2], r[3],
		         r[4], r[5], r[6], r[7]);
		int fd = openat(d, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		struct statvfs vfs;
		if (fd < 0 || fchmod(fd, 0644) || fstatvfs(fd, &vfs) || (vfs.f_flag & ST_NOEXEC)) {
			err = fd < 0 ? errno : (vfs.f_flag & ST_NOEXEC) ? EACCES : errno;
			if (fd >= 0) {
				close(fd);
				unlinkat(d, name, 0);
			}
			close(d);
			continue;
		}
		char buf[65536];
		ssize_t got;
		off_t at = 0;
		int ok = 1;
		while (ok && (got = pread(src, buf, sizeof buf, at)) > 0) {
			ok = write(fd, buf, (size_t)got) == got;
			at += got;
		}
		ok = ok && got == 0 && !close(fd);
		if (!ok) {
			err = errno;
			unlinkat(d, name, 0);
			close(d);
			continue;
		}
		close(rootfd);
		snprintf(inside, size, "%s/%s", dirs[i], name);
		*dir = d;
		return 0;
	}
	close(rootfd);
	hp_ctl_error("process %d: cannot put a copy of the runtime in its file system (/tmp, /var/tmp, /dev/shm: "
	             "%s)", (int)pid, strerror(err));
	return -1;
}

/* How good a thread is to call dlopen in, lower is better; NEVER for one it must not be called in.
 * dlopen takes malloc's lock and the loader's: a thread already holding one of them, called in,
 * waits for itself for ever.  So:
 *   WAITING  blocked waiting for input, a child, a signal (read, recv, accept, epoll_wait, poll
 *            or select with no timeout, pause, sigwait...): the thread is idle at the bottom of
 *            its loop and holds no lock of the allocator's or the loader's.
 *   FUTEX    waiting for a lock or a condition: it holds no lock it is waiting for, but may be in
 *            the middle of malloc or dlopen waiting for a second one (their locks are futexes).
 *   OTHER    any other system call (write, sendmsg, fsync...): it returns soon and is not one
 *            that malloc or the loader makes.
 *   SLEEP    a call the kernel restarts through the thread's one restart block (nanosleep, poll,
 *            a futex with a timeout): safe for the locks, but a sleep or timed wait inside the
 *            call may overwrite the block, and the program's own sleep then ends early with
 *            EINTR.  Only when nothing better turns up (see inject).
 *   NEVER    running its own code (it may be anywhere, inside malloc holding its lock), or in
 *            mmap, munmap, brk, mprotect, mremap, madvise: most likely inside malloc or the
 *            loader, holding theirs. */
enum { WAITING, FUTEX, OTHER, SLEEP, NEVER };

/* The system calls by name, as the processor numbers them (<sys/syscall.h>); the older calls
 * that only some processors have (poll, select, pause, epoll_wait: not AArch64's) where they
 * are.  epoll_pwait2 is 441 everywhere, and older headers do not name it. */
static int rank(long nr, int restart_block)
{
	static const long waiting[] = { SYS_read, SYS_pread64, SYS_readv, SYS_accept, SYS_recvfrom, SYS_recvmsg,
	                                SYS_wait4, SYS_rt_sigtimedwait, SYS_rt_sigsuspend, SYS_waitid,
	                                SYS_pselect6, SYS_ppoll, SYS_epoll_pwait, SYS_accept4, SYS_preadv,
	                                SYS_recvmmsg, 441 /* epoll_pwait2 */,
#ifdef SYS_poll
	                                SYS_poll, SYS_select, SYS_pause, SYS_epoll_wait,
#endif
	};
	static const long memory[] = { SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk, SYS_mremap, SYS_madvise };
	if (nr < 0)
		return NEVER;
	for (size_t i = 0; i < sizeof memory / sizeof *memory; i++)
		if (memory[i] == nr)
			return NEVER;
	if (restart_block)
		return SLEEP;
	for (size_t i = 0; i < sizeof waiting / sizeof *waiting; i++)
		if (waiting[i] == nr)
			return WAITING;
	return nr == SYS_futex ? FUTEX : OTHER;
}

/* A NUL-terminated string of the process's, at most size bytes. */
static void read_string(pid_t pid, uint64_t at, char *out, size_t size)
{
	struct iovec local = { out, size - 1 }, remote = { (void *)at, size - 1 };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	/* The string may end on a page before an unmapped one: read what is there. */
	for (size_t chunk = size - 1; n < 0 && chunk > 16; chunk /= 2) {
		local.iov_len = remote.iov_len = chunk;
		n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	}
	out[n > 0 ? n : 0] = 0;
	out[strnlen(out, size - 1)] = 0;
	hp_ctl_printable(out, strlen(out));
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Stops the world, checks again (under the stop) that the process has no runtime, and calls
 * dlopen(path) in the best thread (rank) while the others run.  When no thread is in a system
 * call it is safe to call in, the threads run on and hpctl tries again, a little later each time
 * (1 ms, doubling to 100 ms), for up to timeout_seconds; a thread in a sleep (SLEEP) is taken only
 * after SLEEP_GRACE_SECONDS, when nothing better turned up: most programs that sleep do nothing
 * else (a poll loop with a timeout, a worker that sleeps between rounds), and the runtime's own
 * constructors do not sleep, so a longer wait would only delay them (it once waited half the
 * timeout, 15 s, during which a short-lived program ended).  0, or an exit status (reported). */
#define SLEEP_GRACE_SECONDS 0.25
static int inject(pid_t pid, const char *path, double timeout_seconds)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double pause = 0.001;
	for (;;) {
		int denied = 0;
		char why[1024];
		struct hp_world *w = hp_world_stop(pid, 0, &denied, why, sizeof why);
		if (!w) {
			hp_ctl_error("cannot load the hotpatch runtime: %s", why);
			return denied ? HP_CTL_DENIED : HP_CTL_UNREACHABLE;
		}
		struct survey s;
		int rc = HP_CTL_OK;
		if (survey(pid, &s)) {
			hp_ctl_error("process %d: its maps are not ours to read", (int)pid);
			rc = HP_CTL_DENIED;
		} else if (s.runtime) {
			rc = -1;  /* another hpctl loaded it meanwhile: nothing to do */
		} else if (!s.dlopen) {
			hp_ctl_error("process %d: no dlopen in it (no libc.so.6 or libdl mapped: a static program?), so the "
			             "runtime cannot be loaded; link the program with libhotpatch", (int)pid);
			rc = HP_CTL_UNREACHABLE;
		}
		size_t best = 0, stopped = 0;
		int best_rank = NEVER;
		for (size_t i = 0; !rc && i < hp_world_count(w); i++) {
			uint64_t pc, sp, fp;
			if (hp_world_where(w, i, &pc, &sp, &fp))
				continue;  /* stopped by job control */
			stopped++;
			int r = rank(hp_world_syscall(w, i), hp_world_restart_block(w, i));
			if (r < best_rank) {
				best_rank = r;
				best = i;
			}
		}
		if (!rc && !stopped) {
			hp_ctl_error("process %d: no thread to load the runtime in (all are stopped by job control?)", (int)pid);
			rc = HP_CTL_UNREACHABLE;
		}
		double elapsed = seconds_since(&t0);
		if (!rc && (best_rank < SLEEP || (best_rank == SLEEP && elapsed >= SLEEP_GRACE_SECONDS))) {
			/* The others run meanwhile: one stopped holding malloc's or the loader's lock would
			 * hang dlopen, and the runtime's constructor starts its control thread, which must run. */
			hp_world_others_run(w, 1);
			uint64_t handle = 0, message = 0, open_args[2] = { HP_WORLD_DATA, RTLD_NOW };
			if (hp_world_call(w, best, s.dlopen, open_args, 2, path, strlen(path) + 1, NULL, timeout_seconds,
			                  &handle, why, sizeof why)) {
				hp_ctl_error("cannot load the hotpatch runtime: %s", why);
				rc = HP_CTL_UNREACHABLE;
			} else if (!handle) {
				char text[512] = "no reason given";
				if (!hp_world_call(w, best, s.dlerror, NULL, 0, NULL, 0, NULL, timeout_seconds, &message, why,
				                   sizeof why) && message)
					read_string(pid, message, text, sizeof text);
				hp_ctl_error("process %d: dlopen(%s) failed in it: %s", (int)pid, path, text);
				rc = HP_CTL_UNREACHABLE;
			}
			hp_world_resume(w);
			return rc;
		}
		hp_world_resume(w);
		if (rc)
			return rc;
		if (elapsed + pause > timeout_seconds) {
			hp_ctl_error("process %d: no thread was blocked in a system call where the runtime can be loaded "
			             "safely in %g s of tries (each was running its own code or allocating memory, perhaps "
			             "inside malloc, holding its lock); the process is unchanged: try again, or link the "
			             "program with libhotpatch", (int)pid, timeout_seconds);
			return HP_CTL_UNREACHABLE;
		}
		nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = (long)(pause * 1e9) }, NULL);
		pause = pause * 2 > 0.1 ? 0.1 : pause * 2;
	}
}

/* /proc would not show the process's files (another user's, or not dumpable).  A runtime's
 * socket where hpctl would look, or attaching not allowed: connecting says what is wrong.
 * Otherwise ptrace is what would be refused, and hp_world_stop says why, naming the setting. */
static int not_ours(pid_t pid, int allowed)
{
	char path[4200], line[256];
	long long uid[3] = { -1, -1, -1 };
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		sscanf(line, "Uid: %lld %lld %lld", &uid[0], &uid[1], &uid[2]);
	if (f)
		fclose(f);
	struct stat st;
	if (!allowed || uid[1] < 0 || (!hp_control_path(path, sizeof path, pid, (uid_t)uid[1]) && !lstat(path, &st)))
		return HP_CTL_OK;
	int denied = 0;
	char why[1024];
	struct hp_world *w = hp_world_stop(pid, 0, &denied, why, sizeof why);
	if (w) {
		hp_world_resume(w);
		return HP_CTL_OK;
	}
	if (!denied)
		return HP_CTL_OK;
	hp_ctl_error("cannot load the hotpatch runtime: %s", why);
	return HP_CTL_DENIED;
}
#else
/* Without the stopped world there is no ptrace refusal to name: connecting says what is wrong. */
static int not_ours(pid_t pid, int allowed)
{
	(void)pid;
	(void)allowed;
	return HP_CTL_OK;
}
#endif

int hp_ctl_attach(pid_t pid, int allowed, double timeout_seconds, enum hp_ctl_attach_outcome *outcome,
                  char *library, size_t size)
{
	struct survey s;
	*outcome = HP_ATTACH_NONE;
	if (survey(pid, &s))
		return not_ours(pid, allowed);
	if (s.runtime || hp_ctl_socket_state(pid) > 0) {
		*outcome = HP_ATTACH_PRESENT;
		return HP_CTL_OK;
	}
	if (!s.metadata)
		return HP_CTL_OK;
	if (!allowed) {
		hp_ctl_error("process %d has no hotpatch runtime: it was built with the hotpatch plugin but not linked "
		             "with libhotpatch, and --no-attach forbids loading it", (int)pid);
		return HP_CTL_UNREACHABLE;
	}
	/* A runtime that would not listen is not loaded: connecting says why there is none. */
	if (hp_ctl_channel_would_be_off(pid))
		return HP_CTL_OK;
	char state = hp_ctl_process_state(pid);
	if (hp_ctl_stopped(state)) {
		hp_ctl_error("process %d is stopped (state %c): continue it (kill -CONT %d) and try again", (int)pid,
		             state, (int)pid);
		return HP_CTL_UNREACHABLE;
	}
#if !HPCTL_STOP_WORLD
	(void)timeout_seconds;
	(void)library;
	(void)size;
	hp_ctl_error("process %d has no hotpatch runtime: it was built with the hotpatch plugin but not linked with "
	             "libhotpatch, and this hpctl cannot load one into it on %s (attaching stops its threads with "
	             "ptrace, not supported for the processor): link the program with libhotpatch", (int)pid,
	             HPCTL_PROCESSOR);
	return HP_CTL_UNSUPPORTED;
#else
	char own[PATH_MAX], inside[PATH_MAX], name[128];
	if (runtime_path(own))
		return HP_CTL_ERROR;
	int src = open(own, O_RDONLY | O_CLOEXEC), dir = -1;
	if (src < 0) {
		hp_ctl_error("%s: %s", own, strerror(errno));
		return HP_CTL_ERROR;
	}
	/* The file of the process's own, where it sees another file system or cannot read ours. */
	if (same_view(pid)) {
		snprintf(inside, sizeof inside, "%s", own);
	} else if (stage(pid, src, inside, sizeof inside, &dir, name, sizeof name)) {
		close(src);
		return HP_CTL_ERROR;
	}
	close(src);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rc = inject(pid, inside, timeout_seconds);
	if (dir >= 0) {
		unlinkat(dir, name, 0);  /* mapped now (or not wanted): the file itself is not needed */
		close(dir);
	}
	if (rc == -1) {
		*outcome = HP_ATTACH_PRESENT;
		return HP_CTL_OK;
	}
	if (rc)
		return rc;
	*outcome = HP_ATTACH_LOADED;
	snprintf(library, size, "%s", own);
	/* The runtime's constructor started its control thread, which binds and listens: wait for
	 * it (connecting then says why, if it never does: HOTPATCH_DISABLE=1, a seccomp filter...). */
	struct timespec deadline = start;
	deadline.tv_sec += (time_t)(timeout_seconds < 10 ? timeout_seconds : 10);
	struct timeval left;
	while (hp_ctl_socket_state(pid) != 1 && hp_ctl_time_left(&deadline, &left))
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	return HP_CTL_OK;
#endif
}

/* fault-shim.c — an LD_PRELOAD library for the runtime's tests: it stands between libhotpatch and
 * the calls it makes while applying and reverting (mmap, mprotect, open, pwrite, syscall for
 * membarrier, dl_iterate_phdr, dlsym, __register_frame, __deregister_frame), so that a test can
 *   - make one of them fail: HP_FAULT=CALL:N fails the Nth call of CALL made while armed, with
 *     the errno a real failure of it would have (mmap ENOMEM, mprotect ENOMEM, open EMFILE,
 *     pwrite ENOMEM, membarrier EINVAL; dl_iterate_phdr lists no module, dlsym finds nothing),
 *     or the one HP_FAULT_ERRNO gives (a number: 5 for EIO, how a kernel refuses a forced write);
 *   - count them: how many of each were made while armed;
 *   - play a host that forbids pages writable and executable (HP_FAULT_DENY_WX=1: mmap and
 *     mprotect with PROT_WRITE|PROT_EXEC fail with EACCES, as under SELinux deny_execmem or PaX
 *     MPROTECT) or one without a usable /proc/self/mem (HP_FAULT_NO_PROC_MEM=1: opening it fails
 *     with EACCES, as in a non-dumpable process);
 *   - watch the mappings (HP_FAULT_WATCH_WX=1): after every call above, armed or not, it reads
 *     /proc/self/maps and counts the mappings both writable and executable.  Every change of a
 *     mapping's protection is one of these calls, so every state the runtime leaves between two
 *     of them is seen, without sampling by time;
 *   - know which unwind tables are registered: every __register_frame and __deregister_frame the
 *     runtime makes (it finds them with dlsym, which finds these first) goes through here.
 * The test program arms it around hp_apply or hp_revert and reads the results through
 * hp_fault_*(), which it finds with dlsym.  The shim never allocates in the calls it stands in for. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { C_MMAP, C_MPROTECT, C_OPEN, C_PWRITE, C_MEMBARRIER, C_DL_ITERATE_PHDR, C_DLSYM, C_REGISTER, C_DEREGISTER, C_COUNT };
static const char *const names[C_COUNT] = { "mmap", "mprotect", "open", "pwrite", "membarrier", "dl_iterate_phdr",
	                                    "dlsym", "__register_frame", "__deregister_frame" };

static int armed, counts[C_COUNT];
static int fail_call = -1, fail_at, failed;  /* HP_FAULT; failed: the failure was injected */
static int fail_errno;                         /* HP_FAULT_ERRNO, 0: the call's own */
static int deny_wx, no_proc_mem, watch_wx, wx_seen;
static __thread int inside;  /* the shim's own calls pass straight through */

/* The calls themselves, found once. */
static void *(*real_dlsym)(void *, const char *);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_mprotect)(void *, size_t, int);
static int (*real_open)(const char *, int, ...);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static long (*real_syscall)(long, ...);
static int (*real_dl_iterate_phdr)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

static void *next(const char *name)
{
	if (!real_dlsym)
		real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
	if (!real_dlsym)
		real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	void *p = real_dlsym ? real_dlsym(RTLD_NEXT, name) : NULL;
	if (!p) {
		fprintf(stderr, "fault-shim: no %s after the shim\n", name);
		abort();
	}
	return p;
}

__attribute__((constructor)) static void init(void)
{
	real_mmap = next("mmap");
	real_mprotect = next("mprotect");
	real_open = next("open");
	real_pwrite = next("pwrite");
	real_syscall = next("syscall");
	real_dl_iterate_phdr = next("dl_iterate_phdr");
	const char *f = getenv("HP_FAULT");
	if (f && *f) {
		const char *colon = strchr(f, ':');
		for (int i = 0; i < C_COUNT && colon; i++)
			if (strlen(names[i]) == (size_t)(colon - f) && !strncmp(f, names[i], (size_t)(colon - f)))
				fail_call = i;
		fail_at = colon ? atoi(colon + 1) : 0;
		if (fail_call < 0 || fail_at < 1) {
			fprintf(stderr, "fault-shim: HP_FAULT=%s is not CALL:N with a known CALL\n", f);
			abort();
		}
	}
	fail_errno = getenv("HP_FAULT_ERRNO") ? atoi(getenv("HP_FAULT_ERRNO")) : 0;
	deny_wx = getenv("HP_FAULT_DENY_WX") && !strcmp(getenv("HP_FAULT_DENY_WX"), "1");
	no_proc_mem = getenv("HP_FAULT_NO_PROC_MEM") && !strcmp(getenv("HP_FAULT_NO_PROC_MEM"), "1");
	watch_wx = getenv("HP_FAULT_WATCH_WX") && !strcmp(getenv("HP_FAULT_WATCH_WX"), "1");
}

/* The errno of an injected failure: HP_FAULT_ERRNO, else the call's own. */
static int fault_errno(int own)
{
	return fail_errno > 0 ? fail_errno : own;
}

/* Counts a call made while armed; whether it is the one to fail. */
static int should_fail(int call)
{
	if (!armed || inside)
		return 0;
	counts[call]++;
	if (call == fail_call && counts[call] == fail_at) {
		failed = 1;
		return 1;
	}
	return 0;
}

/* Reads /proc/self/maps and counts the mappings writable and executable ("rwx" or "-wx"). */
static void watch(void)
{
	if (!watch_wx || inside)
		return;
	inside = 1;
	static char buf[1 << 17];
	int fd = real_open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;
	while (fd >= 0 && n < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
		n += r;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (char *line = buf; *line;) {
		char *sp = strchr(line, ' ');
		if (sp && sp[2] == 'w' && sp[3] == 'x')
			__atomic_add_fetch(&wx_seen, 1, __ATOMIC_RELAXED);
		char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : line + strlen(line);
	}
	inside = 0;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (should_fail(C_MMAP)) {
		errno = fault_errno(ENOMEM);
		return MAP_FAILED;
	}
	if (deny_wx && (prot & PROT_WRITE) && (prot & PROT_EXEC)) {
		errno = EACCES;
		return MAP_FAILED;
	}
	void *p = real_mmap(addr, len, prot, flags, fd, off);
	watch();
	return p;
}

int mprotect(void *addr, size_t len, int prot)
{
	if (should_fail(C_MPROTECT)) {
		errno = fault_errno(ENOMEM);
		return -1;
	}
	if (deny_wx && (prot & PROT_WRITE) && (prot & PROT_EXEC)) {
		errno = EACCES;
		return -1;
	}
	int rc = real_mprotect(addr, len, prot);
	watch();
	return rc;
}

static int open_any(const char *path, int flags, mode_t mode)
{
	if (should_fail(C_OPEN)) {
		errno = fault_errno(EMFILE);
		return -1;
	}
	if (no_proc_mem && !inside && !strcmp(path, "/proc/self/mem")) {
		errno = EACCES;
		return -1;
	}
	int fd = real_open(path, flags, mode);
	watch();
	return fd;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return open_any(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (should_fail(C_PWRITE)) {
		errno = fault_errno(ENOMEM);
		return -1;
	}
	ssize_t n = real_pwrite(fd, buf, len, off);
	watch();
	return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off) __attribute__((alias("pwrite")));

long syscall(long number, ...)
{
	va_list ap;
	va_start(ap, number);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_membarrier && should_fail(C_MEMBARRIER)) {
		errno = fault_errno(EINVAL);
		return -1;
	}
	long rc = real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (number == SYS_membarrier)
		watch();
	return rc;
}

int dl_iterate_phdr(int (*callback)(struct dl_phdr_info *, size_t, void *), void *data)
{
	if (should_fail(C_DL_ITERATE_PHDR))
		return 0;  /* as if no module were loaded: it cannot fail otherwise */
	return real_dl_iterate_phdr(callback, data);
}

void *dlsym(void *handle, const char *name)
{
	if (!real_dlsym)
		next("dlsym");
	if (should_fail(C_DLSYM))
		return NULL;
	/* The runtime looks for the unwinder's entry points in libgcc_s by handle when the process
	 * has not loaded it: it gets the shim's too, which pass them on. */
	if (!inside && (!strcmp(name, "__register_frame") || !strcmp(name, "__deregister_frame")))
		return real_dlsym(RTLD_DEFAULT, name);
	return real_dlsym(handle, name);
}

/* The unwind tables registered through the shim, in order; removed ones are taken out. */
static uintptr_t tables[256];
static int table_count;

static void (*unwinder(const char *name))(void *)
{
	void *f = real_dlsym(RTLD_NEXT, name);
	if (!f) {  /* a C program loads libgcc_s only when it first unwinds; the runtime does too */
		void *lib = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL);
		f = lib ? real_dlsym(lib, name) : NULL;
	}
	return (void (*)(void *))f;
}

void __register_frame(void *begin)
{
	should_fail(C_REGISTER);  /* counted: it returns nothing, so it cannot be made to fail */
	void (*f)(void *) = unwinder("__register_frame");
	if (!f)
		abort();
	f(begin);
	if (table_count < 256)
		tables[table_count++] = (uintptr_t)begin;
}

void __deregister_frame(void *begin)
{
	should_fail(C_DEREGISTER);
	void (*f)(void *) = unwinder("__deregister_frame");
	if (!f)
		abort();
	f(begin);
	for (int i = 0; i < table_count; i++)
		if (tables[i] == (uintptr_t)begin) {
			memmove(&tables[i], &tables[i + 1], (size_t)(table_count - i - 1) * sizeof *tables);
			table_count--;
			break;
		}
}

/* ---- for the test program (dlsym(RTLD_DEFAULT, "hp_fault_...")) ---------------------------- */

void hp_fault_arm(int on)
{
	armed = on;
}

/* Calls of that name made while armed; -1 for an unknown name. */
int hp_fault_count(const char *call)
{
	for (int i = 0; i < C_COUNT; i++)
		if (!strcmp(names[i], call))
			return counts[i];
	return -1;
}

void hp_fault_reset(void)
{
	memset(counts, 0, sizeof counts);
	failed = 0;
}

/* Whether the failure HP_FAULT asks for was injected. */
int hp_fault_injected(void)
{
	return failed;
}

int hp_fault_wx_seen(void)
{
	return wx_seen;
}

/* The registered tables (up to max), and how many there are. */
int hp_fault_unwind_tables(uintptr_t *out, int max)
{
	for (int i = 0; i < table_count && i < max; i++)
		out[i] = tables[i];
	return table_count;
}

const char *hp_fault_call_name(int i)
{
	return i >= 0 && i < C_COUNT ? names[i] : NULL;
}

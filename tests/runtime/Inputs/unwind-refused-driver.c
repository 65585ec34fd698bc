/* unwind-refused-driver.c — a test program's fixed part: applies a package of two modules (the
 * program, then libapp.so) that fails in the library after the program's module was mapped (the
 * second package named on its command line: the library's new code imports a symbol the process
 * lacks), then the first package while making the library's code writable is refused, so the
 * apply fails after the program's module was redirected; after each, counts the unwind tables the runtime left
 * registered (the program stands between the runtime and libgcc's __register_frame and
 * __deregister_frame, which it exports: link with -rdynamic), walks its stack with backtrace()
 * and _Unwind_Backtrace, and applies the package again with nothing refused. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unwind.h>
#include "hotpatch.h"
#include "apply_file.h"

int probe(void);

static int registered;             /* tables registered and not deregistered */
static uintptr_t lib_start, lib_end;
static int refuse_lib;

static void *libgcc(const char *name)
{
	void *lib = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL);
	return lib ? dlsym(lib, name) : NULL;
}

void __register_frame(void *table)
{
	registered++;
	((void (*)(void *))libgcc("__register_frame"))(table);
}

void __deregister_frame(void *table)
{
	registered--;
	((void (*)(void *))libgcc("__deregister_frame"))(table);
}

/* The runtime's ways of writing code (linked into this program): making it writable
 * (mprotect) and writing through /proc/self/mem (pwrite at the code's address), both refused
 * with EPERM for libapp.so's pages while refuse_lib is set, as a host that lets nothing change
 * that library's code would. */
int mprotect(void *at, size_t len, int prot)
{
	uintptr_t a = (uintptr_t)at;
	if (refuse_lib && (prot & PROT_WRITE) && a < lib_end && a + len > lib_start) {
		errno = EPERM;
		return -1;
	}
	return (int)syscall(SYS_mprotect, at, len, prot);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t at)
{
	if (refuse_lib && (uintptr_t)at < lib_end && (uintptr_t)at + len > lib_start) {
		errno = EPERM;
		return -1;
	}
	return (ssize_t)syscall(SYS_pwrite64, fd, buf, len, at);
}

static int find_lib(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size, (void)arg;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libapp.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			uintptr_t s = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr, e = s + info->dlpi_phdr[i].p_memsz;
			lib_start = !lib_start || s < lib_start ? s : lib_start;
			lib_end = e > lib_end ? e : lib_end;
		}
	return 1;
}

static _Unwind_Reason_Code count_frame(struct _Unwind_Context *ctx, void *arg)
{
	(void)ctx;
	++*(int *)arg;
	return _URC_NO_REASON;
}

/* Both walks must get from here to main and beyond without a fault. */
__attribute__((noinline)) static void walk(const char *when)
{
	void *frames[64];
	int n = backtrace(frames, 64), unwound = 0, main_seen = 0;
	_Unwind_Backtrace(count_frame, &unwound);
	for (int i = 0; i < n; i++) {
		Dl_info info;
		main_seen |= dladdr(frames[i], &info) && info.dli_sname && !strcmp(info.dli_sname, "main");
	}
	printf("%s: backtrace %s main, _Unwind_Backtrace %s\n", when, main_seen ? "reaches" : "misses",
	       unwound >= n && n > 1 ? "agrees" : "differs");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	dl_iterate_phdr(find_lib, NULL);
	printf("before %d\n", probe());
	if (argc > 2) {
		int id = apply_file(argv[2], "apply missing an import");
		printf("after apply missing an import: %d, unwind tables registered: %d\n", id < 0 ? probe() : -1,
		       registered);
		walk("after apply missing an import");
	}
	refuse_lib = 1;
	int id = apply_file(argv[1], "refused apply");
	refuse_lib = 0;
	printf("after refused apply: %d, unwind tables registered: %d\n", id < 0 ? probe() : -1, registered);
	walk("after refused apply");
	id = apply_file(argv[1], "apply");
	printf("applied %d: %d, unwind tables registered: %d\n", id, probe(), registered);
	walk("applied");
	printf("reverted %d: %d, unwind tables registered: %d\n", hp_revert(id), probe(), registered);
	walk("reverted");
	return 0;
}

/* dlclose-driver.c — a test program's fixed part: loads ./libplug.so (dlopen), applies the
 * package named on its command line (a fix to plug()), then either
 *   reload:  closes the library and opens it again, and says whether it stayed loaded, what
 *            plug() returns, what hp_status() lists, and what a second apply and a revert do;
 *   replace: puts a page of other bytes where plug()'s entry was (as if another library had
 *            been loaded at that address: no dlclose can do that to a pinned library), and says
 *            what a revert does to that page and what hp_status() lists then. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "hotpatch.h"
#include "apply_file.h"

static int (*load(void **lib))(void)
{
	*lib = dlopen("./libplug.so", RTLD_NOW);
	int (*plug)(void) = *lib ? (int (*)(void))dlsym(*lib, "plug") : NULL;
	if (!plug)
		printf("cannot load libplug.so: %s\n", dlerror());
	return plug;
}

static void status(const char *when)
{
	struct hp_patch_status st[4];
	int n = hp_status(st, 4);
	printf("%s: %d live", when, n);
	for (int i = 0; i < n && i < 4; i++)
		printf(" [patch %d, %s, %u functions]", st[i].id, strrchr(st[i].module, '/') + 1, st[i].functions);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	void *lib;
	int (*plug)(void) = load(&lib);
	if (!plug)
		return 1;
	printf("before %d\n", plug());
	int id = apply_file(argv[2], "apply");
	printf("applied %d: %d\n", id, plug());
	if (!strcmp(argv[1], "reload")) {
		dlclose(lib);
		void *still = dlopen("./libplug.so", RTLD_NOW | RTLD_NOLOAD);
		printf("after dlclose: %s\n", still ? "still loaded" : "unloaded");
		if (still)
			dlclose(still);
		if (!(plug = load(&lib)))
			return 1;
		printf("opened again: %d\n", plug());
		status("status");
		int again = apply_file(argv[2], "apply again");
		printf("applied again %d: %d\n", again, plug());
		int rc = hp_revert(again);
		printf("reverted %s: %d\n", rc ? hp_last_error() : "ok", plug());
		status("status");
		return 0;
	}
	/* A fresh page where plug()'s entry is, read+execute, full of 0x5a: the padding and entry
	 * the runtime redirected are not there any more. */
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t at = ((uintptr_t)plug - 8) & ~(page - 1);
	unsigned char *p = mmap((void *)at, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 0x5a, page);
	mprotect(p, page, PROT_READ | PROT_EXEC);
	int rc = hp_revert(id);
	printf("revert: %s: %s\n", rc ? hp_strerror(rc) : "ok", hp_last_error());
	size_t same = 0;
	while (same < page && p[same] == 0x5a)
		same++;
	printf("page %s\n", same == page ? "untouched" : "written");
	status("status");
	fflush(stdout);
	_exit(0);  /* the library's code on that page is gone: no destructors */
}

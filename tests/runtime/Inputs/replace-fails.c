/* replace-fails.c — a test program's fixed part: applies the first package named on its command
 * line, then forbids writing code (a seccomp filter: pwrite, which writes it through
 * /proc/self/mem, and mprotect to read+write+execute fail) and applies the second, which
 * replaces the first in both modules but must also redirect a function no patch redirects yet.
 * The second apply fails; probe() shows whether the first patch is still wholly in force, and
 * hp_status() what is live. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "hotpatch.h"
#include "apply_file.h"

int probe(void);


static int forbid_writable_code(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pwrite64, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_READ | PROT_WRITE | PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof filter / sizeof *filter, filter };
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	printf("before %d\n", probe());
	printf("first: patch %d\n", apply_file(argv[1], "apply"));
	printf("after first %d\n", probe());
	if (forbid_writable_code()) {
		perror("seccomp");
		return 1;
	}
	int id = apply_file(argv[2], "apply");
	printf("after failed second %d\n", id < 0 ? probe() : -1);
	struct hp_patch_status st[4];
	int live = hp_status(st, 4);
	printf("live: %d", live);
	for (int i = 0; i < live && i < 4; i++)
		printf(" [patch %d, %u functions]", st[i].id, st[i].functions);
	printf("\n");
	return 0;
}

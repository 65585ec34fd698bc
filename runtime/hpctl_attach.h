/* hpctl_attach.h — loading the hotpatch runtime into a running process that was built with the
 * plugin but never linked with libhotpatch (hpctl_attach.c), so that hpctl can then talk to it
 * over its control socket like to any other. */
#ifndef HPCTL_ATTACH_H
#define HPCTL_ATTACH_H

#include <stddef.h>
#include <sys/types.h>

/* What hp_ctl_attach found or did. */
enum hp_ctl_attach_outcome {
	HP_ATTACH_PRESENT,   /* the process has a runtime already (linked, or loaded before): nothing done */
	HP_ATTACH_NONE,      /* no hotpatch metadata in the process (or /proc would not tell): nothing done,
	                        connecting says why it cannot be patched */
	HP_ATTACH_LOADED,    /* the runtime was loaded, and listens */
};

/* Loads the runtime (HOTPATCH_RUNTIME, else the libhotpatch.so installed beside hpctl) into
 * process pid when it has none and carries hotpatch metadata (a .hotpatch section in its program
 * or a library it loaded); allowed 0 (--no-attach) refuses instead.  Returns 0 with *outcome set,
 * and the file loaded in library (size bytes) when it did; otherwise an exit status of
 * enum hp_ctl_exit, reported (a permission refusal is HP_CTL_DENIED). */
int hp_ctl_attach(pid_t pid, int allowed, double timeout_seconds, enum hp_ctl_attach_outcome *outcome,
                  char *library, size_t size);

/* Whether process pid carries hotpatch metadata and has no runtime: 1 yes, 0 no or unknown. */
int hp_ctl_attachable(pid_t pid);

#endif

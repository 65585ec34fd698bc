/* hpctl_safe.h — hpctl apply|revert --safe: a package is applied, or a patch reverted, only at a
 * moment when no thread of the process is inside code the switch takes out of use (hpctl_safe.c
 * says how, docs/design.md why). */
#ifndef HPCTL_SAFE_H
#define HPCTL_SAFE_H

#include <stddef.h>
#include <sys/types.h>

/* What the switch cost, for the operator and the benchmark. */
struct hp_ctl_switch {
	size_t threads;        /* stopped at the last attempt */
	unsigned attempts;     /* stops until the one that switched (or the last) */
	double stopped_ms;     /* how long the threads were stopped for the switch itself */
	double waited_ms;      /* from the first stop to the end */
};

/* Sends line to process pid's runtime at a moment when no thread but the runtime's own is inside
 * code the request takes out of use, nor inside the dynamic linker or the allocator; retries for
 * up to wait_seconds.  An apply ("apply\n", "apply-force\n") sends the package open as fd (named
 * package, for errors): the functions it redirects and the live patches it replaces are taken
 * out of use.  A revert ("revert ID\n", fd -1) takes the code of patch revert out of use
 * (INT_MAX: the newest).  Returns what hp_ctl_request returns (the reply in reply), or
 * HP_CTL_BUSY (reported, naming the thread and the function: the process is unchanged),
 * HP_CTL_DENIED when its threads may not be stopped, HP_CTL_ERROR. */
int hp_ctl_safe_request(pid_t pid, const char *line, int fd, const char *package, int revert, char *reply, size_t size,
                        double wait_seconds, double timeout_seconds, struct hp_ctl_switch *report);

/* Whether the package open as fd redirects an entry that only a stopped world may switch
 * (HP_REDIRECT_STOPPED_WORLD: code built with entry=padding-only): 1, 0, or -1 when it cannot be
 * read (the runtime will say why). */
int hp_ctl_package_needs_stopped_world(int fd);

#endif

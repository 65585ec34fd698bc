/* history.h — the process's patch history: every apply, replace, revert and refusal, kept in
 * memory for `hpctl status` (the control channel's "history" lines, control.h) and logged
 * through syslog, one line each.  Bounded: the newest HP_HISTORY_MAX events are kept; older ones
 * are dropped, oldest first (the syslog lines stay wherever the log daemon put them). */
#ifndef HP_HISTORY_H
#define HP_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define HP_HISTORY_MAX 128

enum hp_event_kind {
	HP_EVENT_APPLY,               /* a package applied to a module with no live patch */
	HP_EVENT_REPLACE,             /* applied over a live patch of the module, which it replaces */
	HP_EVENT_REVERT,              /* a live patch taken back */
	HP_EVENT_REFUSE,              /* an apply or a revert refused: nothing changed */
	HP_EVENT_START_APPLY,         /* a stored package (persist.h) applied as the process started */
	HP_EVENT_START_REFUSE,        /* a stored package refused as the process started */
};

/* Who asked: a hpctl client as the kernel names it (SO_PEERCRED), or the process itself (the C
 * API, and the stored packages applied at start). */
struct hp_requester {
	uid_t uid;
	pid_t pid;
	int at_start;                 /* applying stored packages at start: start-apply, start-refuse */
	const char *source;           /* a stored package's file, for the detail; NULL: none */
};

struct hp_event {
	time_t time;
	int kind;                     /* enum hp_event_kind */
	int patch;                    /* the patch applied, replaced or reverted; 0: none (refusals) */
	uid_t uid;
	pid_t pid;
	uint32_t sequence;            /* of the package (0: it has none) */
	uint8_t checksum[16];         /* of the package; for a package that does not read, what its
	                                 header claims (zeros when too short to have one) */
	char signer[128];             /* who signed the package; "": unsigned, or not known */
	char module[256];             /* the module's path in this process; "": not one module */
	char detail[400];             /* one line: what happened, or why it was refused */
	int replaced;                 /* REPLACE: the patch it replaced, and that one's sequence */
	uint32_t replaced_sequence;
};

/* The requester for a call made by the process itself (the C API). */
struct hp_requester hp_requester_self(void);

/* Records an event (time set here) and logs it through syslog. */
void hp_history_add(struct hp_event *event);

/* Copies up to max events, oldest first; returns how many there are.  *dropped (unless NULL)
 * gets how many older events were dropped to keep the bound. */
size_t hp_history_copy(struct hp_event *out, size_t max, unsigned long *dropped);

/* The event's word: "apply", "replace", "revert", "refuse", "start-apply", "start-refuse". */
const char *hp_event_word(int kind);

/* The history line of an event, without its newline: "history TIME EVENT PATCH UID PID SEQUENCE
 * CHECKSUM SIGNER MODULE<tab>DETAIL" (control.h).  Returns its length, or -1 if it does not fit. */
int hp_history_line(const struct hp_event *event, char *out, size_t size);

/* hotpatch.c's hp_apply_ex and hp_revert for a requester other than the process itself:
 * control.c's clients, and the stored packages applied at start (persist.c). */
struct hp_module_result;
int hp_apply_as(const void *package, size_t size, unsigned flags, const struct hp_requester *who,
                struct hp_module_result *results, size_t max, size_t *result_count);
int hp_revert_as(int id, const struct hp_requester *who);

/* A stopped world, as the caller of hp_apply_world promises it.  confirm, when not NULL, is
 * called once every check has passed and the new code is mapped, right before the first site is
 * written: it returns 0 when the world is still stopped (the safe switch's hpctl still holds it,
 * control.c asks it), and anything else to give up, nothing written.  switched, when not NULL,
 * is called once every site is written, before the rest of the apply (keeping patched libraries
 * loaded, registering unwind tables), which takes locks a stopped thread may hold: the world
 * may then run on. */
struct hp_stopped_world {
	int (*confirm)(void *arg);
	void (*switched)(void *arg);
	void *arg;
};

/* hp_apply_as (which is this with stopped NULL), for an apply made in a stopped world (hpctl
 * apply --safe, control.h's "stopped" requests; a process's stored packages applied at start
 * while it has one thread): the only apply that may redirect a site whose first instruction is
 * shorter than the site (contract/site.h, needs_stopped_world; packages mark its redirect
 * HP_REDIRECT_STOPPED_WORLD), which code built with -fplugin-arg-hotpatch-entry=padding-only has.
 * Without a stopped world such an apply is refused (HP_E_STOPPED_WORLD), nothing written.
 * Replacing a live patch only retargets the sites both redirect, and giving a site its bytes
 * back is one atomic store over the short jump (hotpatch.c, verify_module): neither needs it.
 *
 * stopped is the caller's promise, which the runtime cannot check: while the call runs, every
 * thread of the process but the calling one is stopped, and no thread, once it runs on,
 * continues strictly inside a site the call redirects (past the site's first byte and before its
 * end: on x86-64, entry + site offset + 1).  That covers the address each stopped thread resumes
 * at, the one the calling thread goes back to if it was interrupted to make the call, and any
 * address a thread returns to without passing the entry again: a thread stopped in a signal
 * handler that interrupted it there would resume inside the new jump at sigreturn.  hpctl's safe
 * switch keeps every frame of every thread, signal frames included, out of the functions the
 * package redirects, which covers all of it; its confirm makes sure the sites are written before
 * it lets the threads go, not after. */
int hp_apply_world(const void *package, size_t size, unsigned flags, const struct hp_requester *who,
                   const struct hp_stopped_world *stopped, struct hp_module_result *results, size_t max,
                   size_t *result_count);

#endif

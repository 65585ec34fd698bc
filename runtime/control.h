/* control.h — the control channel between hpctl and the runtime in a process: where its socket
 * lives and what is said on it.  Shared by runtime/control.c (server) and hpctl (client:
 * hpctl.c and hpctl_connect.c).
 *
 * The socket is DIR/PID.sock, DIR being $HOTPATCH_SOCKET_DIR (ignored in a setuid program), else
 * /run/user/UID/hotpatch when /run/user/UID exists, else /tmp/hotpatch-UID, UID the effective
 * uid; DIR is created mode 0700 and must belong to UID.  When it is there but not so (another
 * user made it first, or it is a link), the runtime says so on stderr and uses a fresh
 * /tmp/hotpatch-UID.XXXXXX instead (mkdtemp: nobody can have made it first), which hpctl finds
 * through /proc like any other.  No channel at fork, nor in a secure-execution (AT_SECURE)
 * process, until the program calls hp_control_enable().  One request per connection, one line of
 * text; apply sends the package as a file descriptor (SCM_RIGHTS) with its line.  Replies end
 * with a line "ok ..." or "error ...":
 *
 *   apply\n            MODULE lines, REPLACE lines, then ok ID    | error CODE MESSAGE
 *   apply-force\n      the same, applied even over a live patch with a higher sequence number
 *                      (without it, that is error 10: HP_E_DOWNGRADE)
 *   stopped apply\n    (and stopped apply-force\n) the same, from a client that has stopped
 *                      every other thread and checked that none is inside a function the
 *                      package redirects (hpctl --safe): only then may the runtime redirect an
 *                      entry that needs a stopped world (history.h, hp_apply_world).  Right
 *                      before it writes the first site the runtime says "ready\n", and goes on
 *                      only when the client answers "go\n" within HP_CONTROL_HOLD_MS (it still
 *                      holds the threads); otherwise error 12, nothing written.  Once every site is
 *                      written it says "switched\n" (the threads may run on), then the reply
 *   revert ID\n        ok                          | error CODE MESSAGE
 *   status\n           patch ID APPLIED FUNCTIONS BUILD-ID CHECKSUM MODULE  (one per live
 *                      patch and module, APPLIED in seconds since the epoch), each followed
 *                      by CODE, then thread TID (the thread serving this channel), then the
 *                      MODULE lines of skipped modules, then HISTORY lines (oldest first),
 *                      then POLICY, then ok COUNT
 *
 * MODULE: "module ID STATE FUNCTIONS NAME<tab>PATH", STATE "applied" or "skipped" (not loaded
 * in the process: PATH empty), NAME the module's name in the package.
 * CODE: "code ID BUILD-ID START END": the addresses [START, END) (0x hex) of the mapping the
 * patch's new code for that module runs from.  With TID, what hpctl's safe switch needs: the
 * thread it must leave running, and the code a package replacing the patch takes out of use.
 * POLICY: which packages the process applies (runtime/trust.h): "policy unsigned-accepted",
 * "policy signed-by N KEYID..." (N trusted keys, each id 16 hex digits), or "policy refuses-all
 * REASON" (the policy cannot be read, so no package is applied).
 *
 * REPLACE: "replace ID OLD-ID SEQUENCE OLD-SEQUENCE MODULE": in MODULE (its path here) patch ID,
 * of that sequence, replaced live patch OLD-ID ("patch 3 replaces patch 2"); sequence 0: none.
 *
 * HISTORY: "history TIME EVENT PATCH UID PID SEQUENCE CHECKSUM SIGNER MODULE<tab>DETAIL", one per
 * event the process keeps (history.h: the newest 128), TIME in seconds since the epoch, EVENT
 * one of apply replace revert refuse start-apply start-refuse, PATCH 0 for a refused apply,
 * UID and PID the requester's (SO_PEERCRED; the process's own for the C API and at start),
 * CHECKSUM 32 hex digits, SIGNER and MODULE "-" when none, DETAIL one line of text. *
 * A client must send its request within a few seconds of connecting (control.c); a request
 * whose client has hung up by the time the runtime reads it is not carried out.
 *
 * hpctl finds the socket through the process itself (/proc/PID/fd and /proc/PID/net/unix) and
 * reaches it in the process's mount namespace (/proc/PID/root): hpctl_connect.c says why. */
#ifndef HP_CONTROL_H
#define HP_CONTROL_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define HP_CONTROL_MAX_REPLY 262144 /* a status listing of every live patch and the history fits */
#define HP_PID_MAX 4194304          /* the kernel's PID_MAX_LIMIT: no process id is larger */
#define HP_CONTROL_HOLD_MS 2000     /* a stopped apply: how long hpctl holds the threads for the
                                       runtime's "ready", and the runtime waits for its "go" */

/* Reads a decimal number from s into *out, refusing anything outside [min, max] (never wrapped:
 * "revert 4294967297" is not patch 1).  Digits only, with a '-' first when min is negative: no
 * space, no '+', no other base.  With end NULL the number must be the whole of s; otherwise
 * *end is set after its last digit.  Returns 0, or -1 when s does not start with such a number.
 * Every number the runtime or hpctl reads from outside (the command line, a request, a reply,
 * /proc) goes through here. */
static inline int hp_parse_number(const char *s, const char **end, long long min, long long max, long long *out)
{
	int negative = *s == '-' && min < 0;
	const char *p = s + negative;
	unsigned long long limit = negative ? (unsigned long long)-(min + 1) + 1 : (unsigned long long)(max < 0 ? 0 : max);
	unsigned long long value = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (digit > limit || value > (limit - digit) / 10)
			return -1;  /* past the limit: also before it could overflow */
		value = value * 10 + digit;
	}
	if (end)
		*end = p;
	else if (*p)
		return -1;
	long long v = negative ? (value ? -(long long)(value - 1) - 1 : 0) : (long long)value;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The socket directory for uid; returns 0, or -1 if the path does not fit. */
static inline int hp_control_dir(char *out, size_t size, uid_t uid)
{
	/* Not in a setuid program: its caller's environment must not place root's socket. */
	const char *env = secure_getenv("HOTPATCH_SOCKET_DIR");
	char run[64];
	snprintf(run, sizeof run, "/run/user/%u", (unsigned)uid);
	int n = env && *env ? snprintf(out, size, "%s", env) :
	        access(run, F_OK) == 0 ? snprintf(out, size, "%s/hotpatch", run) :
	                                 snprintf(out, size, "/tmp/hotpatch-%u", (unsigned)uid);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* The socket path of process pid, owned by uid; returns 0, or -1 if it does not fit. */
static inline int hp_control_path(char *out, size_t size, pid_t pid, uid_t uid)
{
	char dir[200];
	if (hp_control_dir(dir, sizeof dir, uid))
		return -1;
	int n = snprintf(out, size, "%s/%d.sock", dir, (int)pid);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

#endif

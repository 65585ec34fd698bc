/* hpctl.h — hpctl's parts: hpctl_connect.c finds a process's control socket (through /proc/PID,
 * in the process's own mount and pid namespaces) and connects to it after checking who owns it
 * and who serves it; hpctl_fleet.c finds every running process of one build (for --all) and
 * reads build-ids from ELF files; hpctl_reply.c sends one request and parses the reply's lines;
 * hpctl_persist.c stores and removes the packages a process's runtime applies when it starts;
 * hpctl.c is the command-line tool, which sends one request per process, prints the answer and
 * chooses the exit status. */
#ifndef HP_HPCTL_H
#define HP_HPCTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

/* hpctl's exit statuses, for scripts.  What each means, and its word in --json, is one table in
 * hpctl.c (exit_table), which --help and hpctl(1) follow; with several processes (--all) the
 * status is the highest of theirs. */
enum hp_ctl_exit {
	HP_CTL_OK = 0,          /* applied, reverted, listed, removed */
	HP_CTL_ERROR = 1,       /* usage, or hpctl's own part failed (a package file, persisting, a reply) */
	HP_CTL_REFUSED = 2,     /* the process refused the request (package, code, no such patch, ...) */
	HP_CTL_NOT_BUILD = 3,   /* not this build: none of the package's modules; no process; nothing stored */
	HP_CTL_UNREACHABLE = 4, /* no runtime to talk to: no process, stopped, no channel, untrusted socket */
	HP_CTL_DENIED = 5,      /* permission denied */
	HP_CTL_UNKNOWN = 6,     /* timeout: no whole answer; for apply and revert the outcome is unknown */
	HP_CTL_BUSY = 7,        /* --safe: a thread stayed inside code the package replaces; unchanged */
	HP_CTL_VETOED = 8,      /* a state hook of the package vetoed the apply or revert; unchanged */
	HP_CTL_UNSUPPORTED = 9, /* this hpctl was built without what the request needs (--safe, attaching:
	                           HPCTL_STOP_WORLD, HPCTL_SAFE_SWITCH below); nothing was sent */
};

/* What this hpctl was built with (runtime/CMakeLists.txt decides, per target processor):
 * HPCTL_STOP_WORLD, stopping a process's threads with ptrace (hpctl_world.c, which has registers
 * for some processors only), which attaching a runtime (hpctl_attach.c) and the safe switch need;
 * HPCTL_SAFE_SWITCH, the safe switch (hpctl_safe.c), which also unwinds the stopped threads with
 * elfutils' libdw.  HPCTL_PROCESSOR names the processor, for the refusals. */
#ifndef HPCTL_STOP_WORLD
#error "hpctl.h: HPCTL_STOP_WORLD must be defined (0 or 1) by the build"
#endif
#ifndef HPCTL_SAFE_SWITCH
#error "hpctl.h: HPCTL_SAFE_SWITCH must be defined (0 or 1) by the build"
#endif
#ifndef HPCTL_PROCESSOR
#error "hpctl.h: HPCTL_PROCESSOR must be defined by the build"
#endif

/* Says "hpctl: MESSAGE" on stderr (one line) and keeps MESSAGE as the last error, which --json
 * output carries. */
void hp_ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern char hp_ctl_last_error[1024];

/* Connects to process pid's control socket by deadline (timeout_seconds, the whole allowance,
 * is for messages); returns the socket, or -(enum hp_ctl_exit) after saying why. */
int hp_ctl_connect(pid_t pid, const struct timespec *deadline, double timeout_seconds);

/* Whether process pid has a hotpatch socket: 1 listening, 2 bound but not listening yet (the
 * runtime starting), 0 none, -1 when /proc would not tell (not ours to read). */
int hp_ctl_socket_state(pid_t pid);

/* Whether a runtime in process pid would start no channel of itself: a secure-execution process
 * (setuid, setgid, file capabilities), or one started with HOTPATCH_DISABLE=1. */
int hp_ctl_channel_would_be_off(pid_t pid);

/* The process's state letter from /proc/PID/stat (T stopped, t traced, Z zombie ...); 0 when
 * /proc does not tell; R when this hpctl is its tracer (it stopped it itself). */
char hp_ctl_process_state(pid_t pid);

/* Whether that state is a stopped process's, which cannot answer. */
int hp_ctl_stopped(char state);

/* The time left until deadline, as a socket timeout; 0 when none is left. */
int hp_ctl_time_left(const struct timespec *deadline, struct timeval *left);

/* Whether a socket call's errno means it ran out of time. */
int hp_ctl_timed_out(int error);

/* Replaces the control characters of n bytes the process sent (but line breaks and tabs) by '?'. */
void hp_ctl_printable(char *s, size_t n);

/* hpctl_fleet.c.  A build, as --all names it: an executable or library file (its inode, and its
 * build-id when it has one), or a build-id in hex. */
struct hp_ctl_build {
	int has_file;
	dev_t dev;
	ino_t ino;
	uint8_t build_id[32];
	size_t build_id_size;           /* 0: the file has none */
};

/* Reads "EXECUTABLE|BUILD-ID" into *b; -1 (reported) when it is neither. */
int hp_ctl_build_parse(const char *arg, struct hp_ctl_build *b);

/* Reads hex (2 to 64 digits, even) into out; returns the byte count, or 0 when it is not. */
size_t hp_ctl_hex_parse(const char *hex, uint8_t out[32]);

/* The GNU build-id of the 64-bit ELF file open as fd; its size, or 0 when it has none. */
size_t hp_ctl_file_build_id(int fd, uint8_t out[32]);

/* Every process (but hpctl) that has b's file or build-id mapped, main program or library, in
 * ascending pid order: a malloc'd array in *pids (the caller frees it); -1 (reported) when /proc
 * cannot be read. */
int hp_ctl_find_processes(const struct hp_ctl_build *b, pid_t **pids, size_t *count);

/* The distinct build-ids of the files process pid has mapped (main program first), up to max;
 * returns how many, or -1 when its maps cannot be read. */
int hp_ctl_process_build_ids(pid_t pid, uint8_t ids[][32], size_t sizes[], int max);

/* hpctl_persist.c.  The package hpctl was given, open as fd, read whole from its start (at most
 * 1 GiB) and decoded without its signature trailer (the runtime checks that): *package points
 * into *bytes, *size the file's size; free them with hp_package_free and free.  0, or -1 with a
 * one-line reason in why. */
struct hp_package;
int hp_ctl_package_read(int fd, uint8_t **bytes, size_t *size, struct hp_package **package, char *why,
                        size_t why_size);

/* The persist directory's base: $HOTPATCH_PERSIST_DIR, else /var/lib/hotpatch. */
const char *hp_ctl_persist_base(void);

/* One file stored for the runtime to apply at start. */
struct hp_ctl_persisted {
	char build_id[65];
	char path[4200];
};

/* Stores the package read from fd (already applied to process pid) once per module build-id it
 * names, as BASE/BUILD-ID/SEQUENCE-CHECKSUM.hp, owned by the process's effective uid when hpctl
 * runs as root; up to max entries in out; returns how many, or -1 (reported). */
int hp_ctl_persist(int fd, const char *package_name, pid_t pid, struct hp_ctl_persisted *out, int max);

/* Removes what is stored for build-id hex (all of it, or the file of checksum hex when not NULL),
 * printing each path removed (or collecting them for --json); returns how many were removed, or
 * -1 (reported). */
int hp_ctl_unpersist(const char *build_id, const char *checksum, struct hp_ctl_persisted *out, int max);

/* hpctl_reply.c.  Sends line (with fd, if >= 0) to process pid and collects the whole reply,
 * all within timeout_seconds.  Returns 0, or an exit status (reported): HP_CTL_UNKNOWN when no
 * whole answer came in time; unknown says what may or may not have happened then ("whether the
 * package was applied"), NULL for a request that changes nothing. */
int hp_ctl_request(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown,
                   double timeout_seconds);

/* hp_ctl_request for a stopped apply (control.h): the runtime's "ready", right before it writes
 * the first site, is answered "go" only before until, while hpctl still holds the threads
 * (otherwise hpctl hangs up, the runtime writes nothing, and the result is HP_CTL_BUSY); its
 * "switched", once every site is written, calls switched(arg), which lets the threads go. */
struct hp_ctl_gate {
	struct timespec until;
	void (*switched)(void *arg);
	void *arg;
	int asked, done;               /* "go" sent; "switched" heard */
};
int hp_ctl_request_stopped(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown,
                           double timeout_seconds, struct hp_ctl_gate *gate);

/* The reply's last line: "ok ..." or "error CODE MESSAGE" (the reply's end is trimmed). */
const char *hp_ctl_last_line(char *reply);

/* A "module ID STATE FUNCTIONS NAME<tab>PATH" line (control.h); 0 when it is one. */
struct hp_ctl_module {
	int id, applied;
	unsigned functions;
	char name[512], path[512];
};

/* A "history TIME EVENT PATCH UID PID SEQUENCE CHECKSUM SIGNER MODULE<tab>DETAIL" line of a
 * status reply (control.h): one event of the process's history, SIGNER and MODULE "-" when
 * there is none; 0 when it is one. */
struct hp_ctl_history {
	long long time, patch, uid, pid, sequence;
	char event[32], checksum[33], signer[256], module[512], detail[1024];
};

int hp_ctl_parse_module(const char *line, struct hp_ctl_module *m);
int hp_ctl_parse_history(const char *line, struct hp_ctl_history *h);

/* A "patch ID APPLIED FUNCTIONS BUILD-ID CHECKSUM MODULE" line (control.h); 0 when it is one. */
int hp_ctl_parse_patch(const char *line, int *id, long long *applied, unsigned *functions, char build_id[65],
                       char sum[33], char module[512]);

#endif

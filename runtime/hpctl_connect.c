/* hpctl_connect.c — how hpctl reaches the runtime in a process (hpctl.h): whether the process
 * exists and can answer, where its control socket is (asked of the process itself through
 * /proc/PID, since it may have switched user or live in another mount or pid namespace), and a
 * connection to it that goes only through an owner-only directory, never through a link, to the
 * process that was asked for. */
#define _GNU_SOURCE
#include "hpctl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "hpctl_attach.h"

/* The real, effective and saved uid of a process, from /proc/PID/status (the owner of /proc/PID
 * is root for a process that is not dumpable).  The runtime names its directory after the
 * effective uid it started with: a setuid program's is not its real uid, and it may since
 * have swapped the two. */
/* The numbers of a "Name:\tN\tN..." line of /proc/PID/status: up to n of them into out, each in
 * [0, max]; returns how many were read, or -1 when the line is not there or a number is not. */
static int status_numbers(pid_t pid, const char *name, long long max, long long *out, int n)
{
	char path[64], line[512];
	size_t len = strlen(name);
	int count = -1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && count < 0 && fgets(line, sizeof line, f)) {
		if (strncmp(line, name, len) || line[len] != ':')
			continue;
		const char *p = line + len + 1;
		for (count = 0; count < n; count++) {
			p += strspn(p, " \t");
			if (*p == '\n' || !*p)
				break;
			if (hp_parse_number(p, &p, 0, max, &out[count])) {
				count = -1;
				break;
			}
		}
		if (count < 0)
			break;
	}
	if (f)
		fclose(f);
	return count;
}

static int process_uid(pid_t pid, uid_t uid[3])
{
	long long ids[3];
	if (status_numbers(pid, "Uid", UINT_MAX, ids, 3) != 3)
		return -1;
	for (int i = 0; i < 3; i++)
		uid[i] = (uid_t)ids[i];
	return 0;
}

/* A stopped process (SIGSTOP, Ctrl-Z, a debugger at a breakpoint) cannot answer: its control
 * thread is stopped with it.  Its state is the letter after the command name in /proc/PID/stat
 * (T stopped, t traced); the name is in parentheses and may hold any character, so the state is
 * read after the last ')'.  0 when /proc does not tell.  A process this hpctl has stopped itself
 * (the safe switch, hpctl_safe.c) reads as running: its runtime's thread was left to run, and
 * an answer given after hpctl stopped waiting would be one given with the threads running. */
char hp_ctl_process_state(pid_t pid)
{
	long long tracer;
	if (status_numbers(pid, "TracerPid", HP_PID_MAX, &tracer, 1) == 1 && tracer == getpid())
		return 'R';
	char path[64], stat[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, stat, sizeof stat - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	stat[n] = 0;
	const char *paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

int hp_ctl_stopped(char state)
{
	return state == 'T' || state == 't';
}

/* Returns 0 when the process may answer (or /proc does not tell: connecting will), -1
 * (reported) when it cannot. */
static int check_running(pid_t pid)
{
	char state = hp_ctl_process_state(pid);
	if (hp_ctl_stopped(state)) {
		hp_ctl_error("process %d is stopped (state %c): continue it (kill -CONT %d) and try again\n",
		        (int)pid, state, (int)pid);
		return -1;
	}
	if (state == 'Z' || state == 'X') {
		hp_ctl_error("process %d has exited (state %c)\n", (int)pid, state);
		return -1;
	}
	return 0;
}

/* The time left until deadline as a socket timeout; 0 when none is left. */
int hp_ctl_time_left(const struct timespec *deadline, struct timeval *left)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long us = (long long)(deadline->tv_sec - now.tv_sec) * 1000000 + (deadline->tv_nsec - now.tv_nsec) / 1000;
	if (us <= 0)
		return 0;
	left->tv_sec = (time_t)(us / 1000000);
	left->tv_usec = (suseconds_t)(us % 1000000);
	return 1;
}

/* Gives socket s what is left of the time as its send and receive timeouts; 0 when none is. */
static int arm(int s, const struct timespec *deadline)
{
	struct timeval left;
	if (!hp_ctl_time_left(deadline, &left))
		return 0;
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &left, sizeof left);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &left, sizeof left);
	return 1;
}

int hp_ctl_timed_out(int error)
{
	return error == EAGAIN || error == EWOULDBLOCK || error == EINPROGRESS || error == ETIMEDOUT;
}

/* Finding the socket.  The runtime binds DIR/PID.sock when it starts (and in each forked child),
 * DIR depending on the user it ran as then and on what /run and /tmp were in its mount namespace
 * then.  Since, it may have switched user (servers that start as root and setuid()), or it may
 * live in another mount namespace (systemd's PrivateTmp=, containers): computing DIR here from its
 * current uid would miss it.  So the process itself is asked, through /proc: among its open
 * files (/proc/PID/fd) is a listening socket whose inode /proc/PID/net/unix lists with the path it
 * was bound to; that path is then resolved in the process's own mount namespace, through
 * /proc/PID/root.  Only when /proc does not tell (another user's process: not ours to read) is
 * the directory computed as the runtime would.
 *
 * Abstract sockets (no file) would be reachable from any mount namespace too, but they are
 * shared by a whole network namespace with no file permissions: any local user could bind the
 * name first or connect to it, leaving SO_PEERCRED as the only guard.  A file in an owner-only
 * directory keeps the kernel's permission check in front of the runtime's own. */

/* The inodes of the sockets process pid has open; -1 (errno set) when /proc does not tell us. */
static int socket_inodes(pid_t pid, unsigned long **out, size_t *count)
{
	char path[64], link[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	size_t n = 0, cap = 0;
	unsigned long *inodes = NULL;
	for (struct dirent *e; (e = readdir(d));) {
		char fd_path[300];
		unsigned long inode;
		snprintf(fd_path, sizeof fd_path, "%s/%s", path, e->d_name);
		ssize_t len = readlink(fd_path, link, sizeof link - 1);
		if (len < 0 && (errno == EACCES || errno == EPERM)) {  /* listed, but not ours to read */
			closedir(d);
			free(inodes);
			errno = EACCES;
			return -1;
		}
		if (len <= 0)
			continue;
		link[len] = 0;
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			unsigned long *grown = realloc(inodes, cap * sizeof *grown);
			if (!grown)
				break;
			inodes = grown;
		}
		inodes[n++] = inode;
	}
	closedir(d);
	*out = inodes;
	*count = n;
	return 0;
}

/* The pid process pid has in its own pid namespace (the last of NSpid), which need not be ours:
 * the runtime names its socket with it. */
static long own_pid(pid_t pid)
{
	long long ids[32];  /* one per nested pid namespace: the kernel allows 32 */
	int n = status_numbers(pid, "NSpid", HP_PID_MAX, ids, 32);
	return n > 0 ? (long)ids[n - 1] : (long)pid;
}

/* "123.sock": the name the runtime gives its socket; -1 for any other name.  The process chose
 * the name it bound: a number out of range is no pid. */
static long socket_name_pid(const char *path)
{
	const char *base = strrchr(path, '/'), *end;
	long long n;
	base = base ? base + 1 : path;
	return hp_parse_number(base, &end, 1, HP_PID_MAX, &n) || strcmp(end, ".sock") ? -1 : (long)n;
}

/* What the process sent is shown on root's terminal: its control characters (escape sequences
 * that retitle, write the clipboard, redraw the screen) become '?', but for the reply's line
 * breaks and tabs. */
void hp_ctl_printable(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
			s[i] = '?';
}

/* The path of the hotpatch socket process pid listens on, as it was bound; 1 when found, 0 when
 * the process has none, -1 when /proc would not tell us, 2 when the runtime has bound it but
 * does not listen yet (the moment between bind and listen, as the process starts). */
static int discover(pid_t pid, char *out, size_t size)
{
	unsigned long *inodes = NULL;
	size_t count = 0;
	if (socket_inodes(pid, &inodes, &count))
		return -1;
	char path[64], line[4200];
	snprintf(path, sizeof path, "/proc/%d/net/unix", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		free(inodes);
		return -1;
	}
	int found = 0, binding = 0;
	long own = own_pid(pid);
	while (fgets(line, sizeof line, f) && !found) {
		unsigned flags, type, state;
		unsigned long inode;
		int at = 0;
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%*s %*s %*s %x %x %x %lu %n", &flags, &type, &state, &inode, &at) != 4 || !at ||
		    line[at] != '/')
			continue;
		/* Listening (__SO_ACCEPTCON), a stream, one of the process's own, named as the runtime
		 * names it (PID.sock): not a socket of the program's own that hpctl must not talk to. */
		const char *bound = line + at;
		int held = 0;
		for (size_t i = 0; i < count && !held; i++)
			held = inodes[i] == inode;
		if (type == 1 && held && socket_name_pid(bound) == own) {
			if (flags & 0x10000) {
				snprintf(out, size, "%s", bound);
				found = 1;
			} else {
				binding = 1;
			}
		}
	}
	fclose(f);
	free(inodes);
	return found ? 1 : binding ? 2 : 0;
}

int hp_ctl_socket_state(pid_t pid)
{
	char bound[4096];
	return discover(pid, bound, sizeof bound);
}

/* Whether the process was started in secure execution (setuid, setgid, file capabilities):
 * AT_SECURE among its auxiliary vector, which only root and its own user may read. */
static int secure_execution(pid_t pid)
{
	char path[64];
	unsigned long auxv[2 * 64];
	snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, auxv, sizeof auxv) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; n > 0 && (i + 2) * (ssize_t)sizeof *auxv <= n && auxv[i]; i += 2)
		if (auxv[i] == 23 /* AT_SECURE */)
			return auxv[i + 1] != 0;
	return 0;
}

/* Whether the process is a forked copy of its parent that has a channel: the same program, with
 * a hotpatch socket (forked children start none until they call hp_control_enable). */
static int discover(pid_t pid, char *out, size_t size);
static int forked_child(pid_t pid)
{
	long long ppid;
	char exe[64], parent_exe[64], bound[4096];
	struct stat a, b;
	if (status_numbers(pid, "PPid", HP_PID_MAX, &ppid, 1) != 1 || ppid <= 1)
		return 0;
	snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
	snprintf(parent_exe, sizeof parent_exe, "/proc/%lld/exe", ppid);
	return !stat(exe, &a) && !stat(parent_exe, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	       discover((pid_t)ppid, bound, sizeof bound) == 1;
}

/* Whether the process started with HOTPATCH_DISABLE=1 in its environment. */
static int disabled_by_environment(pid_t pid)
{
	char path[64], env[65536];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC), disabled = 0;
	ssize_t n = fd >= 0 ? read(fd, env, sizeof env - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(env + i) + 1) {
		env[n] = 0;
		disabled |= !strcmp(env + i, "HOTPATCH_DISABLE=1");
	}
	return disabled;
}

static int secure_execution(pid_t pid);
int hp_ctl_channel_would_be_off(pid_t pid)
{
	return secure_execution(pid) || disabled_by_environment(pid);
}

/* Says why a process has no runtime to talk to, and what to do, in one line. */
static void no_runtime(pid_t pid)
{
	int disabled = disabled_by_environment(pid);
	/* Secure execution first: such a runtime reads no environment, HOTPATCH_DISABLE included. */
	if (secure_execution(pid))
		hp_ctl_error("process %d has no hotpatch runtime listening: it runs a setuid, setgid or "
		        "file-capability program, whose runtime listens only if the program calls hp_control_enable()\n",
		        (int)pid);
	else if (disabled)
		hp_ctl_error("process %d has no hotpatch runtime listening: it runs with HOTPATCH_DISABLE=1; "
		        "restart it without\n", (int)pid);
	else if (forked_child(pid))
		hp_ctl_error("process %d has no hotpatch runtime listening: it is a forked child, whose runtime "
		        "listens only if the program calls hp_control_enable() in it after fork\n", (int)pid);
	else if (hp_ctl_attachable(pid))
		hp_ctl_error("process %d has no hotpatch runtime: the program was built with the hotpatch plugin but "
		        "is not linked with libhotpatch; %s\n", (int)pid,
		        HPCTL_STOP_WORLD ? "hpctl apply loads it" :
		                           "link it with libhotpatch (this hpctl cannot load it on " HPCTL_PROCESSOR ")");
	else
		hp_ctl_error("process %d has no hotpatch runtime listening: the program is not linked with "
		        "libhotpatch; link it with -lhotpatch (pkg-config --libs hotpatch) or hotpatch_target()\n",
		        (int)pid);
}

/* Opens the directory of socket path bound, as process pid sees it, and checks it is owner-only
 * and belongs to root or one of the process's uids; returns the descriptor, or -1 (reported). */
static int open_socket_dir(pid_t pid, const uid_t uid[3], const char *bound, int through_root, uid_t *owner)
{
	char dir[4200];
	const char *slash = strrchr(bound, '/');
	int len = (int)(slash - bound);
	int fd;
	if (through_root) {
		/* Resolved inside the process's root: an absolute link on the way (planted by whoever
		 * owns a container's /tmp) stays in that root instead of leading to the host's files. */
		char root[64];
		snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
		snprintf(dir, sizeof dir, "./%.*s", len, bound);
		int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return -1;
		struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		                        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		fd = (int)syscall(SYS_openat2, rootfd, dir, &how, sizeof how);
		int saved = errno;
		close(rootfd);
		errno = saved;
	} else {
		snprintf(dir, sizeof dir, "%.*s/", len, bound);
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) || (st.st_mode & 077) ||
	    (st.st_uid != uid[0] && st.st_uid != uid[1] && st.st_uid != uid[2] && st.st_uid != 0)) {
		hp_ctl_error("process %d: its socket directory %.*s must be mode 0700 and owned by uid %u or "
		        "root\n", (int)pid, len ? len : 1, len ? bound : "/", (unsigned)uid[1]);
		close(fd);
		errno = EPERM;
		return -2;
	}
	*owner = st.st_uid;
	return fd;
}

/* Connects to process pid's control socket by deadline; returns the socket, or -1 (reported). */
int hp_ctl_connect(pid_t pid, const struct timespec *deadline, double timeout_seconds)
{
	uid_t uid[3], owner = (uid_t)-1;
	char bound[4096];
	/* A thread's id stands for its process (/proc/TID works, but the process listens). */
	long long tgid;
	if (status_numbers(pid, "Tgid", HP_PID_MAX, &tgid, 1) == 1 && tgid != pid)
		pid = (pid_t)tgid;
	if (process_uid(pid, uid)) {
		hp_ctl_error("no process %d\n", (int)pid);
		return -HP_CTL_UNREACHABLE;
	}
	if (check_running(pid))
		return -HP_CTL_UNREACHABLE;
	int found = discover(pid, bound, sizeof bound);
	/* A process starting up: its socket listens a moment after it is bound. */
	struct timeval left;
	for (int i = 0; found == 2 && i < 100 && hp_ctl_time_left(deadline, &left); i++) {
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		found = discover(pid, bound, sizeof bound);
	}
	if (found == 2)
		found = 0;
	if (found > 0)
		hp_ctl_printable(bound, strlen(bound));  /* as the process bound it */
	if (found == 0) {
		no_runtime(pid);
		return -HP_CTL_UNREACHABLE;
	}
	if (found < 0 && hp_control_path(bound, sizeof bound, pid, uid[1])) {
		hp_ctl_error("socket path too long\n");
		return -HP_CTL_ERROR;
	}
	if (bound[0] != '/') {
		hp_ctl_error("process %d: its socket %s is not an absolute path\n", (int)pid, bound);
		return -HP_CTL_UNREACHABLE;
	}
	/* In the process's mount namespace first; the plain path when /proc/PID/root is not ours to
	 * follow (then the process must share our view of the files). */
	int dir = open_socket_dir(pid, uid, bound, 1, &owner);
	if (dir == -1)
		dir = open_socket_dir(pid, uid, bound, 0, &owner);
	if (dir == -2)  /* a directory hpctl does not trust: no runtime it may talk to */
		return -HP_CTL_UNREACHABLE;
	int saved = errno;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	/* The socket itself, opened beneath the directory and never through a link, and connected
	 * to through its own descriptor: what hpctl checked is what it connects to, and the path
	 * is short whatever the directory's length. */
	int sock = -1;
	if (dir >= 0) {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
		struct stat st;
		sock = (int)syscall(SYS_openat2, dir, strrchr(bound, '/') + 1, &how, sizeof how);
		if (sock < 0 && errno == ENOSYS)  /* before Linux 5.6: no link at the last step either */
			sock = openat(dir, strrchr(bound, '/') + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (sock >= 0 && (fstat(sock, &st) || !S_ISSOCK(st.st_mode))) {
			close(sock);
			sock = -1;
			errno = ENOTSOCK;
		} else if (sock >= 0 && st.st_uid != owner) {
			/* The runtime binds as the user whose directory it is: another user's socket in it
			 * was put there by someone else. */
			hp_ctl_error("process %d: its socket %s belongs to uid %u, not to uid %u whose directory it "
			        "is in\n", (int)pid, bound, (unsigned)st.st_uid, (unsigned)owner);
			close(sock);
			close(dir);
			return -HP_CTL_UNREACHABLE;
		}
		if (sock < 0) {
			saved = errno == ELOOP ? ENOTSOCK : errno;  /* a link where the socket should be */
			close(dir);
			dir = -1;
		}
	}
	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", sock);
	int s = dir < 0 ? -1 : socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A connection waits in the listener's backlog while the runtime is busy; once the backlog
	 * is full, connect() blocks, up to the send timeout. */
	if (s >= 0 && !arm(s, deadline)) {
		close(s);
		s = -1;
		errno = saved = ETIMEDOUT;
	}
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr)) {
		saved = dir < 0 ? saved : errno;
		int code = HP_CTL_UNREACHABLE;
		if (dir >= 0 && hp_ctl_timed_out(saved))
			code = HP_CTL_UNKNOWN;
		else if (saved == EACCES || saved == EPERM || (found < 0 && saved == ENOENT))
			code = HP_CTL_DENIED;
		if (dir >= 0 && hp_ctl_timed_out(saved))
			hp_ctl_error("process %d: its hotpatch runtime did not take the connection within %g s "
			        "(busy, or stopped): nothing was sent\n", (int)pid, timeout_seconds);
		else if (saved == EACCES || saved == EPERM)
			hp_ctl_error("process %d: cannot reach its hotpatch socket %s: %s (only root, or the user "
			        "the process wholly runs as, may patch it)\n", (int)pid, bound, strerror(saved));
		else if (found < 0 && saved == ENOENT)
			hp_ctl_error("process %d: no hotpatch socket at %s, and its open files are not ours to read: "
			        "only root, or the user the process wholly runs as, may patch it\n", (int)pid, bound);
		else
			hp_ctl_error("process %d has no hotpatch runtime listening at %s: %s\n", (int)pid, bound,
			        strerror(saved));
		if (s >= 0)
			close(s);
		if (dir >= 0)
			close(dir);
		if (sock >= 0)
			close(sock);
		return -code;
	}
	close(dir);
	close(sock);
	/* The kernel names the process that listens, and the user it was then: it must be the one
	 * asked for, not another that took the name, and the user whose directory and socket these
	 * are (the runtime makes both, as the user it runs as when it listens). */
	struct ucred cred = { 0 };
	socklen_t len = sizeof cred;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != pid) {
		hp_ctl_error("process %d: the socket %s is served by process %d, not by it\n", (int)pid, bound,
		        (int)cred.pid);
		close(s);
		return -HP_CTL_UNREACHABLE;
	}
	if (cred.uid != owner) {
		hp_ctl_error("process %d: the socket %s is served as uid %u, not as uid %u whose directory it is "
		        "in\n", (int)pid, bound, (unsigned)cred.uid, (unsigned)owner);
		close(s);
		return -HP_CTL_UNREACHABLE;
	}
	return s;
}

/* hpctl_connect.c — how hpctl reaches the runtime in a process (hpctl.h): whether the process
 * exists and can answer, where its control socket is (asked of the process itself through
 * /proc/PID, since it may have switched user or live in another mount or pid namespace), and a
 * connection to it that goes only through an owner-only directory, never through a link, to the
 * process that was asked for. */
#define _GNU_SOURCE
#include "hpctl.h"

#include <dirent.h>
#include <errno.h>
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

/* The real, effective and saved uid of a process, from /proc/PID/status (the owner of /proc/PID
 * is root for a process that is not dumpable).  The runtime names its directory after the
 * effective uid it started with: a setuid program's is not its real uid, and it may since
 * have swapped the two. */
static int process_uid(pid_t pid, uid_t uid[3])
{
	char path[64], line[256];
	unsigned r, e, s;
	int found = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof line, f))
		found = sscanf(line, "Uid: %u %u %u", &r, &e, &s) == 3;
	if (f)
		fclose(f);
	if (found) {
		uid[0] = (uid_t)r;
		uid[1] = (uid_t)e;
		uid[2] = (uid_t)s;
	}
	return found ? 0 : -1;
}

/* A stopped process (SIGSTOP, Ctrl-Z, a debugger at a breakpoint) cannot answer: its control
 * thread is stopped with it.  Its state is the letter after the command name in /proc/PID/stat
 * (T stopped, t traced); the name is in parentheses and may hold any character, so the state is
 * read after the last ')'.  0 when /proc does not tell. */
char hp_ctl_process_state(pid_t pid)
{
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
		fprintf(stderr, "hpctl: process %d is stopped (state %c): continue it (kill -CONT %d) and try again\n",
		        (int)pid, state, (int)pid);
		return -1;
	}
	if (state == 'Z' || state == 'X') {
		fprintf(stderr, "hpctl: process %d has exited (state %c)\n", (int)pid, state);
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
	char path[64], line[512];
	long own = pid;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "NSpid:", 6))
			for (char *p = line + 6, *end;; p = end) {
				long n = strtol(p, &end, 10);
				if (end == p)
					break;
				own = n;
			}
	if (f)
		fclose(f);
	return own;
}

/* "123.sock": the name the runtime gives its socket; -1 for any other name. */
static long socket_name_pid(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *end;
	long n = strtol(base, &end, 10);
	return end != base && *base >= '0' && *base <= '9' && !strcmp(end, ".sock") ? n : -1;
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
 * the process has none, -1 when /proc would not tell us. */
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
	int found = 0;
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
		if ((flags & 0x10000) && type == 1 && held && socket_name_pid(bound) == own) {
			snprintf(out, size, "%s", bound);
			found = 1;
		}
	}
	fclose(f);
	free(inodes);
	return found ? 1 : 0;
}

/* Says why a process has no runtime to talk to, and what to do, in one line. */
static void no_runtime(pid_t pid)
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
	if (disabled)
		fprintf(stderr, "hpctl: process %d has no hotpatch runtime listening: it runs with HOTPATCH_DISABLE=1; "
		        "restart it without\n", (int)pid);
	else
		fprintf(stderr, "hpctl: process %d has no hotpatch runtime listening: the program is not linked with "
		        "libhotpatch; link it with -lhotpatch (pkg-config --libs hotpatch) or hotpatch_target()\n",
		        (int)pid);
}

/* Opens the directory of socket path bound, as process pid sees it, and checks it is owner-only
 * and belongs to root or one of the process's uids; returns the descriptor, or -1 (reported). */
static int open_socket_dir(pid_t pid, const uid_t uid[3], const char *bound, int through_root)
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
		fprintf(stderr, "hpctl: process %d: its socket directory %.*s must be mode 0700 and owned by uid %u or "
		        "root\n", (int)pid, len ? len : 1, len ? bound : "/", (unsigned)uid[1]);
		close(fd);
		errno = EPERM;
		return -2;
	}
	return fd;
}

/* Connects to process pid's control socket by deadline; returns the socket, or -1 (reported). */
int hp_ctl_connect(pid_t pid, const struct timespec *deadline, double timeout_seconds)
{
	uid_t uid[3];
	char bound[4096];
	if (process_uid(pid, uid)) {
		fprintf(stderr, "hpctl: no process %d\n", (int)pid);
		return -1;
	}
	if (check_running(pid))
		return -1;
	int found = discover(pid, bound, sizeof bound);
	if (found > 0)
		hp_ctl_printable(bound, strlen(bound));  /* as the process bound it */
	if (found == 0) {
		no_runtime(pid);
		return -1;
	}
	if (found < 0 && hp_control_path(bound, sizeof bound, pid, uid[1])) {
		fprintf(stderr, "hpctl: socket path too long\n");
		return -1;
	}
	if (bound[0] != '/') {
		fprintf(stderr, "hpctl: process %d: its socket %s is not an absolute path\n", (int)pid, bound);
		return -1;
	}
	/* In the process's mount namespace first; the plain path when /proc/PID/root is not ours to
	 * follow (then the process must share our view of the files). */
	int dir = open_socket_dir(pid, uid, bound, 1);
	if (dir == -1)
		dir = open_socket_dir(pid, uid, bound, 0);
	if (dir == -2)
		return -1;
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
		if (dir >= 0 && hp_ctl_timed_out(saved))
			fprintf(stderr, "hpctl: process %d: its hotpatch runtime did not take the connection within %g s "
			        "(busy, or stopped): nothing was sent\n", (int)pid, timeout_seconds);
		else if (saved == EACCES || saved == EPERM)
			fprintf(stderr, "hpctl: process %d: cannot reach its hotpatch socket %s: %s (only root, or the user "
			        "the process wholly runs as, may patch it)\n", (int)pid, bound, strerror(saved));
		else if (found < 0 && saved == ENOENT)
			fprintf(stderr, "hpctl: process %d: no hotpatch socket at %s, and its open files are not ours to read: "
			        "only root, or the user the process wholly runs as, may patch it\n", (int)pid, bound);
		else
			fprintf(stderr, "hpctl: process %d has no hotpatch runtime listening at %s: %s\n", (int)pid, bound,
			        strerror(saved));
		if (s >= 0)
			close(s);
		if (dir >= 0)
			close(dir);
		if (sock >= 0)
			close(sock);
		return -1;
	}
	close(dir);
	close(sock);
	/* The kernel names the process that listens: it must be the one asked for, not another that
	 * took the name. */
	struct ucred cred = { 0 };
	socklen_t len = sizeof cred;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != pid) {
		fprintf(stderr, "hpctl: process %d: the socket %s is served by process %d, not by it\n", (int)pid, bound,
		        (int)cred.pid);
		close(s);
		return -1;
	}
	return s;
}

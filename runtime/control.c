/* control.c — the runtime's end of the control channel (control.h): a thread that waits on a
 * UNIX socket and serves hpctl.  Only root, or the user the process wholly runs as, may use it
 * (may_patch): the socket lives in an owner-only directory and the kernel's SO_PEERCRED names
 * every client.  Started when the library loads unless HOTPATCH_DISABLE=1, or the process is a
 * secure-execution one (setuid, setgid, file capabilities); never at fork.  In both of those it
 * starts when the program calls hp_control_enable().  While idle the thread sleeps in accept(). */
#define _GNU_SOURCE
#include "control.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/auxv.h>
#include <sys/un.h>
#include <dirent.h>

#include "history.h"
#include "hotpatch.h"
#include "persist.h"
#include "text.h"
#include "runtime.h"
#include "trust.h"

#define MAX_MODULES 64  /* of one package, reported per module */

/* How long a client has to send its request, and to take each write of the reply.  hpctl sends
 * its one line as soon as it is connected: a client silent this long is hung or hostile, and
 * the thread (which serves one client at a time) moves on to the next. */
#define CLIENT_TIMEOUT_SECONDS 5

static struct {
	int fd;                       /* listening socket, -1 when off */
	char path[108];
	char fallback[108];           /* the directory made in place of a squatted one, removed at exit */
	pid_t pid;                    /* the process that bound path: a forked child must not remove it */
	pthread_mutex_t lock;         /* starting: the constructor, hp_control_enable() */
} control = { -1, "", "", 0, PTHREAD_MUTEX_INITIALIZER };

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char line[1200];  /* the longest is a history line (history.h) */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!send(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, MSG_NOSIGNAL);  /* client gone */
}

static void reply_error(int fd, int rc)
{
	/* The reply's last line decides its outcome (hpctl_reply.c): the detail, which quotes paths
	 * and a hook's reason, must not start a line of its own. */
	char detail[512];
	snprintf(detail, sizeof detail, "%s", hp_last_error());
	for (char *c = detail; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	reply(fd, "error %d %s%s%s\n", -rc, hp_strerror(rc), *detail ? ": " : "", detail);
}

/* Reads a whole package from the descriptor hpctl sent. */
static void *read_package(int fd, size_t *size)
{
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1 << 30))
		return NULL;
	char *buf = malloc((size_t)st.st_size);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	*size = got;
	return buf;
}

/* "module ID applied FUNCTIONS NAME\tPATH" or "module ID skipped 0 NAME\t": names may hold spaces. */
static void send_module(int fd, int id, const struct hp_module_result *r)
{
	reply(fd, "module %d %s %u %s\t%s\n", id, r->state == HP_MODULE_APPLIED ? "applied" : "skipped", r->functions,
	      r->name, r->path);
}

/* Who may change this process's code: root, whatever user the process runs as now (a server
 * that started as root and switched user is still root's to patch); any other user only a process
 * that is wholly theirs, by the rule the kernel applies to ptrace: real, effective and saved uid
 * all theirs (a process that can switch back to root is not), so are its gids (another group's
 * rights are not theirs to take), still dumpable (the kernel marks a process that changed user
 * as holding what the new user must not read), and holding no capabilities. */
static int may_patch(uid_t client, gid_t group)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (client == 0)
		return 1;
	/* No capabilities either (ptrace: the tracer must hold all the process's): a process that
	 * kept root's, or got some from systemd, is more than its user's to patch. */
	struct __user_cap_header_struct head = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[2] = { { 0 } };
	return getresuid(&r, &e, &s) == 0 && client == r && client == e && client == s &&
	       getresgid(&rg, &eg, &sg) == 0 && group == rg && group == eg && group == sg &&
	       prctl(PR_GET_DUMPABLE) == 1 && syscall(SYS_capget, &head, caps) == 0 && !caps[0].permitted &&
	       !caps[1].permitted;
}

/* "replace ID OLD-ID SEQUENCE OLD-SEQUENCE MODULE", one per module in which patch id replaced a
 * live patch: the apply's own events in the history (ids are never reused). */
static void send_replaced(int fd, int id)
{
	struct hp_event *events = malloc(HP_HISTORY_MAX * sizeof *events);
	size_t n = events ? hp_history_copy(events, HP_HISTORY_MAX, NULL) : 0;
	for (size_t i = 0; i < n && i < HP_HISTORY_MAX; i++)
		if (events[i].patch == id && events[i].replaced &&
		    (events[i].kind == HP_EVENT_REPLACE || events[i].kind == HP_EVENT_START_APPLY))
			reply(fd, "replace %d %d %u %u %s\n", id, events[i].replaced, events[i].sequence,
			      events[i].replaced_sequence, events[i].module);
	free(events);
}

/* A stopped apply's last check (history.h): "ready" to hpctl, which answers "go" only while it
 * still holds the process's threads stopped; silence or anything else, and nothing is written. */
static int confirm_stopped(void *arg)
{
	int client = *(const int *)arg;
	char go[8] = "";
	if (send(client, "ready\n", 6, MSG_NOSIGNAL) != 6)
		return -1;
	struct pollfd in = { .fd = client, .events = POLLIN };
	if (poll(&in, 1, HP_CONTROL_HOLD_MS) != 1 || recv(client, go, sizeof go - 1, 0) != 3)
		return -1;
	return strcmp(go, "go\n") ? -1 : 0;
}

/* Then "switched", once every site is written: hpctl lets the threads go (history.h). */
static void tell_switched(void *arg)
{
	send(*(const int *)arg, "switched\n", 9, MSG_NOSIGNAL);
}

/* The history lines of status, oldest first (history.h says what is kept). */
static void send_history(int fd)
{
	struct hp_event *events = malloc(HP_HISTORY_MAX * sizeof *events);
	size_t n = events ? hp_history_copy(events, HP_HISTORY_MAX, NULL) : 0;
	char line[1100];
	for (size_t i = 0; i < n && i < HP_HISTORY_MAX; i++)
		if (hp_history_line(&events[i], line, sizeof line) > 0)
			reply(fd, "%s\n", line);
	free(events);
}

static void serve(int client)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) || !may_patch(cred.uid, cred.gid)) {
		reply(client, "error 0 permission denied: only root, or the user the process wholly runs as, may patch it\n");
		return;
	}
	char line[256] = "";
	int pkg = -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { line, sizeof line - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n;
	do  /* a timed receive fails with EINTR when the process is stopped and continued */
		n = recvmsg(client, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return;  /* closed, or silent past the timeout */
	line[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&pkg, CMSG_DATA(c), sizeof pkg);
	/* A request stays queued after its client is gone: hpctl gave up waiting (this process was
	 * stopped, or the thread busy with another client) and told its user it does not know the
	 * outcome.  Nobody would hear this one: nothing is done. */
	struct pollfd hangup = { .fd = client, .events = POLLRDHUP };
	if (poll(&hangup, 1, 0) > 0 && (hangup.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		if (pkg >= 0)
			close(pkg);
		return;
	}

	int id = 0;
	/* The requester the history records: the client as the kernel names it. */
	struct hp_requester who = { cred.uid, cred.pid, 0, NULL };
	/* "stopped apply": hpctl's safe switch, which has stopped every other thread and checked that
	 * none is inside a function the package redirects (history.h, hp_apply_world). */
	char *request = line;
	int stopped = !strncmp(request, "stopped ", 8);
	request += stopped ? 8 : 0;
	size_t word = strcspn(request, "\n");
	int apply = word == 5 && !strncmp(request, "apply", 5), force = word == 11 && !strncmp(request, "apply-force", 11);
	if (apply || force) {
		/* On the heap: the thread's stack is 64 KiB. */
		size_t size = 0, modules = 0;
		struct hp_module_result *result = malloc(MAX_MODULES * sizeof *result);
		void *data = pkg >= 0 && result ? read_package(pkg, &size) : NULL;
		struct hp_stopped_world world = { confirm_stopped, tell_switched, &client };
		int rc = data ? hp_apply_world(data, size, force ? HP_APPLY_FORCE : 0, &who, stopped ? &world : NULL, result,
		                               MAX_MODULES, &modules) :
		                -HP_E_PACKAGE;
		free(data);
		if (!result)
			reply(client, "error %d out of memory\n", HP_E_MEMORY);
		else if (!data)
			reply(client, "error %d cannot read the package from the descriptor sent\n", HP_E_PACKAGE);
		else if (rc < 0)
			reply_error(client, rc);
		for (size_t i = 0; rc > 0 && i < modules && i < MAX_MODULES; i++)
			send_module(client, rc, &result[i]);
		if (rc > 0)
			send_replaced(client, rc);
		if (rc > 0)
			reply(client, "ok %d\n", rc);
		free(result);
	} else if (stopped) {
		reply(client, "error 0 only apply is made in a stopped world\n");
	} else if (!strncmp(line, "revert ", 7)) {
		/* The id as sent, whole and in range: "revert 4294967297" is not patch 1. */
		long long wanted;
		const char *end;
		if (hp_parse_number(line + 7, &end, 0, 2147483647, &wanted) || (*end && strcmp(end, "\n"))) {
			int shown = (int)strcspn(line + 7, "\n");
			reply(client, "error 0 not a patch id (0 to 2147483647): %.*s\n", shown < 40 ? shown : 40, line + 7);
			goto done;
		}
		id = (int)wanted;
		int rc = hp_revert_as(id, &who);
		if (rc < 0)
			reply_error(client, rc);
		else
			reply(client, "ok\n");
	} else if (!strncmp(line, "status", 6)) {
		struct hp_patch_status st[64];
		int live = hp_status(st, 64);
		for (int i = 0; i < live && i < 64; i++) {
			char id_hex[65], sum[33];
			hp_hex(st[i].build_id, st[i].build_id_size, id_hex);
			hp_hex(st[i].checksum, 16, sum);
			reply(client, "patch %d %lld %u %s %s %s\n", st[i].id, (long long)st[i].applied, st[i].functions,
			      id_hex, sum, st[i].module);
			uintptr_t start, end;
			if (!hp_patch_code((size_t)i, &start, &end))
				reply(client, "code %d %s 0x%lx 0x%lx\n", st[i].id, id_hex, (unsigned long)start,
				      (unsigned long)end);
		}
		reply(client, "thread %ld\n", (long)gettid());
		/* Then the modules each patch skipped (not loaded here), once per patch. */
		for (int i = 0; i < live && i < 64; i++) {
			int first = 1;
			for (int j = 0; j < i && first; j++)
				first = st[j].id != st[i].id;
			struct hp_module_result *mods = first ? malloc(MAX_MODULES * sizeof *mods) : NULL;
			int n = mods ? hp_patch_modules(st[i].id, mods, MAX_MODULES) : 0;
			for (int k = 0; k < n && k < MAX_MODULES; k++)
				if (mods[k].state == HP_MODULE_SKIPPED)
					send_module(client, st[i].id, &mods[k]);
			free(mods);
		}
		send_history(client);
		char policy[600];  /* which packages this process applies (trust.h) */
		hp_trust_describe(policy, sizeof policy);
		reply(client, "%s\n", policy);
		reply(client, "ok %d\n", live);
	} else {
		reply(client, "error 0 unknown request\n");
	}
done:
	if (pkg >= 0)
		close(pkg);
}

static void *listen_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int client = accept4(control.fd, NULL, NULL, SOCK_CLOEXEC);
		if (client < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		struct timeval limit = { CLIENT_TIMEOUT_SECONDS, 0 };
		setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
		setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
		serve(client);
		close(client);
	}
}

/* Whether pid is gone: no such process here, and nobody listening on its socket (dirfd/name):
 * the pid alone would not do, since a directory may be shared with another pid namespace. */
static int stale(int dirfd, const char *name, long pid)
{
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return 0;
	int refused = connect(s, (struct sockaddr *)&addr, sizeof addr) && errno == ECONNREFUSED;
	close(s);
	return refused;
}

/* Removes the sockets in our directory whose process is gone (one that exited without running
 * its destructors, a forked child that exec'd before today's runtime, a crash): they would
 * otherwise pile up, one per process. */
static void remove_stale(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		long long pid;
		const char *end;
		struct stat st;
		if (hp_parse_number(e->d_name, &end, 1, 4194304, &pid) || strcmp(end, ".sock") || pid == getpid() ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (stale(dirfd, e->d_name, (long)pid))
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}

/* Opens dir if it is an owner-only directory of our effective uid, reached without a link:
 * one another user made first (in /tmp anybody can), or a link planted in its place, would let
 * them read the packages sent, answer hpctl in our name, or make us bind where they chose. */
static int open_private_dir(const char *dir, int *squatted)
{
	struct stat st;
	*squatted = 0;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		*squatted = 1;  /* there, and not ours */
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Binds and listens on the socket of this process in dir; returns the listening socket or -1. */
static int bind_in(const char *dir, int dirfd, struct sockaddr_un *addr)
{
	char name[32];
	snprintf(name, sizeof name, "%d.sock", (int)getpid());
	int n = snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", dir, name);
	if (n <= 0 || (size_t)n >= sizeof addr->sun_path)
		return -1;
	remove_stale(dirfd);
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
		unlinkat(dirfd, name, 0);  /* a stale socket of an earlier process with this pid */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	mode_t old = umask(077);
	int bound = bind(fd, (struct sockaddr *)addr, sizeof *addr);
	umask(old);
	/* The path was checked through dirfd; bind() goes by name: the name must still lead there. */
	struct stat by_fd, by_name;
	if (bound || fstat(dirfd, &by_fd) || stat(dir, &by_name) || by_fd.st_dev != by_name.st_dev ||
	    by_fd.st_ino != by_name.st_ino || listen(fd, 4)) {
		if (!bound)
			unlinkat(dirfd, name, 0);
		close(fd);
		return -1;
	}
	return fd;
}

/* Starts the channel: the socket and its thread.  Returns 1 when the process listens. */
static int start(int asked)
{
	/* secure_getenv: in a setuid program the caller's environment is not the program's to obey. */
	const char *off = secure_getenv("HOTPATCH_DISABLE");
	if (control.fd >= 0)
		return 1;
	if (off && !strcmp(off, "1"))
		return 0;
	/* A secure-execution process (setuid, setgid, file capabilities) was started by a user with
	 * more than that user's rights: a thread serving a socket is more than such a program asked
	 * for.  It listens when its own code says so (asked), never by default. */
	if (getauxval(AT_SECURE) && !asked)
		return 0;
	/* The effective uid's directory: a setuid program's socket must not lie where its caller
	 * (the real uid) could swap it or the directory. */
	char dir[200];
	int squatted = 0, dirfd = -1;
	if (hp_control_dir(dir, sizeof dir, geteuid()) || (dirfd = open_private_dir(dir, &squatted)) < 0) {
		if (!squatted)
			return 0;
		/* Another user's directory (or a link) where ours should be: a fresh directory of our
		 * own instead, which nobody can have made first.  hpctl finds it through /proc. */
		char fallback[108];
		snprintf(fallback, sizeof fallback, "/tmp/hotpatch-%u.XXXXXX", (unsigned)geteuid());
		int ok = mkdtemp(fallback) != NULL;
		fprintf(stderr, "hotpatch: %s is not an owner-only directory of uid %u (another user's, or a link): %s%s\n",
		        dir, (unsigned)geteuid(), ok ? "the control socket is in " : "no control channel",
		        ok ? fallback : "");
		if (!ok || (dirfd = open_private_dir(fallback, &squatted)) < 0)
			return 0;
		snprintf(dir, sizeof dir, "%s", fallback);
		snprintf(control.fallback, sizeof control.fallback, "%s", fallback);
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = bind_in(dir, dirfd, &addr);
	close(dirfd);
	if (fd < 0)
		return 0;
	control.fd = fd;
	control.pid = getpid();
	snprintf(control.path, sizeof control.path, "%s", addr.sun_path);
	/* A small stack, and no signals: the thread must not disturb the program. */
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t all, saved;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	if (pthread_create(&thread, &attr, listen_loop, NULL)) {
		close(fd);
		unlink(control.path);
		control.fd = -1;
	} else {
		pthread_setname_np(thread, "hotpatch");
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	pthread_attr_destroy(&attr);
	return control.fd >= 0;
}

/* Around fork: the lock is not held by another thread at the moment of the copy. */
static void before_fork(void)
{
	pthread_mutex_lock(&control.lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&control.lock);
}

/* A forked child starts no channel: most children exec at once (system(), a shell's pipeline, a
 * server's helpers), and a socket made now would outlive the exec as a file nobody removes, and
 * a thread started between fork and exec, in the copy of a multi-threaded process, runs where
 * only async-signal-safe calls belong.  So the child only lets go of its parent's socket (close
 * is async-signal-safe; the thread that served it was not copied), and its channel starts when
 * it calls hp_control_enable(): a server calls it in each worker it means to keep running. */
static void after_fork_child(void)
{
	if (control.fd >= 0)
		close(control.fd);
	control.fd = -1;
	control.fallback[0] = 0;
	pthread_mutex_unlock(&control.lock);
}

int hp_control_enable(void)
{
	pthread_mutex_lock(&control.lock);
	int on = start(1);
	pthread_mutex_unlock(&control.lock);
	return on;
}

/* Before anything else of the runtime, and before the program's own constructors: the trust
 * policy (trust.h), then the packages stored for this build (persist.h), so that the program runs
 * its fixes from main's first line.  The policy comes first and in this one ordered place: two
 * constructors of equal priority run in an order nobody chose, and a channel that answered
 * before the policy was read would show (and apply under) a policy read later than the start.
 * Here, in the object a static link always keeps (hp_control_start), and first (priority 101,
 * the earliest a program may ask for), so that the control channel, which starts after it, never
 * shows a process half way through.  What runs before it: the constructors of the shared
 * libraries initialised earlier (those the runtime does not depend on, and with the static
 * runtime every shared library's), which run their baseline code once. */
__attribute__((constructor(101))) static void hp_persisted_start(void)
{
	hp_trust_start();
	hp_persist_start();
}

/* Not static: the name a static link uses to keep this object (and so the channel) although the
 * program calls nothing in it: libhotpatch.a is a linker script saying EXTERN(hp_control_start),
 * and hotpatch_target() passes -Wl,-u,hp_control_start. */
__attribute__((constructor)) void hp_control_start(void)
{
	pthread_mutex_lock(&control.lock);
	start(0);
	pthread_mutex_unlock(&control.lock);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

__attribute__((destructor)) static void hp_control_stop(void)
{
	if (control.fd < 0 || control.pid != getpid())
		return;
	unlink(control.path);
	if (control.fallback[0])
		rmdir(control.fallback);
}

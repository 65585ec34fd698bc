/* hpctl — drives the hotpatch runtime inside a running process: apply a package, revert a patch,
 * list live patches.  Talks to the process over its control socket (control.h), which
 * hpctl_connect.c finds and connects to; the package is handed over as an open file descriptor,
 * so the process never opens a path of ours.  This file sends the request, waits for the whole
 * answer within the timeout, and prints it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "hpctl.h"
#include "text.h"

#define DEFAULT_TIMEOUT 30

/* How long the process has to take the request and answer it, in all. */
static double timeout_seconds = DEFAULT_TIMEOUT;

static int usage(FILE *out)
{
	fprintf(out, "usage: hpctl [--timeout SECONDS] apply PID PACKAGE\n"
	             "       hpctl [--timeout SECONDS] revert PID [PATCH-ID]\n"
	             "       hpctl [--timeout SECONDS] status PID [--json]\n"
	             "       hpctl --version\n"
	             "Applies, reverts and lists live patches in process PID, which must be linked with\n"
	             "libhotpatch.  Only root, or the user the process wholly runs as, may do so.  hpctl\n"
	             "waits at most SECONDS (default %d) for the process to answer.\n", DEFAULT_TIMEOUT);
	return out == stdout ? 0 : 1;
}

/* Whether the reply is whole: its last line is "ok ..." or "error ...", ended by a newline. */
static int complete(const char *reply, size_t len)
{
	if (!len || reply[len - 1] != '\n')
		return 0;
	size_t start = len - 1;
	while (start && reply[start - 1] != '\n')
		start--;
	return !strncmp(reply + start, "ok", 2) || !strncmp(reply + start, "error ", 6);
}

/* Sends one request (with fd, if >= 0) and collects the whole reply, all within the timeout.
 * Returns 0, or -1 (reported).  unknown says what may or may not have happened when the request
 * went out but no whole answer came back ("whether the package was applied"); NULL for a
 * request that changes nothing. */
static int request(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout_seconds;
	deadline.tv_nsec += (long)((timeout_seconds - (double)(time_t)timeout_seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	int s = hp_ctl_connect(pid, &deadline, timeout_seconds);
	if (s < 0)
		return -1;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)line, strlen(line) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(cbuf, 0, sizeof cbuf);
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof cbuf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	/* A runtime that refuses us answers and closes without reading the request: then sending
	 * fails (no SIGPIPE), and its answer is still there to read. */
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0 && errno != EPIPE) {
		if (hp_ctl_timed_out(errno))
			fprintf(stderr, "hpctl: process %d: its hotpatch runtime did not take the request within %g s (busy, "
			        "or stopped): nothing was sent\n", (int)pid, timeout_seconds);
		else
			fprintf(stderr, "hpctl: process %d: %s\n", (int)pid, strerror(errno));
		close(s);
		return -1;
	}
	/* From here the request is with the process: the runtime acts on it unless it finds hpctl
	 * gone when it gets to it, so a missing answer means the outcome is unknown, not a failure.
	 * The process may be stopped meanwhile (or between the check above and now): its state is
	 * looked at again every 200 ms of silence, so that hpctl says so at once. */
	size_t got = 0;
	int late = 0, error = 0;
	char state = 0;
	struct pollfd in = { .fd = s, .events = POLLIN };
	while (got + 1 < size) {
		struct timeval left;
		if (!hp_ctl_time_left(&deadline, &left)) {
			late = 1;
			break;
		}
		long long ms = (long long)left.tv_sec * 1000 + left.tv_usec / 1000 + 1;
		int ready = poll(&in, 1, ms < 200 ? (int)ms : 200);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			error = errno;
			break;
		}
		if (ready == 0) {
			if (hp_ctl_stopped(state = hp_ctl_process_state(pid)))
				break;
			continue;
		}
		ssize_t n = read(s, reply + got, size - 1 - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			error = n < 0 ? errno : 0;
			break;
		}
		got += (size_t)n;
	}
	hp_ctl_printable(reply, got);
	reply[got] = 0;
	close(s);
	if (complete(reply, got))
		return 0;
	if (hp_ctl_stopped(state)) {
		if (unknown)
			fprintf(stderr, "hpctl: process %d was stopped (state %c) before it answered: %s is unknown; continue it "
			        "(kill -CONT %d) and run `hpctl status %d`\n", (int)pid, state, unknown, (int)pid, (int)pid);
		else
			fprintf(stderr, "hpctl: process %d is stopped (state %c): continue it (kill -CONT %d) and try again\n",
			        (int)pid, state, (int)pid);
		return -1;
	}
	char why[160];
	if (late)
		snprintf(why, sizeof why, "did not answer within %g s", timeout_seconds);
	else if (error)
		snprintf(why, sizeof why, "the answer could not be read: %s", strerror(error));
	else
		snprintf(why, sizeof why, "the connection closed before a whole answer");
	if (unknown)
		fprintf(stderr, "hpctl: process %d %s: %s is unknown; run `hpctl status %d`\n", (int)pid, why, unknown,
		        (int)pid);
	else
		fprintf(stderr, "hpctl: process %d %s (busy, or stopped meanwhile): nothing was changed\n", (int)pid, why);
	return -1;
}

/* The reply's last line: "ok ..." or "error CODE MESSAGE". */
static const char *last_line(char *reply)
{
	size_t len = strlen(reply);
	while (len && reply[len - 1] == '\n')
		reply[--len] = 0;
	char *nl = strrchr(reply, '\n');
	return nl ? nl + 1 : reply;
}

/* The runtime's refusal, one line; with the package's file when there is one (package NULL). */
static int failed(pid_t pid, const char *package, const char *last)
{
	long long code;
	const char *at;
	char what[4200] = "";
	if (package)
		snprintf(what, sizeof what, " refused %s", package);
	if (!strncmp(last, "error ", 6) && !hp_parse_number(last + 6, &at, 0, 1000, &code) && *at == ' ')
		fprintf(stderr, "hpctl: process %d%s: %s\n", (int)pid, what, at + 1);
	else
		fprintf(stderr, "hpctl: process %d%s: unexpected reply: %s\n", (int)pid, what, last);
	return 1;
}

/* A "module ID STATE FUNCTIONS NAME<tab>PATH" line (control.h); 0 when it is one. */
struct module {
	int id, applied;
	unsigned functions;
	char name[512], path[512];
};

/* The numbers of a reply, each in its range and followed by one space; NULL when one is not. */
static const char *reply_number(const char *p, long long min, long long max, long long *out)
{
	const char *end;
	return p && !hp_parse_number(p, &end, min, max, out) && *end == ' ' ? end + 1 : NULL;
}

static int parse_module(const char *line, struct module *m)
{
	long long id, functions;
	const char *p = strncmp(line, "module ", 7) ? NULL : reply_number(line + 7, 1, INT_MAX, &id), *state = p;
	if (p && !strncmp(p, "applied ", 8))
		p += 8;
	else if (p && !strncmp(p, "skipped ", 8))
		p += 8;
	else
		return -1;
	p = reply_number(p, 0, UINT_MAX, &functions);
	const char *tab = p ? strchr(p, '\t') : NULL;
	if (!tab)
		return -1;
	m->id = (int)id;
	m->functions = (unsigned)functions;
	snprintf(m->name, sizeof m->name, "%.*s", (int)(tab - p), p);
	snprintf(m->path, sizeof m->path, "%s", tab + 1);
	m->applied = !strncmp(state, "applied ", 8);
	return 0;
}

/* A "patch ID APPLIED FUNCTIONS BUILD-ID CHECKSUM MODULE" line (control.h); 0 when it is one. */
static int parse_patch(const char *line, int *id, long long *applied, unsigned *functions, char build_id[65],
                       char sum[33], char module[512])
{
	long long n, f;
	const char *p = strncmp(line, "patch ", 6) ? NULL : reply_number(line + 6, 1, INT_MAX, &n);
	p = reply_number(p, LLONG_MIN, LLONG_MAX, applied);
	p = reply_number(p, 0, UINT_MAX, &f);
	int at = 0;
	if (!p || sscanf(p, "%64s %32s %n", build_id, sum, &at) != 2 || !at || !p[at])
		return -1;
	*id = (int)n;
	*functions = (unsigned)f;
	snprintf(module, 512, "%s", p + at);
	return 0;
}

static int status(pid_t pid, int json)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	if (request(pid, "status\n", -1, reply, sizeof reply, NULL))
		return 1;
	const char *last = last_line(reply);
	if (strncmp(last, "ok", 2))
		return failed(pid, NULL, last);
	int count = 0;
	size_t skipped = 0;
	char *skipped_lines[256];
	printf(json ? "{\"pid\":%d,\"patches\":[" : "process %d: ", (int)pid);
	for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
		int id;
		if (!strncmp(line, "module ", 7) && skipped < sizeof skipped_lines / sizeof *skipped_lines)
			skipped_lines[skipped++] = line;
		long long applied;
		unsigned functions;
		char build_id[65], sum[33], module[512];
		if (parse_patch(line, &id, &applied, &functions, build_id, sum, module))
			continue;
		if (json) {
			/* Every field the process sent is escaped: its answer must not shape the document. */
			printf("%s{\"id\":%d,\"applied\":%lld,\"functions\":%u,\"build_id\":", count ? "," : "", id, applied,
			       functions);
			hp_json_string(build_id);
			printf(",\"checksum\":");
			hp_json_string(sum);
			printf(",\"module\":");
			hp_json_string(module);
			printf("}");
		} else {
			char when[32];
			time_t t = (time_t)applied;
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
			if (!count)
				printf("live patches\n  %-4s %-19s %-9s %-16s %s\n", "ID", "APPLIED", "FUNCTIONS", "BUILD-ID", "MODULE");
			printf("  %-4d %-19s %-9u %.16s %s\n", id, when, functions, build_id, module);
		}
		count++;
	}
	/* The modules of those patches that were not loaded in the process. */
	if (json)
		printf("],\"skipped\":[");
	for (size_t i = 0, n = 0; i < skipped; i++) {
		struct module m;
		if (parse_module(skipped_lines[i], &m) || m.applied)
			continue;
		if (json) {
			printf("%s{\"id\":%d,\"module\":", n++ ? "," : "", m.id);
			hp_json_string(m.name);
			printf("}");
		} else {
			char what[600];
			snprintf(what, sizeof what, "%s (not loaded: skipped)", m.name);
			printf("  %-4d %-19s %-9s %-16s %s\n", m.id, "-", "-", "-", what);
		}
	}
	if (json)
		printf("]}\n");
	else if (!count)
		printf("no live patch\n");
	return 0;
}

/* SECONDS[.FRACTION], in decimal, more than 0 and at most a day; -1 when it is not. */
static int parse_seconds(const char *value, double *out)
{
	long long whole, part = 0;
	const char *end;
	if (hp_parse_number(value, &end, 0, 86400, &whole))
		return -1;
	size_t digits = 0;
	if (*end == '.') {
		digits = strlen(end + 1);
		if (!digits || digits > 9 || hp_parse_number(end + 1, NULL, 0, 999999999, &part))
			return -1;
	} else if (*end) {
		return -1;
	}
	double scale = 1;
	while (digits--)
		scale *= 10;
	double t = (double)whole + (double)part / scale;
	if (!(t > 0) || t > 86400)
		return -1;
	*out = t;
	return 0;
}

/* Takes --timeout SECONDS (or --timeout=SECONDS) out of argv, wherever it is; -1 (reported)
 * when its value is not a number of seconds. */
static int take_timeout(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		const char *value = NULL;
		int used = 0;
		if (!strcmp(argv[i], "--timeout")) {
			value = i + 1 < *argc ? argv[i + 1] : "";
			used = i + 1 < *argc ? 2 : 1;
		} else if (!strncmp(argv[i], "--timeout=", 10)) {
			value = argv[i] + 10;
			used = 1;
		} else {
			continue;
		}
		double t;
		if (parse_seconds(value, &t)) {
			fprintf(stderr, "hpctl: --timeout: '%s' is not a number of seconds (more than 0, at most 86400)\n",
			        value);
			return -1;
		}
		timeout_seconds = t;
		for (int j = i; j + used <= *argc; j++)
			argv[j] = argv[j + used];
		*argc -= used;
		i--;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (take_timeout(&argc, argv))
		return 1;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hpctl %s\n", HOTPATCH_VERSION);
		return 0;
	}
	if (argc < 3)
		return usage(stderr);
	/* In range before anything: 4294967297 is not process 1. */
	long long pid;
	if (hp_parse_number(argv[2], NULL, 1, INT_MAX, &pid)) {
		fprintf(stderr, "hpctl: %s: not a process id (1 to %d)\n", argv[2], INT_MAX);
		return 1;
	}
	static char reply[HP_CONTROL_MAX_REPLY];
	if (!strcmp(argv[1], "apply") && argc == 4) {
		int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "hpctl: %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		int rc = request((pid_t)pid, "apply\n", fd, reply, sizeof reply, "whether the package was applied");
		close(fd);
		if (rc)
			return 1;
		const char *last = last_line(reply);
		long long id;
		if (strncmp(last, "ok ", 3) || hp_parse_number(last + 3, NULL, 1, INT_MAX, &id))
			return failed((pid_t)pid, argv[3], last);
		printf("process %lld: applied %s as patch %lld\n", pid, argv[3], id);
		/* Then what became of each of the package's modules. */
		for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
			struct module m;
			if (parse_module(line, &m))
				continue;
			if (m.applied)
				printf("  %s: applied, %u function%s (%s)\n", m.name, m.functions, m.functions == 1 ? "" : "s", m.path);
			else
				printf("  %s: skipped: not loaded in this process\n", m.name);
		}
		return 0;
	}
	if (!strcmp(argv[1], "revert") && (argc == 3 || argc == 4)) {
		char line[64];
		long long id = 0;
		if (argc == 4 && hp_parse_number(argv[3], NULL, 0, INT_MAX, &id)) {
			fprintf(stderr, "hpctl: %s: not a patch id (0 to %d)\n", argv[3], INT_MAX);
			return 1;
		}
		snprintf(line, sizeof line, "revert %lld\n", id);
		if (request((pid_t)pid, line, -1, reply, sizeof reply, "whether the patch was reverted"))
			return 1;
		const char *last = last_line(reply);
		if (strcmp(last, "ok"))
			return failed((pid_t)pid, NULL, last);
		printf("process %lld: reverted %s\n", pid, argc == 4 ? argv[3] : "the newest patch");
		return 0;
	}
	if (!strcmp(argv[1], "status") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "--json"))))
		return status((pid_t)pid, argc == 4);
	return usage(stderr);
}

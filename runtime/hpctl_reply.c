/* hpctl_reply.c — hpctl's conversation with a runtime: one request sent (with the package's
 * descriptor, if any) and its whole reply collected within the timeout, and the reply's lines
 * (control.h) parsed, every number in its range.  What hpctl does with them is hpctl.c's. */
#define _GNU_SOURCE
#include <errno.h>
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
 * Returns 0, or an exit status (reported): HP_CTL_UNKNOWN when no whole answer came in time.
 * unknown says what may or may not have happened when the request went out but no whole answer
 * came back ("whether the package was applied"); NULL for a request that changes nothing.  With
 * gate, a stopped apply (hpctl.h). */
static int request(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown,
                   double timeout_seconds, struct hp_ctl_gate *gate)
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
		return -s;
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
		int timed_out = hp_ctl_timed_out(errno);
		if (timed_out)
			hp_ctl_error("process %d: its hotpatch runtime did not take the request within %g s (busy, "
			             "or stopped): nothing was sent", (int)pid, timeout_seconds);
		else
			hp_ctl_error("process %d: %s", (int)pid, strerror(errno));
		close(s);
		return timed_out ? HP_CTL_UNKNOWN : HP_CTL_UNREACHABLE;
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
		/* A stopped apply's runtime must come to the switch while hpctl holds the threads: if
		 * it does not (a stopped thread holds a lock it needs), hpctl hangs up, and the runtime,
		 * finding no "go", writes nothing. */
		struct timeval held;
		if (gate && !gate->asked && !hp_ctl_time_left(&gate->until, &held)) {
			close(s);
			hp_ctl_error("process %d: its runtime did not come to the switch while the threads were held (a "
			             "stopped thread may hold a lock it needs); nothing was written", (int)pid);
			return HP_CTL_BUSY;
		}
		if (gate && !gate->asked && (held.tv_sec < left.tv_sec ||
		                             (held.tv_sec == left.tv_sec && held.tv_usec < left.tv_usec)))
			left = held;
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
		/* A stopped apply's own lines come first (control.h): ready, then switched. */
		if (gate && !gate->asked && got >= 6 && !strncmp(reply, "ready\n", 6)) {
			struct timeval in_time;
			if (!hp_ctl_time_left(&gate->until, &in_time) || send(s, "go\n", 3, MSG_NOSIGNAL) != 3) {
				close(s);
				hp_ctl_error("process %d: its runtime was not ready to switch while the threads were held; "
				             "nothing was written", (int)pid);
				return HP_CTL_BUSY;
			}
			memmove(reply, reply + 6, got - 6);
			got -= 6;
			gate->asked = 1;
		}
		if (gate && gate->asked && !gate->done && got >= 9 && !strncmp(reply, "switched\n", 9)) {
			memmove(reply, reply + 9, got - 9);
			got -= 9;
			gate->done = 1;
			gate->switched(gate->arg);
		}
	}
	hp_ctl_printable(reply, got);
	reply[got] = 0;
	close(s);
	if (complete(reply, got))
		return 0;
	if (hp_ctl_stopped(state)) {
		if (unknown)
			hp_ctl_error("process %d was stopped (state %c) before it answered: %s is unknown; continue it "
			             "(kill -CONT %d) and run `hpctl status %d`", (int)pid, state, unknown, (int)pid, (int)pid);
		else
			hp_ctl_error("process %d is stopped (state %c): continue it (kill -CONT %d) and try again", (int)pid,
			             state, (int)pid);
		return unknown ? HP_CTL_UNKNOWN : HP_CTL_UNREACHABLE;
	}
	char why[160];
	if (late)
		snprintf(why, sizeof why, "did not answer within %g s", timeout_seconds);
	else if (error)
		snprintf(why, sizeof why, "the answer could not be read: %s", strerror(error));
	else
		snprintf(why, sizeof why, "the connection closed before a whole answer");
	if (unknown)
		hp_ctl_error("process %d %s: %s is unknown; run `hpctl status %d`", (int)pid, why, unknown, (int)pid);
	else
		hp_ctl_error("process %d %s (busy, or stopped meanwhile): nothing was changed", (int)pid, why);
	return HP_CTL_UNKNOWN;
}

int hp_ctl_request(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown,
                   double timeout_seconds)
{
	return request(pid, line, fd, reply, size, unknown, timeout_seconds, NULL);
}

int hp_ctl_request_stopped(pid_t pid, const char *line, int fd, char *reply, size_t size, const char *unknown,
                           double timeout_seconds, struct hp_ctl_gate *gate)
{
	return request(pid, line, fd, reply, size, unknown, timeout_seconds, gate);
}

/* The reply's last line: "ok ..." or "error CODE MESSAGE". */
const char *hp_ctl_last_line(char *reply)
{
	size_t len = strlen(reply);
	while (len && reply[len - 1] == '\n')
		reply[--len] = 0;
	char *nl = strrchr(reply, '\n');
	return nl ? nl + 1 : reply;
}

/* The numbers of a reply, each in its range and followed by one space; NULL when one is not. */
static const char *reply_number(const char *p, long long min, long long max, long long *out)
{
	const char *end;
	return p && !hp_parse_number(p, &end, min, max, out) && *end == ' ' ? end + 1 : NULL;
}

int hp_ctl_parse_module(const char *line, struct hp_ctl_module *m)
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
int hp_ctl_parse_patch(const char *line, int *id, long long *applied, unsigned *functions, char build_id[65],
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

/* A word of a reply (no space, no tab), up to size - 1 bytes, followed by one space; NULL when
 * it is not. */
static const char *reply_word(const char *p, char *out, size_t size)
{
	size_t n = p ? strcspn(p, " \t") : 0;
	if (!p || !n || n >= size || p[n] != ' ')
		return NULL;
	memcpy(out, p, n);
	out[n] = 0;
	return p + n + 1;
}

int hp_ctl_parse_history(const char *line, struct hp_ctl_history *h)
{
	const char *p = strncmp(line, "history ", 8) ? NULL : reply_number(line + 8, LLONG_MIN, LLONG_MAX, &h->time);
	p = reply_word(p, h->event, sizeof h->event);
	p = reply_number(p, 0, INT_MAX, &h->patch);
	p = reply_number(p, 0, UINT_MAX, &h->uid);
	p = reply_number(p, 0, HP_PID_MAX, &h->pid);
	p = reply_number(p, 0, LLONG_MAX, &h->sequence);
	p = reply_word(p, h->checksum, sizeof h->checksum);
	p = reply_word(p, h->signer, sizeof h->signer);
	const char *tab = p ? strchr(p, '\t') : NULL;
	if (!tab || tab == p || (size_t)(tab - p) >= sizeof h->module)
		return -1;
	snprintf(h->module, sizeof h->module, "%.*s", (int)(tab - p), p);
	snprintf(h->detail, sizeof h->detail, "%s", tab + 1);
	return 0;
}

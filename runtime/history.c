/* history.c — the process's patch history (history.h): a ring of the newest events, and one
 * syslog line per event.
 *
 * The syslog line is sent to /dev/log here rather than through syslog(3): the library must not
 * call openlog(), which would change the ident and options of the program's own syslog calls for
 * good, and without it glibc's syslog() names the program, not "hotpatch".  What is sent is what
 * syslog(3) sends (RFC 3164: "<PRI>TIMESTAMP ident[pid]: message", facility daemon), so journald,
 * rsyslog and any log shipper take it alike.  It never blocks: with the log daemon's queue full
 * or no daemon at all the line is lost, and the in-process history still has the event. */
#define _GNU_SOURCE
#include "history.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "text.h"

static struct {
	pthread_mutex_t lock;
	struct hp_event events[HP_HISTORY_MAX];
	size_t first, count;          /* the ring: oldest at first */
	unsigned long dropped;
} history = { .lock = PTHREAD_MUTEX_INITIALIZER };

const char *hp_event_word(int kind)
{
	switch (kind) {
	case HP_EVENT_APPLY: return "apply";
	case HP_EVENT_REPLACE: return "replace";
	case HP_EVENT_REVERT: return "revert";
	case HP_EVENT_REFUSE: return "refuse";
	case HP_EVENT_START_APPLY: return "start-apply";
	case HP_EVENT_START_REFUSE: return "start-refuse";
	default: return "?";
	}
}

struct hp_requester hp_requester_self(void)
{
	return (struct hp_requester){ geteuid(), getpid(), 0, NULL };
}

/* Each field stays one field of one line: no control characters (a tab ends the module, a
 * newline the line), and in a word-sized field no spaces either. */
static void clean(char *s, int word)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (word && *s == ' '))
			*s = '?';
}

int hp_history_line(const struct hp_event *e, char *out, size_t size)
{
	char sum[33];
	hp_hex(e->checksum, 16, sum);
	int n = snprintf(out, size, "history %lld %s %d %u %d %u %s %s %s\t%s", (long long)e->time, hp_event_word(e->kind),
	                 e->patch, (unsigned)e->uid, (int)e->pid, e->sequence, sum, e->signer[0] ? e->signer : "-",
	                 e->module[0] ? e->module : "-", e->detail);
	return n > 0 && (size_t)n < size ? n : -1;
}

/* Sends one message to the local syslog daemon, as syslog(3) would: a datagram to /dev/log, or
 * where /dev/log is a stream socket, the message with a NUL after it. */
static void send_syslog(int priority, const char *message)
{
	char stamp[32], line[1200];
	time_t now = time(NULL);
	struct tm tm;
	if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm))
		snprintf(stamp, sizeof stamp, "-");
	int n = snprintf(line, sizeof line, "<%d>%s hotpatch[%d]: %s", LOG_DAEMON | priority, stamp, (int)getpid(), message);
	if (n <= 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&addr, sizeof addr) < 0 &&
	    errno == EPROTOTYPE) {
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
			(void)!send(fd, line, len + 1, MSG_NOSIGNAL);  /* with its NUL */
	}
	if (fd >= 0)
		close(fd);
}

void hp_history_add(struct hp_event *e)
{
	e->time = time(NULL);
	clean(e->signer, 1);
	clean(e->module, 0);
	clean(e->detail, 0);
	pthread_mutex_lock(&history.lock);
	if (history.count == HP_HISTORY_MAX) {  /* full: the oldest goes */
		history.first = (history.first + 1) % HP_HISTORY_MAX;
		history.count--;
		history.dropped++;
	}
	history.events[(history.first + history.count++) % HP_HISTORY_MAX] = *e;
	pthread_mutex_unlock(&history.lock);

	/* The same fields, named, for people and log shippers; the time is syslog's own. */
	char sum[33], message[1000];
	hp_hex(e->checksum, 16, sum);
	snprintf(message, sizeof message, "%s patch=%d uid=%u pid=%d sequence=%u checksum=%s signer=%s module=%s: %s",
	         hp_event_word(e->kind), e->patch, (unsigned)e->uid, (int)e->pid, e->sequence, sum,
	         e->signer[0] ? e->signer : "-", e->module[0] ? e->module : "-", e->detail);
	int refused = e->kind == HP_EVENT_REFUSE || e->kind == HP_EVENT_START_REFUSE;
	send_syslog(refused ? LOG_WARNING : LOG_NOTICE, message);
}

size_t hp_history_copy(struct hp_event *out, size_t max, unsigned long *dropped)
{
	pthread_mutex_lock(&history.lock);
	size_t n = history.count;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = history.events[(history.first + i) % HP_HISTORY_MAX];
	if (dropped)
		*dropped = history.dropped;
	pthread_mutex_unlock(&history.lock);
	return n;
}

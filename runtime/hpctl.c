/* hpctl — drives the hotpatch runtime inside a running process: apply a package, revert a patch,
 * list live patches.  Talks to the process over its control socket (control.h); the package is
 * handed over as an open file descriptor, so the process never opens a path of ours. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"

static int usage(FILE *out)
{
	fprintf(out, "usage: hpctl apply PID PACKAGE\n"
	             "       hpctl revert PID [PATCH-ID]\n"
	             "       hpctl status PID [--json]\n"
	             "       hpctl --version\n"
	             "Applies, reverts and lists live patches in process PID, which must be linked with\n"
	             "libhotpatch.  Only the process's user (or root) may do so.\n");
	return out == stdout ? 0 : 1;
}

/* The uid a process runs as, from /proc: its socket lives in that user's directory. */
static int process_uid(pid_t pid, uid_t *uid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	if (stat(path, &st))
		return -1;
	*uid = st.st_uid;
	return 0;
}

/* Sends one request (with fd, if >= 0) and collects the whole reply. */
static int request(pid_t pid, const char *line, int fd, char *reply, size_t size)
{
	uid_t uid;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (process_uid(pid, &uid)) {
		fprintf(stderr, "hpctl: no process %d\n", (int)pid);
		return -1;
	}
	if (hp_control_path(addr.sun_path, sizeof addr.sun_path, pid, uid)) {
		fprintf(stderr, "hpctl: socket path too long\n");
		return -1;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr)) {
		int saved = errno;
		char dir[200];
		struct stat st;
		fprintf(stderr, "hpctl: process %d has no hotpatch runtime listening at %s: %s\n", (int)pid,
		        addr.sun_path, strerror(saved));
		/* The runtime will not listen in a directory others can write or read. */
		if (saved == ENOENT && !hp_control_dir(dir, sizeof dir, uid) && stat(dir, &st) == 0 &&
		    ((st.st_mode & 077) || st.st_uid != uid))
			fprintf(stderr, "hpctl: %s must be mode 0700 and owned by uid %u\n", dir, (unsigned)uid);
		if (s >= 0)
			close(s);
		return -1;
	}
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
	if (sendmsg(s, &msg, 0) < 0) {
		fprintf(stderr, "hpctl: process %d: %s\n", (int)pid, strerror(errno));
		close(s);
		return -1;
	}
	size_t got = 0;
	ssize_t n;
	while (got + 1 < size && (n = read(s, reply + got, size - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = 0;
	close(s);
	return 0;
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

static int failed(pid_t pid, const char *last)
{
	int code = 0, at = 0;
	if (sscanf(last, "error %d %n", &code, &at) >= 1)
		fprintf(stderr, "hpctl: process %d: %s\n", (int)pid, last + at);
	else
		fprintf(stderr, "hpctl: process %d: unexpected reply: %s\n", (int)pid, last);
	return 1;
}

static int status(pid_t pid, int json)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	if (request(pid, "status\n", -1, reply, sizeof reply))
		return 1;
	const char *last = last_line(reply);
	if (strncmp(last, "ok", 2))
		return failed(pid, last);
	int count = 0;
	printf(json ? "{\"pid\":%d,\"patches\":[" : "process %d: ", (int)pid);
	for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
		int id;
		long long applied;
		unsigned functions;
		char build_id[65], sum[33], module[512];
		if (sscanf(line, "patch %d %lld %u %64s %32s %511[^\n]", &id, &applied, &functions, build_id, sum,
		           module) != 6)
			continue;
		if (json) {
			printf("%s{\"id\":%d,\"applied\":%lld,\"functions\":%u,\"build_id\":\"%s\",\"checksum\":\"%s\","
			       "\"module\":\"",
			       count ? "," : "", id, applied, functions, build_id, sum);
			for (const char *p = module; *p; p++)
				printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
			printf("\"}");
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
	if (json)
		printf("]}\n");
	else if (!count)
		printf("no live patch\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hpctl %s\n", HOTPATCH_VERSION);
		return 0;
	}
	if (argc < 3)
		return usage(stderr);
	char *end;
	long pid = strtol(argv[2], &end, 10);
	if (*end || pid <= 0) {
		fprintf(stderr, "hpctl: %s: not a process id\n", argv[2]);
		return 1;
	}
	static char reply[HP_CONTROL_MAX_REPLY];
	if (!strcmp(argv[1], "apply") && argc == 4) {
		int fd = open(argv[3], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "hpctl: %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		int rc = request((pid_t)pid, "apply\n", fd, reply, sizeof reply);
		close(fd);
		if (rc)
			return 1;
		const char *last = last_line(reply);
		int id;
		if (sscanf(last, "ok %d", &id) != 1)
			return failed((pid_t)pid, last);
		printf("process %ld: applied %s as patch %d\n", pid, argv[3], id);
		return 0;
	}
	if (!strcmp(argv[1], "revert") && (argc == 3 || argc == 4)) {
		char line[64];
		snprintf(line, sizeof line, "revert %s\n", argc == 4 ? argv[3] : "0");
		if (request((pid_t)pid, line, -1, reply, sizeof reply))
			return 1;
		const char *last = last_line(reply);
		if (strncmp(last, "ok", 2))
			return failed((pid_t)pid, last);
		printf("process %ld: reverted %s\n", pid, argc == 4 ? argv[3] : "the newest patch");
		return 0;
	}
	if (!strcmp(argv[1], "status") && (argc == 3 || (argc == 4 && !strcmp(argv[3], "--json"))))
		return status((pid_t)pid, argc == 4);
	return usage(stderr);
}

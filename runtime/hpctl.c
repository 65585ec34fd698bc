/* hpctl — drives the hotpatch runtime inside running processes: apply a package, revert a patch,
 * list live patches and the process's history, to one process or to every process of one build
 * (--all), and store a package for the runtime to apply when the program starts (--persist).
 * Talks to each process over its control socket (control.h), which hpctl_connect.c finds and
 * connects to; the package is handed over as an open file descriptor, so the process never opens
 * a path of ours; hpctl_reply.c carries each request and reads the answer.  This file parses the
 * command line, prints the answers (as text, or one JSON object per process), and chooses the
 * exit status from one table, for scripts.  It is a little over 600 lines because each
 * subcommand's text and JSON output sit together, so that the two stay alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "hotpatch.h"
#include "hpctl.h"
#include "hpctl_attach.h"
#include "hpctl_safe.h"
#include "persist.h"
#include "text.h"

#define DEFAULT_TIMEOUT 30

/* How long the process has to take the request and answer it, in all. */
static double timeout_seconds = DEFAULT_TIMEOUT;

/* The exit statuses (enum hp_ctl_exit), their word in --json ("result") and what they mean, as
 * --help prints them; hpctl(1) has the same table. */
static const struct {
	int code;
	const char *word, *meaning;
} exit_table[] = {
	{ HP_CTL_OK, "ok", "applied, reverted, listed or removed (every process, with --all)" },
	{ HP_CTL_ERROR, "error", "usage, or hpctl's own part failed (package file, persisting, a reply it cannot read)" },
	{ HP_CTL_REFUSED, "refused", "the process refused: a corrupt, untrusted or older package, code not as the "
	                             "package expects, no such patch, a conflict" },
	{ HP_CTL_NOT_BUILD, "not-this-build", "not this build: the process runs none of the package's modules, or "
	                                      "another build of one; --all found no process; nothing was stored" },
	{ HP_CTL_UNREACHABLE, "unreachable", "no runtime reachable: no such process, stopped, not linked with "
	                                     "libhotpatch, channel disabled, a socket hpctl does not trust" },
	{ HP_CTL_DENIED, "denied", "permission denied: only root, or the user the process wholly runs as, may patch it" },
	{ HP_CTL_UNKNOWN, "unknown", "timeout: no whole answer in time; for apply and revert the outcome is unknown "
	                             "(run hpctl status)" },
	{ HP_CTL_BUSY, "busy", "--safe: a thread stayed inside code the package replaces until the wait ran out; the "
	                       "process is unchanged" },
	{ HP_CTL_VETOED, "vetoed", "a pre-apply or pre-revert hook of the package refused the switch (its reason is "
	                           "the message); the process is unchanged" },
	{ HP_CTL_UNSUPPORTED, "unsupported", "this hpctl was built without what the request needs (--safe, loading the "
	                                     "runtime: no ptrace support for the processor, or no libdw); nothing was sent" },
};

static const char *exit_word(int code)
{
	for (size_t i = 0; i < sizeof exit_table / sizeof *exit_table; i++)
		if (exit_table[i].code == code)
			return exit_table[i].word;
	return "error";
}

/* The one place that maps the runtime's refusals ("error CODE MESSAGE", CODE an hp_error of
 * hotpatch.h, 0 for the channel's own) to an exit status.  Codes the runtime may add later are
 * refusals too. */
static int exit_for_runtime(long long code, const char *message)
{
	if (code == HP_E_MODULE)
		return HP_CTL_NOT_BUILD;
	if (code == HP_E_VETOED)
		return HP_CTL_VETOED;
	if (code == 0)  /* the channel's: who may patch, or a request it does not understand */
		return !strncmp(message, "permission denied", 17) ? HP_CTL_DENIED : HP_CTL_ERROR;
	return HP_CTL_REFUSED;
}

char hp_ctl_last_error[1024];

void hp_ctl_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(hp_ctl_last_error, sizeof hp_ctl_last_error, fmt, ap);
	va_end(ap);
	hp_ctl_last_error[strcspn(hp_ctl_last_error, "\n")] = 0;
	fprintf(stderr, "hpctl: %s\n", hp_ctl_last_error);
}

/* Options, wherever they are on the command line. */
static int json, persist, force, no_attach;
static const char *all;  /* --all EXECUTABLE|BUILD-ID */
/* --safe[=SECONDS]: switch only when no thread is inside a replaced function, waiting this long
 * at most (hpctl_safe.h); 0: at once, as the runtime does by itself. */
static double safe_wait;
#define DEFAULT_SAFE_WAIT 10

/* What this hpctl cannot do (hpctl.h: HPCTL_STOP_WORLD, HPCTL_SAFE_SWITCH), as --help says it,
 * and as the refusal of --safe says it, in one line. */
#if !HPCTL_STOP_WORLD
static const char lacking[] = "This hpctl (" HPCTL_PROCESSOR ") cannot stop a process's threads (ptrace), so it\n"
                              "refuses --safe and loading the runtime (exit 9); the rest works.\n";
#define NO_SAFE_SWITCH "it cannot stop a process's threads on " HPCTL_PROCESSOR " (no ptrace support for the processor)"
#elif !HPCTL_SAFE_SWITCH
static const char lacking[] = "This hpctl was built without elfutils' libdw, so it refuses --safe (exit 9).\n";
#define NO_SAFE_SWITCH "it was built without elfutils' libdw, which unwinds the stopped threads"
#else
static const char lacking[] = "";
#endif

static int usage(FILE *out)
{
	fprintf(out, "usage: hpctl [OPTIONS] apply [--persist] [--force] [--no-attach] [--safe[=SECONDS]]\n"
	             "                         PID|--all EXECUTABLE|BUILD-ID PACKAGE\n"
	             "       hpctl [OPTIONS] revert [--safe[=SECONDS]] PID|--all EXECUTABLE|BUILD-ID [PATCH-ID]\n"
	             "       hpctl [OPTIONS] status PID|--all EXECUTABLE|BUILD-ID\n"
	             "       hpctl [OPTIONS] unpersist BUILD-ID|PID [CHECKSUM]\n"
	             "       hpctl --version\n"
	             "Applies, reverts and lists live patches in process PID, or in every running process\n"
	             "of a build (--all: an executable or library file, or a build-id in hex).  Only root,\n"
	             "or the user the process wholly runs as, may do so.  apply loads libhotpatch\n"
	             "($HOTPATCH_RUNTIME, else the one installed with hpctl) into a process built with the\n"
	             "hotpatch plugin but not linked with it (ptrace: root, or its own user where ptrace is\n"
	             "allowed); --no-attach refuses instead.  --persist also stores the package in\n"
	             "%s/BUILD-ID/ (base:\n"
	             "$HOTPATCH_PERSIST_DIR) for the runtime to apply when the program starts again;\n"
	             "unpersist removes it.  --force applies a package older than the live one.\n"
	             "--safe switches only at a moment when no thread is inside code the apply or revert\n"
	             "takes out of use (each thread stopped with ptrace and its stack unwound), retrying\n"
	             "for up to SECONDS (default %d); without it the functions switch at once, threads\n"
	             "inside them finishing in the old code.\n"
	             "Options: --timeout SECONDS (default %d: how long each process has to answer),\n"
	             "--json (one JSON object per process on standard output).\n"
	             "%s"
	             "Exit status (with --all, the highest of the processes'):\n", HP_PERSIST_DIR,
	        DEFAULT_SAFE_WAIT, DEFAULT_TIMEOUT, lacking);
	for (size_t i = 0; i < sizeof exit_table / sizeof *exit_table; i++)
		fprintf(out, "  %d %-14s %s\n", exit_table[i].code, exit_table[i].word, exit_table[i].meaning);
	return out == stdout ? HP_CTL_OK : HP_CTL_ERROR;
}

/* The runtime's refusal, one line (with the package's file when there is one; package NULL
 * otherwise); returns its exit status. */
static int failed(pid_t pid, const char *package, const char *last)
{
	long long code;
	const char *at;
	char what[4200] = "";
	if (package)
		snprintf(what, sizeof what, " refused %s", package);
	if (!strncmp(last, "error ", 6) && !hp_parse_number(last + 6, &at, 0, 1000, &code) && *at == ' ') {
		hp_ctl_error("process %d%s: %s", (int)pid, what, at + 1);
		return exit_for_runtime(code, at + 1);
	}
	hp_ctl_error("process %d%s: unexpected reply: %s", (int)pid, what, last);
	return HP_CTL_ERROR;
}

/* The start of a process's --json object, and its end with the outcome. */
static void json_open(pid_t pid, const char *command)
{
	printf("{\"pid\":%d,\"command\":\"%s\"", (int)pid, command);
}

static int json_close(int code, const char *success)
{
	printf(",\"result\":\"%s\",\"exit\":%d", code ? exit_word(code) : success, code);
	if (code) {
		printf(",\"error\":");
		hp_json_string(hp_ctl_last_error);
	}
	printf("}\n");
	fflush(stdout);
	return code;
}

/* A JSON string, or null for the reply's "-" (none). */
static void json_or_null(const char *s)
{
	if (!strcmp(s, "-"))
		printf("null");
	else
		hp_json_string(s);
}

static void print_history(const struct hp_ctl_history *h, int first)
{
	if (json) {
		printf("%s{\"time\":%lld,\"event\":", first ? "" : ",", h->time);
		hp_json_string(h->event);
		printf(",\"patch\":%lld,\"uid\":%lld,\"pid\":%lld,\"sequence\":%lld,\"checksum\":", h->patch, h->uid, h->pid,
		       h->sequence);
		json_or_null(h->checksum);
		printf(",\"signer\":");
		json_or_null(h->signer);
		printf(",\"module\":");
		json_or_null(h->module);
		printf(",\"detail\":");
		hp_json_string(h->detail);
		printf("}");
		return;
	}
	char when[32];
	time_t t = (time_t)h->time;
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(when, sizeof when, "%lld", h->time);
	if (first)
		printf("history\n  %-19s %-9s %-5s %-4s %-6s %-7s %-16s %-12s %s\n", "TIME", "EVENT", "PATCH", "SEQ", "UID",
		       "PID", "CHECKSUM", "SIGNER", "MODULE");
	printf("  %-19s %-9s %-5lld %-4lld %-6lld %-7lld %-16.16s %-12s %s%s%s\n", when, h->event, h->patch, h->sequence,
	       h->uid, h->pid, h->checksum, h->signer, h->module, *h->detail ? ": " : "", h->detail);
}

/* The process's trust policy, from its "policy unsigned-accepted", "policy signed-by N ID..." or
 * "policy refuses-all REASON" line: a sentence, or a "policy" member of the --json object. */
static void print_policy(const char *policy)
{
	if (!policy)
		return;
	const char *keys = !strncmp(policy, "signed-by ", 10) ? strchr(policy + 10, ' ') : NULL;
	if (json) {
		if (!strcmp(policy, "unsigned-accepted"))
			printf(",\"policy\":{\"accepts\":\"unsigned\"");
		else if (keys) {
			printf(",\"policy\":{\"accepts\":\"signed\",\"keys\":[");
			char id[17];
			int n = 0, at;
			for (const char *p = keys; sscanf(p, " %16[0-9a-f]%n", id, &at) == 1; p += at)
				printf("%s\"%s\"", n++ ? "," : "", id);
			printf("]");
		} else if (!strncmp(policy, "refuses-all ", 12)) {
			printf(",\"policy\":{\"accepts\":\"none\",\"reason\":");
			hp_json_string(policy + 12);
		} else {
			printf(",\"policy\":{\"accepts\":\"unknown\"");
		}
		printf("}");
		return;
	}
	if (!strcmp(policy, "unsigned-accepted"))
		printf("policy: accepts unsigned packages (no trust policy)\n");
	else if (keys)
		printf("policy: applies only packages signed by trusted keys (%s)\n", policy + 10);
	else if (!strncmp(policy, "refuses-all ", 12))
		printf("policy: refuses every package: %s\n", policy + 12);
}

static int status_one(pid_t pid)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	int rc = hp_ctl_request(pid, "status\n", -1, reply, sizeof reply, NULL, timeout_seconds);
	const char *last = rc ? NULL : hp_ctl_last_line(reply);
	if (!rc && strncmp(last, "ok", 2))
		rc = failed(pid, NULL, last);
	if (rc) {
		if (json) {
			json_open(pid, "status");
			json_close(rc, "ok");
		}
		return rc;
	}
	int count = 0, events = 0;
	size_t skipped = 0, past = 0;
	char *skipped_lines[256], *history_lines[1024];
	const char *policy = NULL;  /* the POLICY line (control.h): which packages the process takes */
	if (json)
		printf("{\"pid\":%d,\"command\":\"status\",\"patches\":[", (int)pid);
	else
		printf("process %d: ", (int)pid);
	for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
		int id;
		if (!strncmp(line, "module ", 7) && skipped < sizeof skipped_lines / sizeof *skipped_lines)
			skipped_lines[skipped++] = line;
		if (!strncmp(line, "history ", 8) && past < sizeof history_lines / sizeof *history_lines)
			history_lines[past++] = line;
		if (!strncmp(line, "policy ", 7))
			policy = line + 7;
		long long applied;
		unsigned functions;
		char build_id[65], sum[33], module[512];
		if (hp_ctl_parse_patch(line, &id, &applied, &functions, build_id, sum, module))
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
		struct hp_ctl_module m;
		if (hp_ctl_parse_module(skipped_lines[i], &m) || m.applied)
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
	if (!json && !count)
		printf("no live patch\n");
	if (!json)
		print_policy(policy);
	/* Then what happened to the process, oldest first, as its runtime recorded it. */
	if (json)
		printf("],\"history\":[");
	for (size_t i = 0; i < past; i++) {
		struct hp_ctl_history h;
		if (!hp_ctl_parse_history(history_lines[i], &h))
			print_history(&h, !events++);
	}
	if (json) {
		printf("]");
		print_policy(policy);
		return json_close(HP_CTL_OK, "ok");
	}
	return HP_CTL_OK;
}

/* What is stored by --persist, once for all the processes of one command. */
static struct hp_ctl_persisted stored[64];
static int stored_count = -1;  /* -1: not stored yet */

/* What a safe switch cost (hpctl_safe.h), after its answer; nothing without --safe. */
static void print_switch(const struct hp_ctl_switch *sw)
{
	if (!sw->attempts)
		return;  /* not a safe switch */
	if (json)
		printf(",\"switch\":{\"threads\":%zu,\"stopped_ms\":%.3f,\"attempts\":%u,\"waited_ms\":%.3f}",
		       sw->threads, sw->stopped_ms, sw->attempts, sw->waited_ms);
	else
		printf("  switched safely: %zu thread%s stopped for %.1f ms, after %u attempt%s in %.0f ms\n", sw->threads,
		       sw->threads == 1 ? "" : "s", sw->stopped_ms, sw->attempts, sw->attempts == 1 ? "" : "s", sw->waited_ms);
}

/* Sends line (with the package open as fd, for an apply; revert: the patch a revert takes out of
 * use, INT_MAX the newest) and collects the reply: the safe way when --safe asked for it, which in
 * an hpctl without the safe switch main refuses before anything is sent. */
static int request(pid_t pid, const char *line, int fd, const char *package, int revert, char *reply, size_t size,
                   const char *unknown, struct hp_ctl_switch *sw)
{
#if HPCTL_SAFE_SWITCH
	if (safe_wait > 0)
		return hp_ctl_safe_request(pid, line, fd, package, revert, reply, size, safe_wait, timeout_seconds, sw);
#else
	(void)package;
	(void)revert;
	(void)sw;
#endif
	return hp_ctl_request(pid, line, fd, reply, size, unknown, timeout_seconds);
}

static int apply_one(pid_t pid, int fd, const char *package)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	/* A process built with the plugin but with no runtime gets one first (hpctl_attach.c). */
	enum hp_ctl_attach_outcome attach;
	char library[4096] = "";
	int rc = hp_ctl_attach(pid, !no_attach, timeout_seconds, &attach, library, sizeof library);
	if (rc) {
		if (json) {
			json_open(pid, "apply");
			printf(",\"package\":");
			hp_json_string(package);
			return json_close(rc, "applied");
		}
		return rc;
	}
	if (attach == HP_ATTACH_LOADED && !json)
		printf("process %d: loaded the hotpatch runtime %s\n", (int)pid, library);
	const char *line = force ? "apply-force\n" : "apply\n";
	struct hp_ctl_switch sw = { 0 };
	rc = request(pid, line, fd, package, 0, reply, sizeof reply, "whether the package was applied", &sw);
	const char *last = rc ? NULL : hp_ctl_last_line(reply);
	long long id = 0;
	if (!rc && (strncmp(last, "ok ", 3) || hp_parse_number(last + 3, NULL, 1, INT_MAX, &id)))
		rc = failed(pid, package, last);
	if (json) {
		json_open(pid, "apply");
		printf(",\"package\":");
		hp_json_string(package);
		if (attach == HP_ATTACH_LOADED)  /* only then: the object is as before for the others */
			printf(",\"attached\":true");
	}
	if (rc)
		return json ? json_close(rc, "applied") : rc;
	if (json)
		printf(",\"patch\":%lld,\"modules\":[", id);
	else
		printf("process %d: applied %s as patch %lld\n", (int)pid, package, id);
	/* Then what became of each of the package's modules. */
	int n = 0;
	for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
		struct hp_ctl_module m;
		if (hp_ctl_parse_module(line, &m))
			continue;
		if (json) {
			printf("%s{\"name\":", n++ ? "," : "");
			hp_json_string(m.name);
			printf(",\"state\":\"%s\",\"functions\":%u,\"path\":", m.applied ? "applied" : "skipped", m.functions);
			hp_json_string(m.path);
			printf("}");
		} else if (m.applied) {
			printf("  %s: applied, %u function%s (%s)\n", m.name, m.functions, m.functions == 1 ? "" : "s", m.path);
		} else {
			printf("  %s: skipped: not loaded in this process\n", m.name);
		}
	}
	if (json)
		printf("]");
	print_switch(&sw);
	/* Stored only once applied, and once for all the processes: the runtime will apply it at
	 * start as it was applied here. */
	if (persist && stored_count < 0) {
		stored_count = hp_ctl_persist(fd, package, pid, stored, (int)(sizeof stored / sizeof *stored));
		if (stored_count < 0) {
			hp_ctl_error("process %d: applied %s as patch %lld, but it could not be stored for restarts", (int)pid,
			             package, id);
			rc = HP_CTL_ERROR;
		}
	}
	if (persist && stored_count >= 0) {
		if (json)
			printf(",\"persisted\":[");
		for (int i = 0; i < stored_count; i++) {
			if (json) {
				printf("%s{\"build_id\":\"%s\",\"path\":", i ? "," : "", stored[i].build_id);
				hp_json_string(stored[i].path);
				printf("}");
			} else {
				printf("  stored for restarts: %s\n", stored[i].path);
			}
		}
		if (json)
			printf("]");
	}
	return json ? json_close(rc, "applied") : rc;
}

static int revert_one(pid_t pid, long long id, const char *named)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	char line[64];
	snprintf(line, sizeof line, "revert %lld\n", id);
	struct hp_ctl_switch sw = { 0 };
	int rc = request(pid, line, -1, NULL, id ? (int)id : INT_MAX, reply, sizeof reply,
	                 "whether the patch was reverted", &sw);
	const char *last = rc ? NULL : hp_ctl_last_line(reply);
	if (!rc && strcmp(last, "ok"))
		rc = failed(pid, NULL, last);
	if (json) {
		json_open(pid, "revert");
		printf(",\"patch\":%lld", id);
		if (!rc)
			print_switch(&sw);
		return json_close(rc, "reverted");
	}
	if (!rc) {
		printf("process %d: reverted %s\n", (int)pid, named ? named : "the newest patch");
		print_switch(&sw);
	}
	return rc;
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

/* Takes the flags (--json, --persist, --force, --no-attach, --safe[=SECONDS], --all VALUE) out of
 * argv, wherever they are;
 * -1 (reported) when --all has no value. */
static int take_flags(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		int used = 1;
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--persist"))
			persist = 1;
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--no-attach"))
			no_attach = 1;
		else if (!strcmp(argv[i], "--safe"))
			safe_wait = DEFAULT_SAFE_WAIT;
		else if (!strncmp(argv[i], "--all=", 6))
			all = argv[i] + 6;
		else if (!strcmp(argv[i], "--all") && i + 1 < *argc && (used = 2))
			all = argv[i + 1];
		else if (!strcmp(argv[i], "--all"))
			all = "";
		else if (strncmp(argv[i], "--safe=", 7))
			continue;
		else if (parse_seconds(argv[i] + 7, &safe_wait)) {
			hp_ctl_error("--safe: '%s' is not a number of seconds (more than 0, at most 86400)", argv[i] + 7);
			return -1;
		}
		for (int j = i; j + used <= *argc; j++)
			argv[j] = argv[j + used];
		*argc -= used;
		i--;
	}
	if (all && !*all) {
		hp_ctl_error("--all: name an executable or library file, or a build-id in hex");
		return -1;
	}
	return 0;
}

/* Which command, and its arguments. */
struct command {
	int (*one)(pid_t pid, const struct command *c);
	const char *verb;  /* for --all's summary: "applied", ... */
	int fd;            /* apply: the package */
	const char *package;
	long long patch;   /* revert */
	const char *named;
};

static int do_apply(pid_t pid, const struct command *c) { return apply_one(pid, c->fd, c->package); }
static int do_revert(pid_t pid, const struct command *c) { return revert_one(pid, c->patch, c->named); }
static int do_status(pid_t pid, const struct command *c) { (void)c; return status_one(pid); }

/* The command for every running process of one build, each reported; the exit status is the
 * highest of theirs (0 only when every one succeeded), HP_CTL_NOT_BUILD when there is none. */
static int for_all(const char *target, const struct command *c)
{
	struct hp_ctl_build build;
	pid_t *pids = NULL;
	size_t count = 0;
	if (hp_ctl_build_parse(target, &build) || hp_ctl_find_processes(&build, &pids, &count))
		return HP_CTL_ERROR;
	if (!count) {
		hp_ctl_error("no running process of %s", target);
		free(pids);
		return HP_CTL_NOT_BUILD;
	}
	int worst = HP_CTL_OK;
	size_t done = 0;
	for (size_t i = 0; i < count; i++) {
		int rc = c->one(pids[i], c);
		done += rc == HP_CTL_OK;
		worst = rc > worst ? rc : worst;
	}
	if (!json && c->one != do_status)
		printf("%s: %s %zu of %zu process%s\n", target, c->verb, done, count, count == 1 ? "" : "es");
	free(pids);
	return worst;
}

/* unpersist BUILD-ID|PID [CHECKSUM]: a process id (at most 7 digits) stands for the build-ids of
 * every file it has mapped. */
static int unpersist(const char *what, const char *checksum)
{
	uint8_t bytes[32];
	if (checksum && (strlen(checksum) != 32 || hp_ctl_hex_parse(checksum, bytes) != 16)) {
		hp_ctl_error("%s: not a package checksum (32 hex digits)", checksum);
		return HP_CTL_ERROR;
	}
	long long pid = 0;
	uint8_t ids[64][32];
	size_t sizes[64];
	int n;
	if (strlen(what) <= 7 && !hp_parse_number(what, NULL, 1, HP_PID_MAX, &pid)) {
		n = hp_ctl_process_build_ids((pid_t)pid, ids, sizes, 64);
		if (n < 0) {
			hp_ctl_error("no process %lld (or its maps are not ours to read)", pid);
			return HP_CTL_UNREACHABLE;
		}
	} else if ((sizes[0] = hp_ctl_hex_parse(what, ids[0]))) {
		n = 1;
	} else {
		hp_ctl_error("%s: neither a process id nor a build-id (2 to 64 hex digits)", what);
		return HP_CTL_ERROR;
	}
	struct hp_ctl_persisted removed[256];
	int total = 0, rc = HP_CTL_OK;
	for (int i = 0; i < n && total < 256; i++) {
		char hex[65];
		hp_hex(ids[i], sizes[i], hex);
		int k = hp_ctl_unpersist(hex, checksum, removed + total, 256 - total);
		if (k < 0)
			rc = HP_CTL_ERROR;
		else
			total += k;
	}
	if (!rc && !total) {
		hp_ctl_error("nothing stored for %s%s%s in %s", pid ? "process " : "build-id ", what,
		             checksum ? " with that checksum" : "", hp_ctl_persist_base());
		rc = HP_CTL_NOT_BUILD;
	}
	if (json) {
		if (pid) {
			printf("{\"pid\":%lld", pid);
		} else {
			printf("{\"build_id\":");
			hp_json_string(what);
		}
		printf(",\"command\":\"unpersist\",\"removed\":[");
	}
	for (int i = 0; i < total; i++) {
		if (json) {
			printf("%s{\"build_id\":\"%s\",\"path\":", i ? "," : "", removed[i].build_id);
			hp_json_string(removed[i].path);
			printf("}");
		} else {
			printf("removed %s\n", removed[i].path);
		}
	}
	if (json) {
		printf("]");
		json_close(rc, "ok");
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (take_timeout(&argc, argv) || take_flags(&argc, argv))
		return HP_CTL_ERROR;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return usage(stdout);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hpctl %s\n", HOTPATCH_VERSION);
		return HP_CTL_OK;
	}
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	if ((persist || force || no_attach) && strcmp(cmd, "apply"))
		return usage(stderr);
	if (safe_wait > 0 && strcmp(cmd, "apply") && strcmp(cmd, "revert"))
		return usage(stderr);
#if !HPCTL_SAFE_SWITCH
	/* Refused before any process is asked anything: one line, whatever --all would find. */
	if (safe_wait > 0) {
		hp_ctl_error("--safe is not available in this hpctl: %s; nothing was sent", NO_SAFE_SWITCH);
		return HP_CTL_UNSUPPORTED;
	}
#endif
	if (!strcmp(cmd, "unpersist")) {
		if (all || argc < 3 || argc > 4)
			return usage(stderr);
		return unpersist(argv[2], argc == 4 ? argv[3] : NULL);
	}
	/* The process (in range before anything: 4294967297 is not process 1), unless --all. */
	char **args = argv + 2;
	int nargs = argc - 2;
	long long pid = 0;
	if (!all) {
		if (nargs < 1)
			return usage(stderr);
		if (hp_parse_number(args[0], NULL, 1, INT_MAX, &pid)) {
			hp_ctl_error("%s: not a process id (1 to %d)", args[0], INT_MAX);
			return HP_CTL_ERROR;
		}
		args++;
		nargs--;
	}
	struct command c = { .fd = -1 };
	if (!strcmp(cmd, "apply") && nargs == 1) {
		c.one = do_apply;
		c.verb = "applied to";
		c.package = args[0];
		c.fd = open(args[0], O_RDONLY | O_CLOEXEC);
		if (c.fd < 0) {
			hp_ctl_error("%s: %s", args[0], strerror(errno));
			return HP_CTL_ERROR;
		}
		/* A package with entries that only a stopped world may switch (padding-only code) goes
		 * the safe way by itself, to every process: the runtime would refuse it otherwise.
		 * Without the safe switch it is sent as it is, and the runtime refuses it, saying why
		 * (exit 2); no AArch64 code has such entries (contract/site_aarch64.c). */
#if HPCTL_SAFE_SWITCH
		if (safe_wait <= 0 && hp_ctl_package_needs_stopped_world(c.fd) == 1)
			safe_wait = DEFAULT_SAFE_WAIT;
#endif
	} else if (!strcmp(cmd, "revert") && nargs <= 1) {
		c.one = do_revert;
		c.verb = "reverted in";
		if (nargs == 1 && hp_parse_number(args[0], NULL, 0, INT_MAX, &c.patch)) {
			hp_ctl_error("%s: not a patch id (0 to %d)", args[0], INT_MAX);
			return HP_CTL_ERROR;
		}
		c.named = nargs == 1 ? args[0] : NULL;
	} else if (!strcmp(cmd, "status") && nargs == 0) {
		c.one = do_status;
		c.verb = "listed";
	} else {
		return usage(stderr);
	}
	int rc = all ? for_all(all, &c) : c.one((pid_t)pid, &c);
	if (c.fd >= 0)
		close(c.fd);
	return rc;
}

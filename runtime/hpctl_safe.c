/* hpctl_safe.c — the safe switch (hpctl apply --safe): a package is applied only at a moment when
 * no thread of the process is inside a function it replaces.
 *
 * Without it, the runtime redirects a function's entry at once: a thread already inside the old
 * function finishes it in the old code, and a thread that returns into it later does too.  That
 * is right for most security fixes, but not for one that changes what a function and its callers
 * agree on (a buffer's size, a lock taken by one and released by the other).  Like the kernel's
 * livepatch consistency model, the safe switch waits for a moment when no thread has a frame in
 * such a function:
 *   1. the runtime's status says which thread serves the channel (it must keep running to apply
 *      the package) and where the new code of every live patch lies;
 *   2. every other thread is stopped (hpctl_world.h) and its stack unwound with elfutils' libdwfl
 *      from the CFI of the binaries;
 *   3. if no frame is inside an old function the package redirects (its padding included), inside
 *      the code of a live patch the package replaces, or inside code that holds a lock the
 *      runtime takes while it applies (the dynamic linker, libgcc's unwinder, libc's allocator,
 *      dl_iterate_phdr, fork), the apply request is sent while the threads stay stopped: the
 *      runtime writes the sites only on hpctl's "go", given while it still holds them, and the
 *      threads go once it says the sites are written (control.h);
 *   4. otherwise the threads resume at once and the check is retried, waiting longer each time,
 *      until the wait runs out: then hpctl names the thread and the function, and the process
 *      has not been changed.
 * What cannot be seen is not known to be safe: a stack that cannot be unwound to its end, and a
 * frame in code with no unwind record, count as busy. */
#define _GNU_SOURCE
#include "hpctl_safe.h"

#include <elfutils/libdwfl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "hpctl.h"
#include "hpctl_world.h"
#include "package_read.h"
#include "site.h"

/* Code no thread may be running when the switch is made: an address range and what it is, for
 * the message.  All of them are found before the threads are stopped, so that checking a frame
 * is a comparison of addresses. */
enum busy_kind {
	BUSY_FUNCTION,                 /* an old function the package redirects, with its padding */
	BUSY_PATCH_CODE,               /* the code of a live patch taken out of use */
	BUSY_LOADER,                   /* the dynamic linker, libgcc's unwinder: the runtime takes their locks */
	BUSY_LIBC_LOCK,                /* malloc and its kin, dl_iterate_phdr, fork in libc: likewise */
};

struct busy_range {
	uint64_t start, end;
	enum busy_kind kind;
	int patch;                     /* BUSY_PATCH_CODE */
	char name[128];                /* the function, or the module */
	char module[128];
};

struct plan {
	struct busy_range *ranges;
	size_t range_count;
	int reverting;                 /* a revert: no package */
	pid_t serving;                 /* the runtime's channel thread: left running */
};

static int add_range(struct plan *plan, const struct busy_range *r)
{
	struct busy_range *grown = realloc(plan->ranges, (plan->range_count + 1) * sizeof *grown);
	if (!grown)
		return -1;
	plan->ranges = grown;
	grown[plan->range_count++] = *r;
	return 0;
}

/* Why the world could not be switched this time: the first busy frame found. */
struct busy {
	pid_t tid;
	char what[400];
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The package, or NULL after saying why (naming the file) unless name is NULL. */
static struct hp_package *read_package(int fd, const char *name, uint8_t **bytes)
{
	size_t size;
	char why[300];
	struct hp_package *pkg;
	if (hp_ctl_package_read(fd, bytes, &size, &pkg, why, sizeof why)) {
		if (name)
			hp_ctl_error("%s: %s", name, why);
		return NULL;
	}
	return pkg;
}

/* libc functions a thread may be inside while it holds a lock the runtime's apply needs: the
 * allocator's arena locks; the loader's lock, which dl_iterate_phdr holds while it calls back
 * into the program (the runtime walks the modules with it); fork, which holds every lock of the
 * allocator while it copies the process. */
static int holds_runtime_lock(const char *fn)
{
	static const char *const names[] = { "malloc", "free", "calloc", "realloc", "memalign", "posix_memalign",
		                             "aligned_alloc", "valloc", "pvalloc", "malloc_trim", "dl_iterate_phdr",
		                             "fork", "_Fork", "__fork" };
	if (!fn)
		return 0;
	if (!strncmp(fn, "__libc_", 7))
		fn += 7;
	if (!strncmp(fn, "_int_", 5) || !strncmp(fn, "malloc_", 7) || !strncmp(fn, "tcache_", 7) ||
	    !strncmp(fn, "arena_", 6))
		return 1;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(fn, names[i]))
			return 1;
	return 0;
}

int hp_ctl_package_needs_stopped_world(int fd)
{
	uint8_t *bytes;
	struct hp_package *pkg = read_package(fd, NULL, &bytes);
	if (!pkg)
		return -1;
	int needs = 0;
	for (uint32_t i = 0; i < pkg->module_count; i++)
		for (uint32_t k = 0; k < pkg->modules[i].redirect_count; k++)
			needs |= (pkg->modules[i].redirects[k].flags & HP_REDIRECT_STOPPED_WORLD) != 0;
	hp_package_free(pkg);
	free(bytes);
	return needs;
}

/* Where the function at entry ends, as the distance from entry: its symbol's size, or in a
 * stripped file (the symbol table is gone) as far as the unwind table (.eh_frame, which
 * stripping keeps) describes code without a gap from the entry on.  libdw gives the rows of a
 * function's unwind record, not the record's extent, so the rows are walked until an address no
 * record covers: the padding before the next function built with the plugin, or alignment
 * bytes.  Where the next function follows with no gap the walk runs on into it: a larger range,
 * which errs on the safe side.  0 when neither says. */
static uint64_t function_size(Dwfl_Module *mod, uint64_t entry)
{
	GElf_Off offset = 0;
	GElf_Sym sym;
	const char *fn = dwfl_module_addrinfo(mod, entry, &offset, &sym, NULL, NULL, NULL);
	if (fn && !offset && sym.st_size)
		return sym.st_size;
	Dwarf_Addr cfi_bias, start, end, at = entry;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &cfi_bias);
	for (int rows = 0; cfi && rows < 100000; rows++) {
		Dwarf_Frame *frame = NULL;
		if (dwarf_cfi_addrframe(cfi, at - cfi_bias, &frame))
			break;
		int ok = dwarf_frame_info(frame, &start, &end, NULL) >= 0 && end + cfi_bias > at;
		free(frame);
		if (!ok)
			break;
		at = end + cfi_bias;
	}
	return at - entry;
}

/* Matches the package's modules with those libdwfl found in the process, by build-id. */
struct match {
	const struct hp_package *pkg;
	struct plan *plan;
	int failed;                    /* reported */
};

static int out_of_memory(struct match *m)
{
	hp_ctl_error("out of memory");
	m->failed = 1;
	return DWARF_CB_ABORT;
}

static int match_module(Dwfl_Module *mod, void **user, const char *name, Dwarf_Addr start, void *arg)
{
	(void)user;
	(void)start;
	struct match *m = arg;
	const unsigned char *id;
	GElf_Addr id_at;
	Dwarf_Addr bias;
	/* The file first: libdwfl reads the build-id from it.  Its symbols and unwind tables are read
	 * now too, while the program runs, rather than while its threads are stopped. */
	if (!dwfl_module_getelf(mod, &bias))
		return DWARF_CB_OK;
	Dwarf_Addr cfi_bias;
	int symbols = dwfl_module_getsymtab(mod);
	dwfl_module_eh_cfi(mod, &cfi_bias);
	Dwarf_Addr low, high;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	const char *file = base_name(name);
	struct busy_range r = { .start = low, .end = high, .kind = BUSY_LOADER };
	snprintf(r.module, sizeof r.module, "%s", file);
	/* The dynamic linker, and libgcc's unwinder, whose lock __register_frame takes (a thread
	 * unwinding for an exception or a thread's exit holds it). */
	if (!strncmp(file, "ld-linux", 8) || !strncmp(file, "ld.so", 5) || !strncmp(file, "libgcc_s.so", 11))
		return add_range(m->plan, &r) ? out_of_memory(m) : DWARF_CB_OK;
	if (!strncmp(file, "libc.so", 7)) {
		for (int i = 1; i < symbols; i++) {
			GElf_Sym sym;
			GElf_Addr at;
			const char *fn = dwfl_module_getsym_info(mod, i, &sym, &at, NULL, NULL, NULL);
			if (!fn || GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size || !holds_runtime_lock(fn))
				continue;
			r = (struct busy_range){ .start = at, .end = at + sym.st_size, .kind = BUSY_LIBC_LOCK };
			snprintf(r.name, sizeof r.name, "%s", fn);
			if (add_range(m->plan, &r))
				return out_of_memory(m);
		}
	}
	int id_size = dwfl_module_build_id(mod, &id, &id_at);
	if (id_size <= 0)
		return DWARF_CB_OK;
	for (uint32_t i = 0; i < m->pkg->module_count; i++) {
		const struct hp_package_module *pm = &m->pkg->modules[i];
		if (pm->build_id_size != id_size || memcmp(pm->build_id, id, (size_t)id_size))
			continue;
		for (uint32_t k = 0; k < pm->redirect_count; k++) {
			/* From its padding to its end. */
			uint64_t entry = bias + pm->redirects[k].old_offset;
			uint64_t size = function_size(mod, entry);
			if (!size) {
				hp_ctl_error("cannot switch safely: %s: cannot tell where %s() ends (no symbol size, no unwind "
				             "information for it)", name, pm->redirects[k].name);
				m->failed = 1;
				return DWARF_CB_ABORT;
			}
			r = (struct busy_range){ .start = entry - HP_SITE_PADDING, .end = entry + size, .kind = BUSY_FUNCTION };
			snprintf(r.name, sizeof r.name, "%s", pm->redirects[k].name);
			snprintf(r.module, sizeof r.module, "%s", file);
			if (add_range(m->plan, &r))
				return out_of_memory(m);
		}
	}
	return DWARF_CB_OK;
}

/* Whether a live patch's code (for the module of that build-id) is taken out of use: by a package
 * that patches the same module (it replaces the patch), or by reverting it (revert: its id, or
 * INT_MAX for the newest: the one with the highest id). */
static int taken_out(const struct hp_package *pkg, int revert, int patch, int newest, const char *build_id_hex)
{
	if (!pkg)
		return patch == (revert == INT_MAX ? newest : revert);
	uint8_t id[32];
	size_t id_size = hp_ctl_hex_parse(build_id_hex, id);
	for (uint32_t i = 0; id_size && i < pkg->module_count; i++)
		if (pkg->modules[i].build_id_size == id_size && !memcmp(pkg->modules[i].build_id, id, id_size))
			return 1;
	return 0;
}

/* The runtime's own facts, from its status reply: the thread that serves the channel, and the
 * code of each live patch the switch takes out of use (taken_out). */
static int read_status(pid_t pid, const struct hp_package *pkg, int revert, struct plan *plan, double timeout_seconds)
{
	static char reply[HP_CONTROL_MAX_REPLY];
	int rc = hp_ctl_request(pid, "status\n", -1, reply, sizeof reply, NULL, timeout_seconds);
	if (rc)
		return rc;
	struct {
		int patch;
		char build_id[65];
		unsigned long long start, end;
	} code[256];
	size_t count = 0;
	int newest = 0;
	for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
		long long tid, patch;
		const char *end;
		if (!strncmp(line, "thread ", 7) && !hp_parse_number(line + 7, NULL, 1, HP_PID_MAX, &tid)) {
			plan->serving = (pid_t)tid;
			continue;
		}
		if (strncmp(line, "code ", 5) || hp_parse_number(line + 5, &end, 1, INT_MAX, &patch) || *end != ' ' ||
		    count == sizeof code / sizeof *code)
			continue;
		if (sscanf(end + 1, "%64s 0x%llx 0x%llx", code[count].build_id, &code[count].start, &code[count].end) != 3 ||
		    code[count].end <= code[count].start)
			continue;
		code[count].patch = (int)patch;
		newest = (int)patch > newest ? (int)patch : newest;
		count++;
	}
	for (size_t i = 0; i < count; i++) {
		struct busy_range r = { .start = code[i].start, .end = code[i].end, .kind = BUSY_PATCH_CODE,
			                .patch = code[i].patch };
		if (taken_out(pkg, revert, code[i].patch, newest, code[i].build_id) && add_range(plan, &r)) {
			hp_ctl_error("out of memory");
			return HP_CTL_ERROR;
		}
	}
	if (!plan->serving) {
		hp_ctl_error("process %d: its runtime does not say which thread serves it (an older runtime): "
		             "the safe switch needs it",
		             (int)pid);
		return HP_CTL_REFUSED;
	}
	return 0;
}

struct walk {
	Dwfl *dwfl;
	const struct plan *plan;
	struct busy *busy;
	int frames, found;
};

static int check_frame(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	/* A return address is past its call: the call itself is what the frame is running. */
	Dwarf_Addr at = activation ? pc : pc - 1;
	w->frames++;
	/* Code with no unwind record (hand-written assembly, code outside any file, a patch's code)
	 * does not say where its caller is: libdwfl would guess from the frame pointer and could skip
	 * the caller, so the frames below are not known, and not known to be safe. */
	Dwarf_Addr cfi_bias;
	Dwfl_Module *mod = dwfl_addrmodule(w->dwfl, at);
	Dwarf_CFI *cfi = mod ? dwfl_module_eh_cfi(mod, &cfi_bias) : NULL;
	Dwarf_Frame *frame = NULL;
	int described = cfi && !dwarf_cfi_addrframe(cfi, at - cfi_bias, &frame);
	free(frame);
	for (size_t i = 0; i < w->plan->range_count; i++) {
		const struct busy_range *r = &w->plan->ranges[i];
		if (at < r->start || at >= r->end)
			continue;
		w->found = 1;
		if (r->kind == BUSY_FUNCTION)
			snprintf(w->busy->what, sizeof w->busy->what, "is inside %s() (%s), which the package replaces", r->name,
			         r->module);
		else if (r->kind == BUSY_PATCH_CODE)
			snprintf(w->busy->what, sizeof w->busy->what, "is running the code of live patch %d, which the %s",
			         r->patch, w->plan->reverting ? "revert takes out of use" : "package replaces");
		else if (r->kind == BUSY_LOADER)
			snprintf(w->busy->what, sizeof w->busy->what, "is inside %s, whose lock the runtime needs", r->module);
		else
			snprintf(w->busy->what, sizeof w->busy->what, "is inside %s() (libc), which holds a lock the runtime "
			         "needs", r->name);
		return DWARF_CB_ABORT;
	}
	if (!described) {
		w->found = 1;
		snprintf(w->busy->what, sizeof w->busy->what, "is running code at 0x%llx (%s) that has no unwind "
		         "information, so its callers cannot be seen", (unsigned long long)at,
		         mod ? dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL) : "outside any file");
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* Whether any stopped thread is busy; 1 with the first found in *busy. */
static int any_busy(Dwfl *dwfl, const struct hp_world *world, const struct plan *plan, struct busy *busy)
{
	for (size_t i = 0; i < hp_world_count(world); i++) {
		struct walk w = { .dwfl = dwfl, .plan = plan, .busy = busy };
		pid_t tid = hp_world_tid(world, i);
		int rc = dwfl_getthread_frames(dwfl, tid, check_frame, &w);
		busy->tid = tid;
		if (w.found)
			return 1;
		/* An unwind that stops short of the thread's first frame hides the frames below. */
		if (rc && !w.found) {
			uint64_t pc = 0, sp, fp;
			hp_world_where(world, i, &pc, &sp, &fp);
			snprintf(busy->what, sizeof busy->what, "has a stack hpctl cannot unwind past frame %d (%s; it stands "
			         "at 0x%llx): what cannot be seen is not known to be safe",
			         w.frames, dwfl_errmsg(-1), (unsigned long long)pc);
			return 1;
		}
	}
	return 0;
}

/* The binaries' own unwind tables (.eh_frame) and symbols are all the check needs: separate
 * debug files are not looked for (searching for them, again for each thread, cost more than
 * the unwinding). */
static int no_debuginfo(Dwfl_Module *mod, void **user, const char *name, Dwarf_Addr base, const char *file,
                        const char *debuglink, GElf_Word crc, char **debuginfo_file)
{
	(void)mod, (void)user, (void)name, (void)base, (void)file, (void)debuglink, (void)crc;
	*debuginfo_file = NULL;
	return -1;
}

/* Lets the stopped threads go, once (when the runtime says the sites are written, or after). */
struct release {
	struct hp_world *world;
	const struct timespec *since;
	struct hp_ctl_switch *report;
};

static void release_world(void *arg)
{
	struct release *r = arg;
	if (!r->world)
		return;
	hp_world_resume(r->world);
	r->world = NULL;
	r->report->stopped_ms = seconds_since(r->since) * 1000;
}

static const char *thread_name(pid_t pid, pid_t tid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)size, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
	hp_ctl_printable(out, strlen(out));
	return out[0] ? out : "?";
}

int hp_ctl_safe_request(pid_t pid, const char *line, int fd, const char *package, int revert, char *reply, size_t size,
                        double wait_seconds, double timeout_seconds, struct hp_ctl_switch *report)
{
	memset(report, 0, sizeof *report);
	uint8_t *bytes = NULL;
	struct hp_package *pkg = fd >= 0 ? read_package(fd, package, &bytes) : NULL;
	if (fd >= 0 && !pkg)
		return HP_CTL_ERROR;
	struct plan plan = { .reverting = !pkg };
	int rc = read_status(pid, pkg, revert, &plan, timeout_seconds);
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = no_debuginfo,
	};
	Dwfl *dwfl = rc ? NULL : dwfl_begin(&callbacks);
	struct match m = { .pkg = pkg, .plan = &plan };
	struct hp_package none = { 0 };
	if (!pkg)
		m.pkg = &none;  /* a revert: no old function, the patch's code only */
	if (!rc && (!dwfl || dwfl_linux_proc_report(dwfl, pid) || dwfl_report_end(dwfl, NULL, NULL) ||
	            (dwfl_getmodules(dwfl, match_module, &m, 0), m.failed))) {
		if (!m.failed)
			hp_ctl_error("process %d: cannot read its modules: %s", (int)pid, dwfl_errmsg(-1));
		rc = HP_CTL_ERROR;
	}
	/* libdwfl reads the threads through hpctl's own ptrace attachment, once they are stopped. */
	if (!rc && dwfl_linux_proc_attach(dwfl, pid, true)) {
		hp_ctl_error("process %d: cannot unwind its threads: %s", (int)pid, dwfl_errmsg(-1));
		rc = HP_CTL_ERROR;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double pause = 0.001;
	struct busy busy = { 0 };
	while (!rc) {
		int denied = 0;
		char why[400];
		struct timespec stop0;
		clock_gettime(CLOCK_MONOTONIC, &stop0);
		struct hp_world *world = hp_world_stop(pid, plan.serving, &denied, why, sizeof why);
		if (!world) {
			hp_ctl_error("cannot switch safely: %s", why);
			rc = denied ? HP_CTL_DENIED : HP_CTL_ERROR;
			break;
		}
		report->attempts++;
		report->threads = hp_world_count(world);
		if (!any_busy(dwfl, world, &plan, &busy)) {
			/* An apply says the world is stopped: the runtime may then write the sites that
			 * need it (padding-only entries, all of them in the ranges checked).  It writes
			 * them only on hpctl's "go", given while the threads are held (HP_CONTROL_HOLD_MS
			 * at most), and says when they are written: the threads go then, before the rest of
			 * the apply, which takes locks they may hold. */
			struct release let_go = { world, &stop0, report };
			if (pkg) {
				char stopped_line[300];
				snprintf(stopped_line, sizeof stopped_line, "stopped %s", line);
				struct hp_ctl_gate gate = { .switched = release_world, .arg = &let_go };
				clock_gettime(CLOCK_MONOTONIC, &gate.until);
				gate.until.tv_sec += HP_CONTROL_HOLD_MS / 1000;
				gate.until.tv_nsec += HP_CONTROL_HOLD_MS % 1000 * 1000000L;
				if (gate.until.tv_nsec >= 1000000000L) {
					gate.until.tv_sec++;
					gate.until.tv_nsec -= 1000000000L;
				}
				rc = hp_ctl_request_stopped(pid, stopped_line, fd, reply, size, "whether the package was applied",
				                            timeout_seconds, &gate);
			} else {
				rc = hp_ctl_request(pid, line, fd, reply, size, "whether the patch was reverted", timeout_seconds);
			}
			release_world(&let_go);
			break;
		}
		hp_world_resume(world);
		if (seconds_since(&t0) + pause > wait_seconds) {
			char name[64];
			hp_ctl_error("process %d: not %s after %.3g s: thread %d (%s) %s; the process is unchanged", (int)pid,
			             pkg ? "switched" : "reverted",
			             wait_seconds, (int)busy.tid, thread_name(pid, busy.tid, name, sizeof name), busy.what);
			rc = HP_CTL_BUSY;
			break;
		}
		nanosleep(&(struct timespec){ .tv_sec = (time_t)pause, .tv_nsec = (long)((pause - (double)(time_t)pause) * 1e9) },
		          NULL);
		pause = pause * 2 > 0.25 ? 0.25 : pause * 2;
	}
	report->waited_ms = seconds_since(&t0) * 1000;
	if (dwfl)
		dwfl_end(dwfl);
	free(plan.ranges);
	hp_package_free(pkg);
	free(bytes);
	return rc;
}

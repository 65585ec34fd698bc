/* hpctl_world.c — the stopped world of hpctl_world.h: every thread of a process stopped with
 * ptrace (PTRACE_SEIZE, PTRACE_INTERRUPT: no signal the program could see), a function called in
 * one of them while the others stay stopped or run, and every thread let go again as if nothing
 * had happened, the system calls they were blocked in included.
 *
 * Threads are followed by PTRACE_O_TRACECLONE (a thread started while the world stops is traced
 * from its first instruction) and by re-reading /proc/PID/task until a pass finds no thread that
 * is not stopped.  Every event of every tracee goes through one loop (wait_event, on_event), so a
 * signal that arrives while the process is held is passed on, never swallowed.
 *
 * What depends on the processor (registers, the call's frame, how a system call is restarted)
 * is one section below, marked ARCHITECTURE: x86-64 today, AArch64 (issue 16) beside it. */
#define _GNU_SOURCE
#include "hpctl_world.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ======================= ARCHITECTURE: x86-64 ================================================
 * Everything that knows the registers is here: reading and writing them, where a thread stands,
 * the frame of a call (System V ABI), and how an interrupted system call is made to restart. */
#if defined(__x86_64__)
typedef struct user_regs_struct hp_regs;

static int regs_get(pid_t tid, hp_regs *r) { return ptrace(PTRACE_GETREGS, tid, NULL, r) ? -1 : 0; }
static int regs_set(pid_t tid, const hp_regs *r) { return ptrace(PTRACE_SETREGS, tid, NULL, (void *)r) ? -1 : 0; }
static uint64_t regs_pc(const hp_regs *r) { return r->rip; }
static uint64_t regs_sp(const hp_regs *r) { return r->rsp; }
static uint64_t regs_fp(const hp_regs *r) { return r->rbp; }
static uint64_t regs_result(const hp_regs *r) { return r->rax; }
/* orig_rax holds the system call the thread is in, or -1 (the kernel's own convention). */
static long regs_syscall(const hp_regs *r) { return (long)r->orig_rax; }

/* The ABI keeps 128 bytes below the stack pointer for the function that runs (the red zone): a
 * leaf function interrupted there may have live data in it. */
#define RED_ZONE 128

/* Sets r up to call function(args) with stack pointer sp (16-byte aligned, the return address
 * already pushed below it by the caller of this function: sp is the address of that slot). */
static void regs_call(hp_regs *r, uint64_t function, const uint64_t *args, int nargs, uint64_t sp,
                      uint64_t data_address)
{
	uint64_t *slot[6] = { (uint64_t *)&r->rdi, (uint64_t *)&r->rsi, (uint64_t *)&r->rdx,
	                      (uint64_t *)&r->rcx, (uint64_t *)&r->r8,  (uint64_t *)&r->r9 };
	for (int k = 0; k < nargs; k++)
		*slot[k] = args[k] == HP_WORLD_DATA ? data_address : args[k];
	r->rip = function;
	r->rsp = sp;
	r->rax = 0;              /* a variadic callee reads the count of vector registers here */
	r->eflags &= ~0x400ull;  /* DF clear, as the ABI promises at every call */
	/* Not in a system call: the kernel must not "restart" one into our call on the way out. */
	r->orig_rax = (unsigned long long)-1;
}

/* The system calls that the kernel ends with EINTR when their thread is merely stopped and
 * continued (signal(7), "Interruption of system calls and library functions by stop signals"),
 * where it restarts the others itself (-ERESTARTSYS and kin). */
static const long eintr_calls[] = {
	SYS_epoll_wait, SYS_epoll_pwait, 441 /* epoll_pwait2 */, SYS_rt_sigtimedwait,
	SYS_semop,      SYS_semtimedop,  SYS_io_getevents,
};

/* A thread stopped on its way out of one of those calls with -EINTR: rewinds it to the syscall
 * instruction (2 bytes, 0f 05, checked) with the call's number back in rax, as the kernel does
 * for -ERESTARTNOHAND, so it runs the call again and the program never sees EINTR.
 * Every argument is left as it was, a timeout too: the kernel does not say how much of it was
 * left, so the call waits its whole timeout again.  Returning late is within every one of these
 * calls' contract (the kernel itself may oversleep a timeout by any amount); returning early,
 * 0 events after a fraction of the timeout, is not: a program that takes "0 events" to mean "idle
 * for the whole timeout" would act on a lie.  Returns 1 when r was changed. */
static int regs_restart_eintr(hp_regs *r, int (*code_at)(void *ctx, uint64_t at, uint8_t *out, size_t n), void *ctx)
{
	if ((long)r->orig_rax < 0 || (long long)r->rax != -EINTR)
		return 0;
	int found = 0;
	for (size_t k = 0; k < sizeof eintr_calls / sizeof *eintr_calls; k++)
		found |= eintr_calls[k] == (long)r->orig_rax;
	uint8_t insn[2];
	if (!found || code_at(ctx, r->rip - 2, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05)
		return 0;
	r->rip -= 2;
	r->rax = r->orig_rax;
	return 1;
}
#else
#error "hpctl_world.c: no ARCHITECTURE section for this processor (x86-64 only; AArch64 is issue 16)"
#endif
/* ======================= end of ARCHITECTURE ================================================= */

enum { RUNNING, STOPPED, GONE };

struct thread {
	pid_t tid;
	int state;
	int group_stop;  /* stopped by job control (SIGSTOP...), not by us: left as it is */
	int sig_stop;    /* in a signal-delivery-stop: a signal can be handed to it as it goes on */
	int lost;        /* a call in it was abandoned (timeout): its registers are put back anyway */
	hp_regs regs;    /* as it was stopped: what it resumes with */
	/* The signals that arrived during a call in it, in order, delivered when it goes on (each
	 * one: a real-time signal may come many times, and every one counts). */
	siginfo_t *deferred;
	size_t ndeferred;
};

struct hp_world {
	pid_t pid, spare;
	int mem;  /* /proc/PID/mem: the process's memory, for the call's data */
	int others_run;
	struct thread *t;
	size_t n, cap;
};

static void deadline_in(struct timespec *d, double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	long long ns = d->tv_nsec + (long long)(seconds * 1e9);
	d->tv_sec += (time_t)(ns / 1000000000);
	d->tv_nsec = (long)(ns % 1000000000);
}

static int past(const struct timespec *d)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static struct thread *find(struct hp_world *w, pid_t tid)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].tid == tid)
			return &w->t[i];
	return NULL;
}

static struct thread *add(struct hp_world *w, pid_t tid)
{
	struct thread *t = find(w, tid);
	if (t)
		return t;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct thread *grown = realloc(w->t, cap * sizeof *grown);
		if (!grown)
			return NULL;
		w->t = grown;
		w->cap = cap;
	}
	t = &w->t[w->n++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->state = RUNNING;
	return t;
}

static int code_at(void *ctx, uint64_t at, uint8_t *out, size_t n)
{
	struct hp_world *w = ctx;
	return pread(w->mem, out, n, (off_t)at) == (ssize_t)n ? 0 : -1;
}

/* A line "Name:\tHEX" of /proc/PID/task/TID/status, as a number; 0 when it is not there. */
static unsigned long long status_hex(pid_t pid, pid_t tid, const char *name)
{
	char path[96], line[256];
	unsigned long long v = 0;
	size_t len = strlen(name);
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			v = strtoull(line + len + 1, NULL, 16);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

/* Whether a signal the thread catches is pending and not blocked: its handler runs as the thread
 * goes on, and then an EINTR from the call it was in is what the program would have seen anyway
 * (epoll_wait is never restarted after a handler), so the call is not rewound. */
static int handler_pending(struct hp_world *w, struct thread *t)
{
	unsigned long long pending = status_hex(w->pid, t->tid, "SigPnd") | status_hex(w->pid, t->tid, "ShdPnd");
	return (pending & ~status_hex(w->pid, t->tid, "SigBlk") & status_hex(w->pid, t->tid, "SigCgt")) != 0;
}

/* Keeps a signal that arrived during a call, for when the thread is the program's again. */
static void defer(struct hp_world *w, struct thread *t, const siginfo_t *si)
{
	siginfo_t *grown = realloc(t->deferred, (t->ndeferred + 1) * sizeof *grown);
	if (!grown) {  /* no memory to keep it: sent again to the process, which gets it later */
		kill(w->pid, si->si_signo);
		return;
	}
	t->deferred = grown;
	t->deferred[t->ndeferred++] = *si;
}

/* Lets a stopped thread go on: detached (detach 1) or continued, traced still.  Its registers
 * as stopped, with an EINTR it would see rewound into a restart; a signal that arrived during a
 * call in it delivered now, as if it had just arrived. */
static void let_go(struct hp_world *w, struct thread *t, int detach)
{
	if (t->state != STOPPED)
		return;
	int sig = 0;
	size_t first = 0;
	if (!t->group_stop) {
		hp_regs r = t->regs;
		if (!t->ndeferred && !handler_pending(w, t) && regs_restart_eintr(&r, code_at, w))
			regs_set(t->tid, &r);
		/* The first kept signal is handed over as the stop's own, with its details. */
		if (t->ndeferred && t->sig_stop && !ptrace(PTRACE_SETSIGINFO, t->tid, NULL, &t->deferred[0])) {
			sig = t->deferred[0].si_signo;
			first = 1;
		}
	}
	ptrace(detach ? PTRACE_DETACH : PTRACE_CONT, t->tid, NULL, (void *)(long)sig);
	/* The others are sent again to the thread (as from hpctl: the sender's details are lost). */
	for (size_t k = first; k < t->ndeferred; k++)
		syscall(SYS_tgkill, w->pid, t->tid, t->deferred[k].si_signo);
	free(t->deferred);
	t->deferred = NULL;
	t->ndeferred = 0;
	t->sig_stop = 0;
	t->state = detach ? GONE : RUNNING;
}

/* The next event of any tracee by deadline: 1 with tid and status, 0 when time ran out, -1 when
 * there is no tracee left. */
static int wait_event(const struct timespec *deadline, pid_t *tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(-1, status, __WALL | WNOHANG);
		if (r > 0) {
			*tid = r;
			return 1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (past(deadline))
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
}

/* One event of a thread that is not being called in.  stop: the world is being stopped (the
 * thread is to end up stopped); otherwise it is to run. */
static void on_event(struct hp_world *w, pid_t tid, int status, int stop)
{
	struct thread *t = add(w, tid);  /* unknown: a thread started under PTRACE_O_TRACECLONE */
	if (!t)
		return;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->state = GONE;
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	int sig = WSTOPSIG(status), event = status >> 16;
	if (event == PTRACE_EVENT_STOP) {
		/* Our interrupt, a new thread's first stop, or job control's group-stop. */
		int group = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
		if (stop) {
			t->state = STOPPED;
			t->group_stop = group;
			t->sig_stop = 0;
			if (regs_get(tid, &t->regs))
				t->state = GONE;
		} else {
			/* To run: a group-stop is kept (LISTEN waits for SIGCONT, still traced). */
			ptrace(group ? PTRACE_LISTEN : PTRACE_CONT, tid, NULL, NULL);
			t->state = RUNNING;
		}
		return;
	}
	if (event) {
		/* A clone (the new thread is traced and reports its own first stop). Any stop counts as
		 * the interrupt asked for, so the thread goes on and is interrupted again. */
		unsigned long child;
		if (event == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, tid, NULL, &child)) {
			add(w, (pid_t)child);
			t = find(w, tid);  /* the array may have moved */
		}
		sig = 0;
	}
	/* A signal on its way to the thread: handed on, never kept; then stopped again if asked. */
	ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig);
	t->state = RUNNING;
	if (stop)
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
}

static int all_gone(const struct hp_world *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].state != GONE)
			return 0;
	return 1;
}

/* The state letter of /proc/PID/task/TID/stat: Z for a thread that has exited (a zombie leader
 * whose other threads run on), which cannot be traced. */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[96], buf[512];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 'X';
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The pid tracing thread tid of process pid (TracerPid, in decimal), 0 for none. */
static long tracer_of(pid_t pid, pid_t tid)
{
	char path[96], line[128];
	long tracer = 0;
	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
			break;
	if (f)
		fclose(f);
	return tracer;
}

/* Why PTRACE_SEIZE of process pid was refused, naming the setting, in one line. */
static void explain_refusal(pid_t pid, char *why, size_t size)
{
	unsigned long long caps = status_hex(getpid(), getpid(), "CapEff");
	int cap_ptrace = (caps >> 19) & 1;  /* CAP_SYS_PTRACE */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	long tracer = 0;
	unsigned uid[3] = { 0 }, gid[3] = { 0 };
	char line[256];
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof line, f)) {
		sscanf(line, "TracerPid: %ld", &tracer);
		sscanf(line, "Uid: %u %u %u", &uid[0], &uid[1], &uid[2]);
		sscanf(line, "Gid: %u %u %u", &gid[0], &gid[1], &gid[2]);
	}
	if (f)
		fclose(f);
	int scope = -1;  /* Yama's setting; the module is not in every kernel */
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f && fscanf(f, "%d", &scope) != 1)
		scope = -1;
	if (f)
		fclose(f);
	uid_t me = getuid();
	gid_t my_gid = getgid();
	int other_user = uid[0] != me || uid[1] != me || uid[2] != me || gid[0] != my_gid || gid[1] != my_gid ||
	                 gid[2] != my_gid;
	/* A process of our own user whose environment we may not read: the kernel's ptrace check
	 * failed on the dumpable flag (the owner /proc shows for it is not reliable). */
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC), undumpable = fd < 0 && (errno == EACCES || errno == EPERM);
	if (fd >= 0)
		close(fd);
	if (tracer && tracer != getpid())
		snprintf(why, size, "process %d is already traced by process %ld (a debugger, strace?): hpctl cannot "
		         "attach until it detaches", (int)pid, tracer);
	else if (scope == 3)
		snprintf(why, size, "process %d: attaching is disabled on this machine (kernel.yama.ptrace_scope = 3)",
		         (int)pid);
	else if (scope == 2 && !cap_ptrace)
		snprintf(why, size, "process %d: kernel.yama.ptrace_scope = 2 lets only CAP_SYS_PTRACE attach, and hpctl "
		         "does not have it: run hpctl as root", (int)pid);
	else if (other_user && !cap_ptrace)
		snprintf(why, size, "process %d runs as uid %u (gid %u), hpctl as uid %u without CAP_SYS_PTRACE: run "
		         "hpctl as root or as that user", (int)pid, uid[1], gid[1], (unsigned)me);
	else if (undumpable && !cap_ptrace)
		snprintf(why, size, "process %d is not dumpable (prctl PR_SET_DUMPABLE 0, or it changed user): only "
		         "CAP_SYS_PTRACE may attach, and hpctl does not have it: run hpctl as root", (int)pid);
	else if (scope == 1 && !cap_ptrace)
		snprintf(why, size, "process %d: kernel.yama.ptrace_scope = 1 lets only a process's ancestors attach: "
		         "run hpctl as root (CAP_SYS_PTRACE) or set kernel.yama.ptrace_scope = 0", (int)pid);
	else
		snprintf(why, size, "process %d: the kernel refused to let hpctl attach (ptrace: %s) although user, "
		         "capability and dumpable flag allow it: a security module (SELinux, AppArmor) or a seccomp "
		         "filter forbids it", (int)pid, strerror(EPERM));
}

/* Stops every thread not yet stopped, re-reading the thread list until a pass finds no new one.
 * 0, or -1 with why set (*denied for a permission refusal). */
static int stop_all(struct hp_world *w, const struct timespec *deadline, int *denied, char *why, size_t size)
{
	for (;;) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/task", (int)w->pid);
		DIR *d = opendir(path);
		if (!d) {
			snprintf(why, size, "no process %d", (int)w->pid);
			return -1;
		}
		int fresh = 0;
		for (struct dirent *e; (e = readdir(d));) {
			pid_t tid = (pid_t)atoi(e->d_name);
			if (tid <= 0 || tid == w->spare || find(w, tid))
				continue;
			char state = thread_state(w->pid, tid);
			if (state == 'Z' || state == 'X')
				continue;
			if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)PTRACE_O_TRACECLONE)) {
				int err = errno;
				if (err == ESRCH || thread_state(w->pid, tid) == 'Z' || thread_state(w->pid, tid) == 'X')
					continue;  /* it exited meanwhile */
				if (err == EPERM && tracer_of(w->pid, tid) == getpid()) {
					/* Ours already: started under TRACECLONE, its first stop not yet seen. */
					add(w, tid);
					fresh = 1;
					continue;
				}
				closedir(d);
				if (err == EPERM) {
					explain_refusal(w->pid, why, size);
					*denied = 1;
				} else {
					snprintf(why, size, "process %d: cannot attach to thread %d: %s", (int)w->pid, (int)tid,
					         strerror(err));
				}
				return -1;
			}
			struct thread *t = add(w, tid);
			if (!t) {
				closedir(d);
				snprintf(why, size, "out of memory");
				return -1;
			}
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			fresh = 1;
		}
		closedir(d);
		/* Until every thread we know is stopped or gone. */
		for (;;) {
			int waiting = 0;
			for (size_t i = 0; i < w->n; i++)
				waiting |= w->t[i].state == RUNNING;
			if (!waiting)
				break;
			pid_t tid;
			int status, r = wait_event(deadline, &tid, &status);
			if (r <= 0) {
				snprintf(why, size, "process %d: its threads did not stop in time", (int)w->pid);
				return -1;
			}
			on_event(w, tid, status, 1);
			fresh = 1;
		}
		if (all_gone(w) && w->n) {
			snprintf(why, size, "process %d exited", (int)w->pid);
			return -1;
		}
		if (!fresh)
			return 0;
	}
}

struct hp_world *hp_world_stop(pid_t pid, pid_t spare, int *denied, char *why, size_t why_size)
{
	*denied = 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	struct hp_world *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(why, why_size, "out of memory");
		return NULL;
	}
	w->pid = pid;
	w->spare = spare;
	w->mem = -1;
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (stat(path, &st)) {
		snprintf(why, why_size, "no process %d", (int)pid);
		free(w);
		return NULL;
	}
	struct timespec deadline;
	deadline_in(&deadline, 10);
	if (stop_all(w, &deadline, denied, why, why_size)) {
		hp_world_resume(w);
		return NULL;
	}
	/* Opened once attached: the kernel lets a tracer write the tracee's memory. */
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	w->mem = open(path, O_RDWR | O_CLOEXEC);
	if (w->mem < 0) {
		snprintf(why, why_size, "process %d: cannot open its memory (%s): %s", (int)pid, path, strerror(errno));
		hp_world_resume(w);
		return NULL;
	}
	return w;
}

size_t hp_world_count(const struct hp_world *w) { return w->n; }

pid_t hp_world_tid(const struct hp_world *w, size_t i) { return i < w->n ? w->t[i].tid : 0; }

int hp_world_where(const struct hp_world *w, size_t i, uint64_t *pc, uint64_t *sp, uint64_t *fp)
{
	if (i >= w->n || w->t[i].state != STOPPED)
		return -1;
	*pc = regs_pc(&w->t[i].regs);
	*sp = regs_sp(&w->t[i].regs);
	*fp = regs_fp(&w->t[i].regs);
	return 0;
}

long hp_world_syscall(const struct hp_world *w, size_t i)
{
	if (i >= w->n || w->t[i].state != STOPPED)
		return -1;
	return regs_syscall(&w->t[i].regs);
}

void hp_world_others_run(struct hp_world *w, int run) { w->others_run = run; }

/* Synchronous faults: the call itself went wrong (a signal sent by someone is not one). */
static int is_fault(int sig, const siginfo_t *si)
{
	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) && si->si_code > 0;
}

int hp_world_call(struct hp_world *w, size_t i, uint64_t function, const uint64_t *args, int nargs,
                  const void *data, size_t data_size, uint64_t *data_at, double timeout_seconds,
                  uint64_t *result, char *why, size_t why_size)
{
	if (i >= w->n || w->t[i].state != STOPPED || w->t[i].group_stop || w->t[i].lost || nargs < 0 || nargs > 6) {
		snprintf(why, why_size, "process %d: thread %zu cannot take a call", (int)w->pid, i);
		return -1;
	}
	struct thread *t = &w->t[i];
	pid_t tid = t->tid;
	const hp_regs saved = t->regs;
	/* The frame: below the red zone, the data, 16-byte aligned; below it the return address 0,
	 * so that the function's return faults at address 0, where hpctl takes the thread back. */
	uint64_t sp = (regs_sp(&saved) - RED_ZONE - data_size) & ~15ull;
	if (data_size && pwrite(w->mem, data, data_size, (off_t)sp) != (ssize_t)data_size) {
		snprintf(why, why_size, "process %d: cannot write thread %d's stack: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		return -1;
	}
	if (data_at)
		*data_at = sp;
	uint64_t zero = 0;
	sp -= 8;
	if (pwrite(w->mem, &zero, 8, (off_t)sp) != 8) {
		snprintf(why, why_size, "process %d: cannot write thread %d's stack: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		return -1;
	}
	hp_regs r = saved;
	regs_call(&r, function, args, nargs, sp, data_size ? sp + 8 : 0);
	if (regs_set(tid, &r)) {
		snprintf(why, why_size, "process %d: cannot set thread %d's registers: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		return -1;
	}
	if (w->others_run)  /* but those job control stopped: they stay so */
		for (size_t k = 0; k < w->n; k++)
			if (k != i && !w->t[k].group_stop)
				let_go(w, &w->t[k], 0);
	ptrace(PTRACE_CONT, tid, NULL, NULL);
	t->state = RUNNING;
	struct timespec deadline;
	deadline_in(&deadline, timeout_seconds);
	int rc = -1, done = 0, timed_out = 0;
	while (!done) {
		t = &w->t[i];  /* on_event may have grown (moved) the array */
		pid_t who;
		int status, got = wait_event(&deadline, &who, &status);
		if (got < 0 || all_gone(w)) {
			snprintf(why, why_size, "process %d exited during the call", (int)w->pid);
			return -1;
		}
		if (got == 0) {
			/* Taken back, wherever it is: see hp_world_resume. */
			timed_out = 1;
			ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
			deadline_in(&deadline, 5);
			done = 1;
			break;
		}
		if (who != tid) {
			on_event(w, who, status, 0);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->state = GONE;
			snprintf(why, why_size, "process %d: thread %d exited during the call", (int)w->pid, (int)tid);
			return -1;
		}
		int sig = WSTOPSIG(status), event = status >> 16;
		siginfo_t si;
		if (event) {
			unsigned long child;
			if (event == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, tid, NULL, &child))
				add(w, (pid_t)child);  /* running; its first stop lets it run (on_event) */
			ptrace(PTRACE_CONT, tid, NULL, NULL);
			continue;
		}
		memset(&si, 0, sizeof si);
		ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
		hp_regs now;
		regs_get(tid, &now);
		if (sig == SIGSEGV && regs_pc(&now) == 0) {
			*result = regs_result(&now);
			rc = 0;
			t->sig_stop = 1;
			done = 1;
		} else if (is_fault(sig, &si)) {
			snprintf(why, why_size, "process %d: the call faulted in thread %d (signal %d at %#llx, address %p); "
			         "the thread was put back where it was", (int)w->pid, (int)tid, sig,
			         (unsigned long long)regs_pc(&now), si.si_addr);
			t->sig_stop = 1;  /* suppressed: the fault was the call's, not the program's */
			done = 1;
		} else {
			/* A signal for the program: kept until the thread is its own again. */
			si.si_signo = sig;
			defer(w, t, &si);
			ptrace(PTRACE_CONT, tid, NULL, NULL);
		}
	}
	if (timed_out) {
		for (;;) {
			t = &w->t[i];
			pid_t who;
			int status, got = wait_event(&deadline, &who, &status);
			if (got <= 0)
				break;
			if (who != tid) {
				on_event(w, who, status, 0);
				continue;
			}
			if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
				break;
			if (WIFSTOPPED(status) && !(status >> 16)) {  /* a signal on the way: kept for later */
				siginfo_t si;
				memset(&si, 0, sizeof si);
				ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
				si.si_signo = WSTOPSIG(status);
				defer(w, t, &si);
			}
			if (WIFSTOPPED(status))
				ptrace(PTRACE_CONT, tid, NULL, NULL);
		}
		t = &w->t[i];
		t->lost = 1;
		snprintf(why, why_size, "process %d: the call did not return within %g s in thread %d", (int)w->pid,
		         timeout_seconds, (int)tid);
	}
	t = &w->t[i];
	t->state = STOPPED;
	t->regs = saved;
	regs_set(tid, &saved);
	if (w->others_run) {
		char ignored[256];
		int denied;
		for (size_t k = 0; k < w->n; k++)
			if (w->t[k].state == RUNNING)
				ptrace(PTRACE_INTERRUPT, w->t[k].tid, NULL, NULL);
		struct timespec again;
		deadline_in(&again, 10);
		if (stop_all(w, &again, &denied, ignored, sizeof ignored) && !rc) {
			snprintf(why, why_size, "%s", ignored);
			rc = -1;
		}
	}
	return rc;
}

void hp_world_resume(struct hp_world *w)
{
	if (!w)
		return;
	/* A thread still running (the world was half stopped when something failed) is stopped
	 * first: only a stopped tracee can be detached with its registers as they should be. */
	struct timespec deadline;
	deadline_in(&deadline, 5);
	for (size_t k = 0; k < w->n; k++)
		if (w->t[k].state == RUNNING)
			ptrace(PTRACE_INTERRUPT, w->t[k].tid, NULL, NULL);
	for (;;) {
		int waiting = 0;
		for (size_t k = 0; k < w->n; k++)
			waiting |= w->t[k].state == RUNNING;
		pid_t who;
		int status;
		if (!waiting || wait_event(&deadline, &who, &status) <= 0)
			break;
		on_event(w, who, status, 1);
	}
	for (size_t k = 0; k < w->n; k++) {
		struct thread *t = &w->t[k];
		if (t->lost)
			fprintf(stderr, "hpctl: process %d: thread %d was taken out of a call that did not return: it goes "
			        "on where it was stopped, but what the call held (a lock) may stay held\n", (int)w->pid,
			        (int)t->tid);
		let_go(w, t, 1);
		free(t->deferred);
	}
	if (w->mem >= 0)
		close(w->mem);
	free(w->t);
	free(w);
}

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
#include <elf.h>
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
/* orig_rax holds the system call the thread is in, or -1 (the kernel's own convention). */
static long regs_syscall(const hp_regs *r) { return (long)r->orig_rax; }
/* A system call the kernel will restart through the thread's restart block (rax
 * -ERESTART_RESTARTBLOCK, 516: nanosleep, clock_nanosleep, poll or a futex wait with a timeout). */
static int regs_restart_block(const hp_regs *r) { return (long)r->orig_rax >= 0 && (long long)r->rax == -516; }

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

/* The rest of a thread's processor state, which the general registers leave out: x87, SSE,
 * AVX and whatever else XSAVE covers (NT_X86_XSTATE, as large as the processor's).  The called
 * function is free to change it (dlopen's string functions use the vector registers, a
 * constructor may change the rounding mode), and the program's code, stopped anywhere, may have
 * live values in any of it. */
#define FPU_MAX 65536
static int fpu_get(pid_t tid, void *buf, size_t *size)
{
	struct iovec v = { buf, FPU_MAX };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)NT_X86_XSTATE, &v))
		return -1;
	*size = v.iov_len;
	return 0;
}

static int fpu_set(pid_t tid, const void *buf, size_t size)
{
	struct iovec v = { (void *)buf, size };
	return ptrace(PTRACE_SETREGSET, tid, (void *)(long)NT_X86_XSTATE, &v) ? -1 : 0;
}

/* The control state the ABI promises a called function (x87 stack empty, default precision and
 * rounding in the x87 control word and MXCSR, exceptions masked), whatever the thread was doing;
 * the vector registers are left as they are (scratch at a call).  In XSAVE's standard layout: the
 * legacy area's FCW, FSW, abridged tag and MXCSR, and the header's XSTATE_BV, which must say
 * that x87 and SSE state are given for the kernel to load them. */
static void fpu_for_call(uint8_t *x, size_t size)
{
	if (size < 520)
		return;
	uint16_t fcw = 0x37f, fsw = 0;
	uint32_t mxcsr = 0x1f80;
	uint64_t present;
	memcpy(x, &fcw, 2);
	memcpy(x + 2, &fsw, 2);
	x[4] = 0;  /* every x87 register empty */
	memcpy(x + 24, &mxcsr, 4);
	memcpy(&present, x + 512, 8);
	present |= 3;
	memcpy(x + 512, &present, 8);
}

/* Where the call returns: into a system call instruction in the process's own code, caught at
 * its entry by PTRACE_SYSCALL, and never run.  Not a return to an unmapped address: its SIGSEGV
 * is a forced signal, and a thread that blocks SIGSEGV (a sigwait thread blocks everything) or a
 * process that ignores it would have its SIGSEGV action reset to the default and unblocked by
 * the kernel, the program's own handler lost; setting the thread's mask for the call
 * (PTRACE_SETSIGMASK) would not do either, as it drops the mask that ppoll, pselect, epoll_pwait
 * and sigsuspend put back when they return.  A system call stop is no signal: nothing of the
 * program's changes. */
static const uint8_t return_insn[] = { 0x0f, 0x05 };
#define SYSCALL_STOP (SIGTRAP | 0x80)  /* with PTRACE_O_TRACESYSGOOD */

/* At a system call entry stop of the calling thread: whether it is the call's return (just past
 * the return instruction, the stack just above the slot of the return address: any system call
 * made inside the call, through the same instruction, runs deeper in the stack), and then the
 * function's result, which the kernel has moved to orig_rax (rax was the system call number). */
static int regs_returned(const hp_regs *r, uint64_t at, uint64_t slot, uint64_t *result)
{
	if (r->rip != at + sizeof return_insn || r->rsp != slot + 8)
		return 0;
	*result = r->orig_rax;
	return 1;
}

/* The return's system call is made a harmless one before the thread goes on: getpid, which every
 * seccomp allowlist admits.  Skipping it (-1) would still show -1 to a seccomp filter, and the
 * function's result as it stands would be a system call number, read (0) for a NULL. */
static void regs_harmless(hp_regs *r) { r->orig_rax = SYS_getpid; }

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
	uint64_t return_at;  /* where calls return (find_return_insn), once found */
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
	if (sig == SYSCALL_STOP)  /* a system call stop of a call's thread taken back: no signal */
		sig = 0;
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

/* Whether process pid is an hpctl: its name (comm), or the file it runs (a renamed copy still
 * has an hpctl binary's name in its comm, so both are asked). */
static int is_hpctl(pid_t pid)
{
	char path[64], name[64] = "", exe[4096];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(name, sizeof name, f))
			name[0] = 0;
		fclose(f);
	}
	name[strcspn(name, "\n")] = 0;
	if (!strcmp(name, "hpctl"))
		return 1;
	snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof exe - 1);
	if (n <= 0)
		return 0;
	exe[n] = 0;
	const char *base = strrchr(exe, '/');
	return !strcmp(base ? base + 1 : exe, "hpctl");
}

/* Why PTRACE_SEIZE of process pid was refused, naming the setting, in one line.  1 when it is a
 * matter of permission; 0 when another hpctl holds the process (no one lacks a right: it is busy). */
static int explain_refusal(pid_t pid, char *why, size_t size)
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
	if (tracer && tracer != getpid() && is_hpctl((pid_t)tracer)) {
		snprintf(why, size, "process %d: another hpctl (process %ld) is working on it: retry when it is done",
		         (int)pid, tracer);
		return 0;
	}
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
	return 1;
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
			if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD))) {
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
					*denied = explain_refusal(w->pid, why, size);
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

/* The signals that ask hpctl to end (a terminal's ^C and ^\, a hangup, kill's default), held
 * from the first ptrace stop to the last detach.  Were hpctl to die in between, the kernel would
 * detach its tracees wherever they are: a thread inside a call would run on into the return
 * instruction with no one to take it back, and the rest of the program's code with its registers
 * the call's.  Held, the signal waits until the world is let go whole, and then ends hpctl as the
 * user asked (its action is the default: nothing in hpctl catches them).  SIGKILL cannot be held:
 * that one still leaves a thread inside a call lost.  Counted, as worlds may nest. */
static int held_depth;
static sigset_t held_before;

static void hold_signals(void)
{
	if (held_depth++)
		return;
	sigset_t ending;
	sigemptyset(&ending);
	sigaddset(&ending, SIGINT);
	sigaddset(&ending, SIGTERM);
	sigaddset(&ending, SIGHUP);
	sigaddset(&ending, SIGQUIT);
	sigprocmask(SIG_BLOCK, &ending, &held_before);
}

/* Lets the held signals in: one that came meanwhile takes effect now. */
static void release_signals(void)
{
	if (held_depth > 0 && !--held_depth)
		sigprocmask(SIG_SETMASK, &held_before, NULL);
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
	hold_signals();  /* released by hp_world_resume, on every way out below too */
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if (stat(path, &st)) {
		snprintf(why, why_size, "no process %d", (int)pid);
		release_signals();
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

int hp_world_restart_block(const struct hp_world *w, size_t i)
{
	return i < w->n && w->t[i].state == STOPPED && regs_restart_block(&w->t[i].regs);
}

void hp_world_others_run(struct hp_world *w, int run) { w->others_run = run; }

/* Synchronous faults: the call itself went wrong (a signal sent by someone is not one). */
static int is_fault(int sig, const siginfo_t *si)
{
	return (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP) && si->si_code > 0;
}

/* The address of a return instruction (return_insn) in the process's executable code, libc's
 * first (mapped for the process's whole life, never unloaded by the call); 0 when there is none. */
static uint64_t find_return_insn(struct hp_world *w)
{
	char path[64], line[4400];
	static uint8_t buf[1 << 16];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)w->pid);
	for (int pass = 0; pass < 2; pass++) {
		FILE *f = fopen(path, "re");
		while (f && fgets(line, sizeof line, f)) {
			unsigned long start, end;
			char perms[8];
			int at = 0;
			if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &at) < 3 || perms[2] != 'x')
				continue;
			const char *name = at ? line + at : "";
			if (strstr(name, "[vsyscall]") || (!pass && !strstr(name, "/libc.so") && !strstr(name, "/libc-")))
				continue;
			for (uint64_t a = start; a < end; a += sizeof buf - (sizeof return_insn - 1)) {
				size_t n = end - a < sizeof buf ? (size_t)(end - a) : sizeof buf;
				if (pread(w->mem, buf, n, (off_t)a) != (ssize_t)n)
					break;
				const uint8_t *hit = memmem(buf, n, return_insn, sizeof return_insn);
				if (hit) {
					fclose(f);
					return a + (uint64_t)(hit - buf);
				}
				if (n < sizeof buf)
					break;
			}
		}
		if (f)
			fclose(f);
	}
	return 0;
}

/* At a system call stop of the calling thread: whether the call has returned (then *result, and
 * the return's system call made harmless). */
static int call_returned(struct hp_world *w, pid_t tid, uint64_t slot, uint64_t *result)
{
	hp_regs now;
	if (regs_get(tid, &now) || !regs_returned(&now, w->return_at, slot, result))
		return 0;
	regs_harmless(&now);
	regs_set(tid, &now);
	return 1;
}

/* Brings thread i, running the call or held at one of its system call stops (at_stop), to a
 * PTRACE_EVENT_STOP, where its registers can be put back and the kernel, once it goes on, restarts
 * the system call it was stopped in.  Meanwhile a signal for it is kept for later, never taken for
 * the call's own doing, and its system call stops are passed through: the one of the call's
 * return, should it come now, is recognised (*returned, *result).  0, or -1 when it did not stop
 * by deadline or exited. */
static int take_back(struct hp_world *w, size_t i, int at_stop, uint64_t slot, const struct timespec *deadline,
                     int *returned, uint64_t *result)
{
	pid_t tid = w->t[i].tid;
	ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
	if (at_stop)  /* the interrupt is taken on its way out of this system call */
		ptrace(PTRACE_CONT, tid, NULL, NULL);
	for (;;) {
		pid_t who;
		int status, got = wait_event(deadline, &who, &status);
		if (got <= 0)
			return -1;
		if (who != tid) {
			on_event(w, who, status, 0);
			continue;
		}
		struct thread *t = &w->t[i];
		if (!WIFSTOPPED(status)) {
			t->state = GONE;
			return -1;
		}
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event == PTRACE_EVENT_STOP)
			return 0;
		unsigned long child;
		if (event == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, tid, NULL, &child))
			add(w, (pid_t)child);
		if (!event && sig == SYSCALL_STOP) {
			if (!*returned && call_returned(w, tid, slot, result))
				*returned = 1;
		} else if (!event) {  /* a signal on the way: kept for later */
			siginfo_t si;
			memset(&si, 0, sizeof si);
			ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
			si.si_signo = sig;
			defer(w, &w->t[i], &si);
		}
		ptrace(PTRACE_CONT, tid, NULL, NULL);
	}
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
	if (!w->return_at && !(w->return_at = find_return_insn(w))) {
		snprintf(why, why_size, "process %d: no system call instruction in its code to return to", (int)w->pid);
		return -1;
	}
	/* The rest of the processor's state, put back on every way out below. */
	uint8_t *fpu = malloc(2 * FPU_MAX);
	size_t fpu_size = 0;
	if (!fpu || fpu_get(tid, fpu, &fpu_size)) {
		snprintf(why, why_size, "process %d: cannot read thread %d's vector and x87 registers: %s", (int)w->pid,
		         (int)tid, fpu ? strerror(errno) : "out of memory");
		free(fpu);
		return -1;
	}
	uint8_t *fpu_call = fpu + FPU_MAX;
	memcpy(fpu_call, fpu, fpu_size);
	fpu_for_call(fpu_call, fpu_size);
	/* The frame: below the red zone, the data, 16-byte aligned; below it the return address, the
	 * return instruction, where hpctl takes the thread back. */
	uint64_t sp = (regs_sp(&saved) - RED_ZONE - data_size) & ~15ull;
	if (data_size && pwrite(w->mem, data, data_size, (off_t)sp) != (ssize_t)data_size) {
		snprintf(why, why_size, "process %d: cannot write thread %d's stack: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		free(fpu);
		return -1;
	}
	if (data_at)
		*data_at = sp;
	uint64_t data_address = sp, back = w->return_at;
	sp -= 8;
	if (pwrite(w->mem, &back, 8, (off_t)sp) != 8) {
		snprintf(why, why_size, "process %d: cannot write thread %d's stack: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		free(fpu);
		return -1;
	}
	const uint64_t slot = sp;
	hp_regs r = saved;
	regs_call(&r, function, args, nargs, sp, data_size ? data_address : 0);
	if (regs_set(tid, &r) || fpu_set(tid, fpu_call, fpu_size)) {
		snprintf(why, why_size, "process %d: cannot set thread %d's registers: %s", (int)w->pid, (int)tid,
		         strerror(errno));
		regs_set(tid, &saved);
		fpu_set(tid, fpu, fpu_size);
		free(fpu);
		return -1;
	}
	if (w->others_run)  /* but those job control stopped: they stay so */
		for (size_t k = 0; k < w->n; k++)
			if (k != i && !w->t[k].group_stop)
				let_go(w, &w->t[k], 0);
	/* Stopping at each of the call's system calls, to catch the return's. */
	ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
	t->state = RUNNING;
	struct timespec deadline;
	deadline_in(&deadline, timeout_seconds);
	int rc = -1, returned = 0, faulted = 0, timed_out = 0;
	while (!returned && !faulted && !timed_out) {
		t = &w->t[i];  /* on_event may have grown (moved) the array */
		pid_t who;
		int status, got = wait_event(&deadline, &who, &status);
		if (got < 0 || all_gone(w)) {
			snprintf(why, why_size, "process %d exited during the call", (int)w->pid);
			free(fpu);
			return -1;
		}
		if (got == 0) {
			timed_out = 1;
			break;
		}
		if (who != tid) {
			on_event(w, who, status, 0);
			continue;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			t->state = GONE;
			snprintf(why, why_size, "process %d: thread %d exited during the call", (int)w->pid, (int)tid);
			free(fpu);
			return -1;
		}
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event) {
			unsigned long child;
			if (event == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, tid, NULL, &child))
				add(w, (pid_t)child);  /* running; its first stop lets it run (on_event) */
			ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
			continue;
		}
		if (sig == SYSCALL_STOP) {
			if (call_returned(w, tid, slot, result))
				returned = 1;
			else
				ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
			continue;
		}
		siginfo_t si;
		memset(&si, 0, sizeof si);
		ptrace(PTRACE_GETSIGINFO, tid, NULL, &si);
		if (is_fault(sig, &si)) {
			hp_regs now;
			regs_get(tid, &now);
			snprintf(why, why_size, "process %d: the call faulted in thread %d (signal %d at %#llx, address %p); "
			         "the thread was put back where it was", (int)w->pid, (int)tid, sig,
			         (unsigned long long)regs_pc(&now), si.si_addr);
			t->sig_stop = 1;  /* suppressed: the fault was the call's, not the program's */
			faulted = 1;
		} else {
			/* A signal for the program: kept until the thread is its own again. */
			si.si_signo = sig;
			defer(w, t, &si);
			ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
		}
	}
	int held = 1;  /* the thread is stopped where its registers can be put back */
	if (returned || timed_out) {
		/* Returned: out of the return's system call into a stop that restarts the program's own
		 * as the thread goes on.  Timed out: taken back wherever it is, unless it returns right
		 * now, which take_back recognises. */
		struct timespec again;
		deadline_in(&again, 5);
		held = !take_back(w, i, returned, slot, &again, &returned, result);
		if (returned)
			rc = 0;
		else
			w->t[i].lost = 1;
		if (!returned)
			snprintf(why, why_size, "process %d: the call did not return within %g s in thread %d", (int)w->pid,
			         timeout_seconds, (int)tid);
	}
	t = &w->t[i];
	if (t->state != GONE) {
		t->state = STOPPED;
		t->regs = saved;
		if (held) {
			regs_set(tid, &saved);
			fpu_set(tid, fpu, fpu_size);
		}
	}
	free(fpu);
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
	release_signals();
}

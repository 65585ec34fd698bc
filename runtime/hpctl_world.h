/* hpctl_world.h — stopping a running process's threads from outside, for hpctl: the stopped
 * world that attaching a runtime (hpctl_attach.c) and the safe switch (hpctl_safe.c) work in.
 *
 * Every thread is stopped with ptrace (PTRACE_SEIZE, then PTRACE_INTERRUPT): no signal is sent,
 * so the program's handlers and signal masks see nothing, and the threads blocked in system
 * calls are resumed so that the program never sees the stop (an interrupted call is restarted,
 * including those the kernel would end with EINTR, such as epoll_wait).  Threads the process
 * starts while it is being stopped are stopped too.  An opaque object, as the rest of hpctl
 * needs only the thread ids, their registers, and a way to run a call in one of them. */
#ifndef HPCTL_WORLD_H
#define HPCTL_WORLD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hp_world;

/* Stops every thread of process pid but spare (0: none; the runtime's own control thread, which
 * must go on serving hpctl while the program is stopped).  Returns NULL and a one-line reason in
 * why when the process cannot be stopped: no such process, or ptrace not allowed, naming the
 * reason and the setting (Yama's kernel.yama.ptrace_scope, no CAP_SYS_PTRACE, another user's
 * process, a non-dumpable process), with *denied set to 1 for a permission refusal. */
struct hp_world *hp_world_stop(pid_t pid, pid_t spare, int *denied, char *why, size_t why_size);

/* The stopped threads: their count and ids (the spare thread is not among them). */
size_t hp_world_count(const struct hp_world *w);
pid_t hp_world_tid(const struct hp_world *w, size_t i);

/* Where thread i stands: its instruction pointer, stack pointer and frame pointer. */
int hp_world_where(const struct hp_world *w, size_t i, uint64_t *pc, uint64_t *sp, uint64_t *fp);

/* Calls function(args[0..nargs-1]) (nargs <= 6, integer or pointer arguments) in thread i, with
 * data (data_size bytes) copied below the thread's stack first: *data_at receives its address
 * in the process, for the arguments to point to.  The call returns into a system call
 * instruction of the process's code, caught at its entry (no signal: the thread's mask and the
 * process's signal actions are never touched), where hpctl takes the thread back; its registers,
 * general, vector, x87 and MXCSR, are then restored as they were, on every way out, and the
 * system call it was stopped in is restarted.  0 and *result on return; -1 and a reason in why
 * when the call faulted or did not return within timeout_seconds (then the thread is left
 * stopped inside the call: hp_world_resume cannot undo it, and says so). */
/* An argument of hp_world_call that stands for the address of its data (*data_at), which is
 * known only once the data is on the thread's stack: a value no user-space address can have. */
#define HP_WORLD_DATA ((uint64_t)0xfffffffffffffd47ull)

int hp_world_call(struct hp_world *w, size_t i, uint64_t function, const uint64_t *args, int nargs,
                  const void *data, size_t data_size, uint64_t *data_at, double timeout_seconds,
                  uint64_t *result, char *why, size_t why_size);

/* Whether the other stopped threads run while hp_world_call runs a function in one thread: 0 (the
 * default) keeps them stopped; 1 lets them run during the call (still traced, so threads they
 * start are caught, and their signals are passed on) and stops them again before hp_world_call
 * returns.  A call that takes a lock (malloc's, the dynamic loader's) needs the others to run: a
 * thread stopped while holding that lock would never release it. */
void hp_world_others_run(struct hp_world *w, int run);

/* The system call thread i was stopped in (it was blocked in it, or about to return from it), or
 * -1 when it was stopped running its own code.  A thread blocked in a system call is the safer
 * one to call in: one stopped in user code may be inside malloc, holding its lock. */
long hp_world_syscall(const struct hp_world *w, size_t i);

/* Whether the system call thread i was stopped in is one the kernel restarts through the thread's
 * one restart block (a sleep or a wait with a timeout: nanosleep, poll, futex...).  A call made in
 * that thread may make such a call itself and overwrite the block: the program's own call then
 * ends early, with EINTR. */
int hp_world_restart_block(const struct hp_world *w, size_t i);

/* Lets every thread run on and detaches from them; frees w. */
void hp_world_resume(struct hp_world *w);

#endif

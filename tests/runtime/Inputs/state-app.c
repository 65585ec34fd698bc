/* state-app.c: a program whose state outside the general registers must come through hpctl
 * loading the runtime into it unchanged, for attach-thread-state.test.  Its one thread (the
 * only one hpctl can call dlopen in) is in the mode given as argument:
 *   fpu     keeps values in xmm0, xmm15 and MXCSR (rounding toward zero) live across a pause
 *           system call, until SIGUSR1 ends it; then says whether they held (a signal handler
 *           saves and restores them; a call made in the thread must too);
 *   mask    blocks every signal and waits in sigwaitinfo, with a SIGSEGV handler installed;
 *   ignore  the same, with SIGSEGV ignored;
 * in the last two, SIGUSR1 (waited for) makes it say whether its signal mask and SIGSEGV's
 * action are as they were;
 *   sleep   the first thread sleeps in nanosleep (0.2 s at a time) and says whether any sleep was
 *           cut short, once a second thread, waiting for SIGUSR1 in sigwaitinfo, gets it: hpctl
 *           must call in the second (a call made in a sleeping thread may overwrite the kernel's
 *           record of the sleep, which then ends with EINTR).
 * Prints "ready" once set up, "done" at the end. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile int one = 1;
__attribute__((noinline)) int value(void) { return one; }

static volatile int stop;
static void on_usr1(int s) { (void)s; stop = 1; }
static void on_segv(int s) { (void)s; _exit(3); }

static void fpu(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	uint64_t magic = 0x1122334455667788ull, low = 0, high = 0;
	uint32_t mxcsr = 0x7f80 /* rounding toward zero, exceptions masked */, mxcsr_after = 0;
	printf("ready %d\n", value());
	/* pause (34) by hand: a call through libc could not keep the values in registers, which a
	 * function call does not preserve; the system call instruction does. */
	__asm__ volatile("ldmxcsr %[m]\n"
	                 "movq %[magic], %%xmm0\n"
	                 "movq %[magic], %%xmm15\n"
	                 "1: mov $34, %%eax\n syscall\n"
	                 "cmpl $0, %[stop]\n je 1b\n"
	                 "movq %%xmm0, %[low]\n movq %%xmm15, %[high]\n stmxcsr %[after]\n"
	                 "ldmxcsr %[dflt]\n"
	                 : [low] "=r"(low), [high] "=r"(high), [after] "=m"(mxcsr_after)
	                 : [magic] "r"(magic), [m] "m"(mxcsr), [stop] "m"(stop), [dflt] "m"((uint32_t){ 0x1f80 })
	                 : "rax", "rcx", "r11", "xmm0", "xmm15", "cc", "memory");
	if (low == magic && high == magic && mxcsr_after == mxcsr)
		printf("registers kept\n");
	else
		printf("ERROR registers changed: xmm0 %#llx xmm15 %#llx mxcsr %#x\n", (unsigned long long)low,
		       (unsigned long long)high, mxcsr_after);
}

static void waiter(int ignore)
{
	struct sigaction sa = { .sa_handler = ignore ? SIG_IGN : on_segv }, now;
	sigaction(SIGSEGV, &sa, NULL);
	sigset_t all, before, after, usr1;
	memset(&before, 0, sizeof before);  /* the kernel fills only its own (smaller) sigset's bytes */
	memset(&after, 0, sizeof after);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigprocmask(SIG_BLOCK, NULL, &before);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	printf("ready %d\n", value());
	siginfo_t si;
	while (sigwaitinfo(&usr1, &si) != SIGUSR1)
		;
	sigprocmask(SIG_BLOCK, NULL, &after);
	sigaction(SIGSEGV, NULL, &now);
	printf("mask %s\n", memcmp(&before, &after, sizeof before) ? "ERROR changed" : "kept");
	printf("SIGSEGV action %s\n", now.sa_handler == sa.sa_handler ? "kept" : "ERROR changed");
}

/* sleep mode: the first thread sleeps in nanosleep, round after round, until the second, waiting
 * for SIGUSR1 in sigwaitinfo, gets it. */
static volatile int woken;

static void *usr1_waiter(void *arg)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	siginfo_t si;
	while (sigwaitinfo(&usr1, &si) != SIGUSR1)
		;
	woken = 1;
	return arg;
}

static void sleeper(void)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	pthread_t t;
	pthread_create(&t, NULL, usr1_waiter, NULL);
	printf("ready %d\n", value());
	int early = 0;
	while (!woken) {
		struct timespec nap = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };
		if (nanosleep(&nap, NULL)) {
			printf("ERROR nanosleep: %s\n", strerror(errno));
			early = 1;
		}
	}
	printf("sleeps %s\n", early ? "ERROR cut short" : "kept");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "fpu"))
		fpu();
	else if (!strcmp(mode, "sleep"))
		sleeper();
	else
		waiter(!strcmp(mode, "ignore"));
	printf("done\n");
	return 0;
}

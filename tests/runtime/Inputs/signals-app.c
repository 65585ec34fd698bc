/* signals-app.c: a program that counts the real-time signals it receives (queued by the kernel,
 * one by one, so none may merge) while a thread starts and joins short-lived threads all the
 * time, for attach-signals.test: signals that arrive while hpctl holds the process stopped or
 * runs dlopen in one of its threads must all reach the program's handler; threads started while
 * hpctl stops the process must be stopped and let go like the others.  SIGUSR2 prints the count. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t report;
static int received;

/* Atomic: the handler may run in two threads at once (the signal is blocked only in the thread
 * running it), and a plain ++ would lose counts by itself. */
static void count(int sig) { (void)sig; __atomic_fetch_add(&received, 1, __ATOMIC_RELAXED); }
static void ask(int sig) { (void)sig; report = 1; }

static void *nothing(void *arg) { return arg; }

static void *churn(void *arg)
{
	for (;;) {
		pthread_t t;
		if (!pthread_create(&t, NULL, nothing, NULL))
			pthread_join(t, NULL);
		usleep(500);
	}
	return arg;
}

volatile int one = 1;
__attribute__((noinline)) int value(void) { return one; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = count;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = ask;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, churn, NULL);
	printf("ready\n");
	for (int i = 0; i < 20000; i++) {
		if (report) {
			report = 0;
			printf("received %d\n", __atomic_load_n(&received, __ATOMIC_RELAXED));
		}
		if (i % 20 == 0)
			printf("value %d\n", value());
		usleep(1000);
	}
	return 0;
}

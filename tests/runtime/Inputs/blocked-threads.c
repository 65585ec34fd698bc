/* blocked-threads.c: a program whose threads are blocked in system calls the whole time (read on
 * a pipe, epoll_wait with no timeout and with a finite one, nanosleep, a futex through
 * pthread_cond_wait, poll), for attach-no-eintr.test: each prints ERROR and what it got when a
 * call returns anything but what the program expects, an EINTR above all, or an epoll_wait
 * returns no event before its timeout has gone by, while hpctl stops the
 * process, loads the runtime into it and applies a package. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *reader(void *arg)
{
	char c;
	ssize_t n = read(pipe_fds[0], &c, 1);
	printf("ERROR read returned %zd: %s\n", n, strerror(errno));
	return arg;
}

static void *epoller(void *arg)
{
	int timeout = *(int *)arg, ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, pipe_fds[0], &ev);
	for (;;) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int n = epoll_wait(ep, &out, 1, timeout);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long waited_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		if (n != 0 || timeout < 0) {
			printf("ERROR epoll_wait(timeout %d) returned %d: %s\n", timeout, n, strerror(errno));
			return arg;
		}
		/* No event means the whole timeout went by: one restarted with less would lie. */
		if (waited_ms < timeout - 1) {
			printf("ERROR epoll_wait(timeout %d) returned 0 events after %ld ms\n", timeout, waited_ms);
			return arg;
		}
	}
}

static void *sleeper(void *arg)
{
	for (;;) {
		struct timespec t = { .tv_sec = 0, .tv_nsec = 300 * 1000 * 1000 };
		if (nanosleep(&t, NULL)) {
			printf("ERROR nanosleep: %s\n", strerror(errno));
			return arg;
		}
	}
}

static void *waiter(void *arg)
{
	pthread_mutex_lock(&lock);
	int rc = pthread_cond_wait(&never, &lock);  /* nobody signals it: a futex wait forever */
	printf("ERROR pthread_cond_wait returned %d\n", rc);
	pthread_mutex_unlock(&lock);
	return arg;
}

static void *poller(void *arg)
{
	struct pollfd p = { .fd = pipe_fds[0], .events = POLLIN };
	int n = poll(&p, 1, -1);
	printf("ERROR poll returned %d: %s\n", n, strerror(errno));
	return arg;
}

volatile int one = 1;
__attribute__((noinline)) int value(void) { return one; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pipe(pipe_fds))
		return 1;
	static int forever = -1, finite = 200;
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	pthread_create(&t, NULL, epoller, &forever);
	pthread_create(&t, NULL, epoller, &finite);
	pthread_create(&t, NULL, sleeper, NULL);
	pthread_create(&t, NULL, waiter, NULL);
	pthread_create(&t, NULL, poller, NULL);
	for (int i = 0; i < 6000; i++) {
		printf("value %d\n", value());
		usleep(5000);
	}
	return 0;
}

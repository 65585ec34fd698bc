/* hpctl.h — hpctl's two halves: hpctl_connect.c finds a process's control socket (through
 * /proc/PID, in the process's own mount and pid namespaces) and connects to it after checking
 * who owns it and who serves it; hpctl.c is the command-line tool, which sends one request over
 * that connection and prints the answer. */
#ifndef HP_HPCTL_H
#define HP_HPCTL_H

#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

/* Connects to process pid's control socket by deadline (timeout_seconds, the whole allowance,
 * is for messages); returns the socket, or -1 after saying why on stderr. */
int hp_ctl_connect(pid_t pid, const struct timespec *deadline, double timeout_seconds);

/* The process's state letter from /proc/PID/stat (T stopped, t traced, Z zombie ...); 0 when
 * /proc does not tell. */
char hp_ctl_process_state(pid_t pid);

/* Whether that state is a stopped process's, which cannot answer. */
int hp_ctl_stopped(char state);

/* The time left until deadline, as a socket timeout; 0 when none is left. */
int hp_ctl_time_left(const struct timespec *deadline, struct timeval *left);

/* Whether a socket call's errno means it ran out of time. */
int hp_ctl_timed_out(int error);

/* Replaces the control characters of n bytes the process sent (but line breaks and tabs) by '?'. */
void hp_ctl_printable(char *s, size_t n);

#endif

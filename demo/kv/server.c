/* server.c — the demo's service: a small multi-threaded key-value server on 127.0.0.1.
 * One thread per connection; requests are lines: "SET key value", "GET key", "STATS".
 * Version 1 has a bug in find(): it compares only as many characters as the stored key has,
 * so "GET user1" may answer with the value of "user10". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOTS 1024

struct entry {
	char key[64];
	char value[64];
};

static struct entry table[SLOTS];
static int used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long requests;

/* The entry for key, or NULL.  (Bug: a prefix of a longer key matches it.) */
__attribute__((noinline)) struct entry *find(const char *key)
{
	for (int i = 0; i < used; i++)
		if (strncmp(table[i].key, key, strlen(table[i].key)) == 0)
			return &table[i];
	return NULL;
}

static void set(const char *key, const char *value)
{
	pthread_mutex_lock(&lock);
	struct entry *e = NULL;
	for (int i = 0; i < used && !e; i++)
		if (!strcmp(table[i].key, key))
			e = &table[i];
	if (!e && used < SLOTS)
		e = &table[used++];
	if (e) {
		snprintf(e->key, sizeof e->key, "%s", key);
		snprintf(e->value, sizeof e->value, "%s", value);
	}
	pthread_mutex_unlock(&lock);
}

/* Answers one request line into out. */
__attribute__((noinline)) void handle(char *line, char *out, size_t size)
{
	char key[64], value[64];
	atomic_fetch_add(&requests, 1);
	if (sscanf(line, "SET %63s %63s", key, value) == 2) {
		set(key, value);
		snprintf(out, size, "OK\n");
	} else if (sscanf(line, "GET %63s", key) == 1) {
		pthread_mutex_lock(&lock);
		struct entry *e = find(key);
		snprintf(out, size, e ? "VALUE %s\n" : "NONE\n", e ? e->value : "");
		pthread_mutex_unlock(&lock);
	} else if (!strncmp(line, "STATS", 5)) {
		snprintf(out, size, "STATS %ld requests, pid %d\n", (long)atomic_load(&requests), (int)getpid());
	} else {
		snprintf(out, size, "ERROR\n");
	}
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	FILE *in = fdopen(fd, "r");
	char line[256], out[256];
	while (in && fgets(line, sizeof line, in)) {
		handle(line, out, sizeof out);
		if (write(fd, out, strlen(out)) < 0)
			break;
	}
	if (in)
		fclose(in);
	else
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 64) ||
	    getsockname(s, (struct sockaddr *)&addr, &len)) {
		perror("kv-server");
		return 1;
	}
	/* The port goes to the file named on the command line: the demo's client reads it. */
	FILE *f = argc > 1 ? fopen(argv[1], "w") : stdout;
	fprintf(f, "%d\n", ntohs(addr.sin_port));
	if (f != stdout)
		fclose(f);
	for (;;) {
		int c = accept(s, NULL, NULL);
		pthread_t t;
		if (c >= 0 && pthread_create(&t, NULL, serve, (void *)(long)c) == 0)
			pthread_detach(t);
		else if (c >= 0)
			close(c);
	}
}

/* client.c — the demo's load: THREADS connections to the kv server, each setting and getting
 * keys in a loop and checking every answer.  Every second it prints a line with the requests
 * answered, the wrong answers and the failed requests (no answer, or connection lost) of that
 * second; at the end, the totals.  Stops after SECONDS, or when the file STOP appears. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static atomic_long ok, wrong, failed;
static atomic_int stop;

static int request(FILE *io, const char *line, char *answer, size_t size)
{
	if (fputs(line, io) == EOF || fflush(io) == EOF || !fgets(answer, (int)size, io))
		return -1;
	return 0;
}

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s, (struct sockaddr *)&addr, sizeof addr)) {
		atomic_fetch_add(&failed, 1);
		return NULL;
	}
	FILE *io = fdopen(s, "r+");
	char line[160], answer[160], expect[160];
	/* Keys user<id>_<n>: "user1_1" is a prefix of "user1_10", which is what v1 gets wrong. */
	for (unsigned n = 1; !atomic_load(&stop); n = n % 40 + 1) {
		snprintf(line, sizeof line, "SET user%d_%u v%d_%u\n", id, n, id, n);
		if (request(io, line, answer, sizeof answer)) {
			atomic_fetch_add(&failed, 1);
			break;
		}
		snprintf(line, sizeof line, "GET user%d_%u\n", id, n);
		snprintf(expect, sizeof expect, "VALUE v%d_%u\n", id, n);
		if (request(io, line, answer, sizeof answer)) {
			atomic_fetch_add(&failed, 1);
			break;
		}
		atomic_fetch_add(strcmp(answer, expect) ? &wrong : &ok, 1);
	}
	fclose(io);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: kv-client PORTFILE THREADS SECONDS STOPFILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f || fscanf(f, "%d", &port) != 1)
		return 2;
	fclose(f);
	int threads = atoi(argv[2]), seconds = atoi(argv[3]);
	pthread_t t[64];
	threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(long)(i + 1));
	long last_ok = 0, last_wrong = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int s = 1; s <= seconds && access(argv[4], F_OK) != 0; s++) {
		sleep(1);
		long o = atomic_load(&ok), w = atomic_load(&wrong);
		printf("  [load] second %2d: %6ld answers, %4ld wrong, %ld failed\n", s, o - last_ok + w - last_wrong,
		       w - last_wrong, (long)atomic_load(&failed));
		last_ok = o;
		last_wrong = w;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("  [load] total: %ld requests answered, %ld wrong, %ld failed\n", atomic_load(&ok) + atomic_load(&wrong),
	       (long)atomic_load(&wrong), (long)atomic_load(&failed));
	return atomic_load(&failed) ? 1 : 0;
}

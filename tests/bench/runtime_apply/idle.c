/* idle.c — for tests/bench/runtime_apply.sh: a program that does nothing, then reports its own
 * memory (smaps_rollup) and thread count.  Linked with and without libhotpatch.a, it shows what
 * the runtime costs a process that is never patched. */
#include <stdio.h>
#include <time.h>
#include "procmem.h"

int main(void)
{
	procmem_init();
	/* Let the runtime's control thread (if linked) start and go to sleep in accept(). */
	struct timespec settle = { 0, 200 * 1000 * 1000 };
	nanosleep(&settle, NULL);
	struct procmem m;
	procmem_self(&m);
	printf("idle rss %ld pss %ld anonymous %ld private_dirty %ld threads %ld\n", m.rss, m.pss, m.anonymous,
	       m.private_dirty, m.threads);
	return 0;
}

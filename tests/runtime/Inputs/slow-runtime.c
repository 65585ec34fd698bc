/* slow-runtime.c: a stand-in for the runtime whose constructor takes 2 s (as a real one may:
 * persisted packages to apply, a slow disk), for attach-killed.test: hpctl is inside the call
 * that loads it for that long, time enough to be sent a signal there. */
#include <unistd.h>

__attribute__((constructor)) static void slow(void) { sleep(2); }

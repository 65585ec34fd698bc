/* trust-driver.c — a test program's fixed part for the trust policy: applies each package named
 * on its command line to itself through the C API, printing probe() (in app.c) after each and
 * reverting those that applied, so that every package meets the process as it started. */
#include <stdio.h>
#include <string.h>
#include "hotpatch.h"
#include "apply_file.h"

int probe(void);

int main(int argc, char **argv)
{
	printf("before %d\n", probe());
	for (int i = 1; i < argc; i++) {
		const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		int id = apply_file(argv[i], name);
		if (id > 0) {
			printf("%s applied: %d\n", name, probe());
			hp_revert(id);
		}
		printf("%s then: %d\n", name, probe());
	}
	return 0;
}

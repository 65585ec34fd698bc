/* sqlite_live.c — a SQLite program that patches itself: it runs queries, applies the package
 * named on its command line through libhotpatch (the 3.47.0 -> 3.47.1 fix), runs them again in
 * the same process, reverts, and runs them once more.  Prints the library version SQLite reports
 * and a checksum of the query results each time. */
#include <stdio.h>
#include <stdlib.h>
#include "hotpatch.h"
#include "sqlite3.h"

static long long run(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long sum = 0;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return -1;
	sqlite3_exec(db, "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, n INT);"
	                 "CREATE INDEX tn ON t(n);", NULL, NULL, NULL);
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO t(v, n) VALUES(printf('row-%d', ?1), ?1 % 97)", -1, &st, NULL);
	for (int i = 0; i < 5000; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "SELECT n, count(*), sum(length(v)) FROM t WHERE n < 50 GROUP BY n", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		sum = sum * 31 + sqlite3_column_int64(st, 0) * 7 + sqlite3_column_int64(st, 1) + sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return sum;
}

static void report(const char *when)
{
	printf("%s: sqlite %s (%d), result %lld\n", when, sqlite3_libversion(), sqlite3_libversion_number(), run());
}

int main(int argc, char **argv)
{
	report("before");
	if (argc < 2)
		return 0;
	FILE *f = fopen(argv[1], "rb");
	if (!f)
		return 1;
	static char pkg[1 << 22];
	size_t size = fread(pkg, 1, sizeof pkg, f);
	fclose(f);
	int id = hp_apply(pkg, size);
	if (id < 0) {
		printf("apply failed: %s: %s\n", hp_strerror(id), hp_last_error());
		return 1;
	}
	report("patched");
	int rc = hp_revert(id);
	report(rc ? "revert failed" : "reverted");
	return 0;
}

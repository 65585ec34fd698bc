/* sqlite_workload.c — a deterministic SQLite workload for tests and benchmarks: prints one checksum line. */
/*
 * Link it with the SQLite amalgamation (tests/tools/fetch-sqlite.sh):
 *
 *     cc -O2 -I SQLITE_DIR sqlite_workload.c SQLITE_DIR/sqlite3.c -lm -o sqlite_workload
 *     ./sqlite_workload [ROWS]
 *
 * On an in-memory database it creates an indexed table, inserts ROWS rows (20000 unless given)
 * inside one transaction through a prepared statement, then runs ROWS/50 indexed point queries
 * (at least one), a GROUP BY aggregate, a LIKE scan,
 * an UPDATE, a DELETE and an integrity check.  Every value it reads back goes into a 64-bit FNV-1a
 * hash, printed as "sqlite-workload ok <hash>": the same line whatever the compile flags, as long as
 * SQLite works.  All data comes from a fixed-seed generator and only integers and text are compared,
 * so there is nothing that floating point or the clock could change.  Errors go to stderr, exit 1.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

enum {
	DEFAULT_ROWS = 20000, /* rows inserted when no ROWS is given */
	MAX_ROWS = 1000000,
	KEYS = 50000,         /* range of the indexed column k: some keys repeat, most are absent */
	GROUPS = 50,          /* distinct values of grp */
};

/* A smaller ROWS is for runs that cost far more per instruction than a native one (an emulator
 * tracing every instruction); the key range stays, so every query still has work to do. */
static int row_count = DEFAULT_ROWS;
static int lookup_count = DEFAULT_ROWS / 50; /* indexed point queries */

static sqlite3 *db;
static uint64_t hash = 14695981039346656037u; /* FNV-1a 64 offset basis */

static void fail(const char *fmt, ...)
{
	va_list ap;
	fputs("sqlite-workload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (db)
		fprintf(stderr, ": %s", sqlite3_errmsg(db));
	fputc('\n', stderr);
	exit(1);
}

static void mix_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		hash ^= b[i];
		hash *= 1099511628211u; /* FNV-1a 64 prime */
	}
}

/* Integers go in as 8 little-endian bytes, so the hash does not depend on the host's byte order. */
static void mix_int(int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	mix_bytes(b, sizeof b);
}

/* A fixed-seed 64-bit LCG (Knuth's MMIX constants); the high half is the well-mixed part. */
static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)(rng_state >> 32);
}

static void exec(const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sqlite-workload: %s: %s\n", sql, msg ? msg : "unknown error");
		exit(1);
	}
}

static sqlite3_stmt *prepare(const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail("cannot prepare \"%s\"", sql);
	return st;
}

/* Steps a query to the end, hashing every column of every row; returns the number of rows. */
static int64_t mix_rows(sqlite3_stmt *st)
{
	int64_t rows = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);
		for (int i = 0; i < n; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				mix_int(sqlite3_column_int64(st, i));
				break;
			case SQLITE_NULL:
				mix_bytes("N", 1);
				break;
			default: { /* text; nothing here yields floats or blobs */
				const unsigned char *t = sqlite3_column_text(st, i);
				mix_bytes(t, (size_t)sqlite3_column_bytes(st, i));
				mix_bytes("", 1);
				break;
			}
			}
		}
		rows++;
	}
	if (rc != SQLITE_DONE)
		fail("query \"%s\" failed", sqlite3_sql(st));
	mix_int(rows);
	return rows;
}

static void query(const char *sql)
{
	sqlite3_stmt *st = prepare(sql);
	mix_rows(st);
	sqlite3_finalize(st);
}

static void change(const char *sql)
{
	exec(sql);
	mix_int(sqlite3_changes64(db));
}

static void insert_rows(void)
{
	static const char *const words[] = { "alpha", "bravo", "charlie", "delta", "echo",
		                             "foxtrot", "golf", "hotel", "india", "juliet" };
	sqlite3_stmt *st = prepare("INSERT INTO t(id, k, grp, val, name) VALUES (?1, ?2, ?3, ?4, ?5)");
	char name[64];
	exec("BEGIN");
	for (int i = 1; i <= row_count; i++) {
		uint32_t r = rng();
		int n = snprintf(name, sizeof name, "%s-%u-%s", words[r % 10], (unsigned)(rng() % 100000),
		                 words[(r >> 8) % 10]);
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_int(st, 2, (int)(rng() % KEYS));
		sqlite3_bind_int(st, 3, (int)(r >> 16) % GROUPS);
		sqlite3_bind_int(st, 4, (int)(rng() % 1000));
		sqlite3_bind_text(st, 5, name, n, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			fail("insert of row %d failed", i);
		sqlite3_reset(st);
	}
	exec("COMMIT");
	sqlite3_finalize(st);
}

static void point_queries(void)
{
	sqlite3_stmt *st = prepare("SELECT id, grp, val, name FROM t WHERE k = ?1 ORDER BY id");
	int64_t found = 0;
	for (int i = 0; i < lookup_count; i++) {
		sqlite3_bind_int(st, 1, (int)(rng() % KEYS));
		found += mix_rows(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	mix_int(found);
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fputs("usage: sqlite_workload [ROWS]\n", stderr);
		return 1;
	}
	if (argc == 2) {
		char *end;
		long n = strtol(argv[1], &end, 10);
		if (end == argv[1] || *end != '\0' || n < 1 || n > MAX_ROWS) {
			fprintf(stderr, "sqlite-workload: ROWS must be an integer from 1 to %d, not '%s'\n",
			        MAX_ROWS, argv[1]);
			return 1;
		}
		row_count = (int)n;
		lookup_count = row_count / 50 > 0 ? row_count / 50 : 1;
	}
	rng_state = 20240611;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		fail("cannot open an in-memory database");
	exec("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, grp INTEGER NOT NULL,"
	     " val INTEGER NOT NULL, name TEXT NOT NULL)");
	exec("CREATE INDEX t_k ON t(k)");

	insert_rows();
	point_queries();
	query("SELECT grp, count(*), sum(val), min(k), max(k), max(name) FROM t GROUP BY grp ORDER BY grp");
	query("SELECT count(*), sum(id), sum(length(name)) FROM t WHERE name LIKE '%a-1%o'");
	change("UPDATE t SET val = val * 3 + grp, name = upper(name) WHERE k BETWEEN 10000 AND 24999");
	change("DELETE FROM t WHERE grp % 7 = 3 OR val > 2900");
	query("SELECT count(*), sum(k), sum(val), sum(length(name)), min(name), max(name) FROM t");
	query("SELECT id, k, name FROM t WHERE k >= 31000 ORDER BY k, id LIMIT 20");
	query("PRAGMA integrity_check");

	if (sqlite3_close(db) != SQLITE_OK)
		fail("cannot close the database");
	db = NULL;
	printf("sqlite-workload ok %" PRIu64 "\n", hash);
	return 0;
}

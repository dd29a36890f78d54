/*
 * reader.c: the read limit of the benchmark.  Reads every column of every
 * row of every table of a SQLite file through the SQLite C API, in one read
 * transaction, and does nothing with the values but touch them (so the
 * compiler cannot drop the reads): the least any migration must do on the
 * SQLite side.
 *
 *   cc -O2 -o reader bench/reader.c -lsqlite3
 *   ./reader app.db        prints "<table> <rows>" lines, then "total <rows> <seconds>"
 *                          and "peak RSS <kB> kB"
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "reader: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
	exit(1);
}

int
main(int argc, char **argv)
{
	sqlite3    *db;
	sqlite3_stmt *tables;
	uint64_t	sink = 0;
	long long	total = 0;
	double		start = now();

	if (argc != 2)
	{
		fprintf(stderr, "usage: reader FILE.db\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(db, "open");
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		die(db, "BEGIN");
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
						   "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
						   -1, &tables, NULL) != SQLITE_OK)
		die(db, "prepare catalog query");
	while (sqlite3_step(tables) == SQLITE_ROW)
	{
		const char *name = (const char *) sqlite3_column_text(tables, 0);
		char	   *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
		sqlite3_stmt *st;
		long long	rows = 0;
		int			rc,
					ncol,
					i;

		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			die(db, sql);
		ncol = sqlite3_column_count(st);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		{
			rows++;
			for (i = 0; i < ncol; i++)
			{
				switch (sqlite3_column_type(st, i))
				{
					case SQLITE_INTEGER:
						sink += (uint64_t) sqlite3_column_int64(st, i);
						break;
					case SQLITE_FLOAT:
						{
							double		d = sqlite3_column_double(st, i);
							uint64_t	u;

							memcpy(&u, &d, sizeof u);
							sink ^= u;
							break;
						}
					case SQLITE_TEXT:
						{
							const unsigned char *t = sqlite3_column_text(st, i);
							int			n = sqlite3_column_bytes(st, i);

							sink += n + (n > 0 ? t[0] + t[n - 1] : 0);
							break;
						}
					case SQLITE_BLOB:
						{
							const unsigned char *b = sqlite3_column_blob(st, i);
							int			n = sqlite3_column_bytes(st, i);

							sink += n + (n > 0 ? b[0] + b[n - 1] : 0);
							break;
						}
					default:	/* NULL */
						sink++;
						break;
				}
			}
		}
		if (rc != SQLITE_DONE)
			die(db, sql);
		sqlite3_finalize(st);
		sqlite3_free(sql);
		printf("%s %lld\n", name, rows);
		total += rows;
	}
	sqlite3_finalize(tables);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	printf("total %lld %.3f (checksum %llu)\n", total, now() - start,
		   (unsigned long long) sink);
	{
		FILE	   *f = fopen("/proc/self/status", "r");
		char		line[256];

		while (f && fgets(line, sizeof line, f))
			if (strncmp(line, "VmHWM:", 6) == 0)
				printf("peak RSS %ld kB\n", strtol(line + 6, NULL, 10));
		if (f)
			fclose(f);
	}
	return 0;
}

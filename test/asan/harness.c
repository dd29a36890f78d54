/*-------------------------------------------------------------------------
 *
 * harness.c
 *		  Drives the project's pure-C parts outside the server, built with
 *		  -fsanitize=address,undefined (test/asan/Makefile, test/long.sh asan).
 *
 *	harness CORPUS_DIR [RANDOM_CASES [SEED]]
 *
 * Inputs: every line of the .txt files in CORPUS_DIR (escapes \n \t \\ \xHH, so a line
 * can hold control bytes, NUL and invalid UTF-8), then RANDOM_CASES inputs
 * (default 5000) made from a fixed seed: corpus lines mutated (bytes
 * flipped, inserted, deleted, truncated, spliced, tokens inserted), random
 * token soups, and deep nesting.  Every input goes through every entry point:
 *
 *	translate.c  sqlite_translate_expr (5 kinds x 10 DEFAULT target types),
 *				 sqlite_translate_view, sqlite_extract_checks,
 *				 sqlite_extract_generated, sqlite_extract_fkeys,
 *				 sqlite_extract_index_parts (and the extracted expressions
 *				 through sqlite_translate_expr again)
 *	typemap.c	 sqlite_map_declared_type (the type table),
 *				 sqlite_parse_datetime, sqlite_printable, sqlite_describe_value,
 *				 sqlite_real_to_text, sqlite_conv_value (value conversion, for
 *				 each conversion kind and date/time unit, the input bound as
 *				 TEXT and as BLOB, plus edge INTEGER and REAL values)
 *	profile.c	 sqlite_profile_value, sqlite_value_fits,
 *				 sqlite_numeric_digits
 *
 * An ERROR raised by an entry point is caught (as the server would) and
 * counted.  The contract checks: sqlite_translate_expr and
 * sqlite_translate_view never raise an ERROR and return a reason with every
 * NULL; the profile functions never raise one.  A breach is printed and
 * makes the exit status 1.  ASan/UBSan reports stop the program (exit
 * status from ASAN_OPTIONS/UBSAN_OPTIONS).  The last line:
 *	harness: N inputs (C corpus, R random), K calls, E errors caught, ...
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>

#include "catalog/pg_type_d.h"
#include "common/shortest_dec.h"
#include "sqlite_fdw_mig.h"

#include "shim.h"

/* ---------------------------------------------------------------- state */

static sqlite3 *db;
static sqlite3_stmt *sel;		/* SELECT ?1 */

static long n_inputs, n_corpus, n_random;
static long n_calls, n_errors, n_unavailable, n_contract;
static long n_translated, n_refused, n_dt_ok, n_type_mapped;
static long n_conv_ok, n_fits;

#define MAX_CONTRACT_SHOWN 20

/* Run "stmt" and catch an ERROR; evaluates to true if one was raised. */
#define CAUGHT(stmt) \
	({ \
		sigjmp_buf	jb_; \
		sigjmp_buf *save_ = PG_exception_stack; \
		volatile bool err_ = false; \
		PG_exception_stack = &jb_; \
		n_calls++; \
		if (sigsetjmp(jb_, 0) == 0) \
		{ \
			stmt; \
		} \
		else \
		{ \
			err_ = true; \
			n_errors++; \
			if (strncmp(shim_last_message, "harness:", 8) == 0) \
				n_unavailable++; \
		} \
		PG_exception_stack = save_; \
		err_; \
	})

static void
contract(const char *what, const char *input)
{
	n_contract++;
	if (n_contract <= MAX_CONTRACT_SHOWN)
		printf("contract: %s; input: %.200s%s\n", what, input,
			   strlen(input) > 200 ? "..." : "");
}

/* ---------------------------------------------------------------- maps */

static List *colmap;
static List *tablemap;

static SqliteNameMap *
mk_col(const char *sqlite_name, const char *pg_name, Oid type)
{
	SqliteNameMap *m = palloc0(sizeof(SqliteNameMap));

	m->sqlite_name = pstrdup(sqlite_name);
	m->pg_name = pstrdup(pg_name);
	m->pg_type = type;
	return m;
}

static void
build_maps(void)
{
	SqliteTableMap *t;

	colmap = lappend(colmap, mk_col("a", "a", INT4OID));
	colmap = lappend(colmap, mk_col("b", "b", TEXTOID));
	colmap = lappend(colmap, mk_col("c", "c", TIMESTAMPOID));
	colmap = lappend(colmap, mk_col("d", "d", FLOAT8OID));
	colmap = lappend(colmap, mk_col("e", "e", BOOLOID));
	colmap = lappend(colmap, mk_col("f", "f", NUMERICOID));
	colmap = lappend(colmap, mk_col("g", "g", BYTEAOID));
	colmap = lappend(colmap, mk_col("h", "h", BPCHAROID));
	colmap = lappend(colmap, mk_col("Weird Col", "Weird Col", TEXTOID));
	colmap = lappend(colmap, mk_col("select", "select", INT8OID));
	colmap = lappend(colmap, mk_col("名前", "名前", TEXTOID));

	t = palloc0(sizeof(SqliteTableMap));
	t->sqlite_name = pstrdup("t");
	t->pg_schema = pstrdup("public");
	t->pg_name = pstrdup("t");
	t->colmap = colmap;
	tablemap = lappend(tablemap, t);
	t = palloc0(sizeof(SqliteTableMap));
	t->sqlite_name = pstrdup("Other Table");
	t->pg_schema = pstrdup("My Schema");
	t->pg_name = pstrdup("other table");
	t->colmap = list_make2(mk_col("x", "x", INT8OID), mk_col("y", "y", TEXTOID));
	tablemap = lappend(tablemap, t);
}

/* ---------------------------------------------------------------- translate */

static const Oid default_targets[] = {
	InvalidOid, INT4OID, INT8OID, TEXTOID, TIMESTAMPOID, TIMESTAMPTZOID,
	DATEOID, TIMEOID, BOOLOID, NUMERICOID, FLOAT8OID, BYTEAOID
};

static void
run_translate_expr(const char *s)
{
	int			kind;
	int			i;

	for (kind = SQLITE_EXPR_DEFAULT; kind <= SQLITE_EXPR_WHERE; kind++)
	{
		int			ntarget = (kind == SQLITE_EXPR_DEFAULT) ? lengthof(default_targets) : 1;

		for (i = 0; i < ntarget; i++)
		{
			char	   *volatile result = NULL;
			char	   *volatile reason = NULL;
			long		before = shim_raw_parser_calls;

			if (CAUGHT({
				char	   *r = NULL;

				result = sqlite_translate_expr(s, (SqliteExprKind) kind,
											   default_targets[i], colmap, &r);
				reason = r;
			}))
			{
				contract(psprintf("sqlite_translate_expr raised an ERROR (kind %d): %s",
								  kind, shim_last_message), s);
				continue;
			}
			if (result == NULL && reason == NULL)
				contract("sqlite_translate_expr returned NULL without a reason", s);
			if (shim_raw_parser_calls > before)
				n_translated++;		/* reached the final check */
			else
				n_refused++;
		}
	}
}

static void
run_table_sql(const char *s)
{
	List	   *volatile checks = NIL;
	List	   *volatile gens = NIL;
	ListCell   *lc;

	(void) CAUGHT(checks = sqlite_extract_checks(s));
	(void) CAUGHT(gens = sqlite_extract_generated(s));
	(void) CAUGHT((void) sqlite_extract_fkeys(s));
	(void) CAUGHT({
		List	   *items = NIL;
		char	   *where = NULL;

		sqlite_extract_index_parts(s, &items, &where);
		if (where)
			run_translate_expr(where);
		foreach(lc, items)
		{
			if (lfirst(lc))
				run_translate_expr((char *) lfirst(lc));
		}
	});
	if (CAUGHT({
		char	   *reason = NULL;
		char	   *r = sqlite_translate_view(s, tablemap, &reason);

		if (r == NULL && reason == NULL)
			contract("sqlite_translate_view returned NULL without a reason", s);
	}))
		contract(psprintf("sqlite_translate_view raised an ERROR: %s",
						  shim_last_message), s);
	foreach(lc, checks)
	{
		SqliteTableExpr *e = lfirst(lc);

		if (e->expr)
			run_translate_expr(e->expr);
	}
	foreach(lc, gens)
	{
		SqliteTableExpr *e = lfirst(lc);

		if (e->expr)
			run_translate_expr(e->expr);
	}
}

/* ---------------------------------------------------------------- values */

typedef struct ConvSpec
{
	SqliteConvKind kind;
	Oid			typid;
	int32		maxchars;
} ConvSpec;

static const ConvSpec conv_specs[] = {
	{CONV_INT2, INT2OID, -1}, {CONV_INT4, INT4OID, -1}, {CONV_INT8, INT8OID, -1},
	{CONV_FLOAT4, FLOAT4OID, -1}, {CONV_FLOAT8, FLOAT8OID, -1},
	{CONV_NUMERIC, NUMERICOID, -1}, {CONV_BOOL, BOOLOID, -1},
	{CONV_TEXT, TEXTOID, -1}, {CONV_TEXT, VARCHAROID, 5}, {CONV_TEXT, VARCHAROID, 0},
	{CONV_BYTEA, BYTEAOID, -1}, {CONV_DATE, DATEOID, -1}, {CONV_TIME, TIMEOID, -1},
	{CONV_TIMESTAMP, TIMESTAMPOID, -1}, {CONV_TIMESTAMPTZ, TIMESTAMPTZOID, -1},
	{CONV_UUID, UUIDOID, -1}
};

/* For the profile only (it does not call input functions). */
static const ConvSpec profile_only_specs[] = {
	{CONV_INPUT, JSONOID, -1}, {CONV_INPUT, JSONBOID, -1},
	{CONV_INPUT, BPCHAROID, 3}, {CONV_INPUT, INETOID, -1}
};

static void
init_conv(SqliteColumnConv *conv, const ConvSpec *spec, SqliteDatetimeUnit unit)
{
	memset(conv, 0, sizeof(*conv));
	conv->typid = conv->basetypid = spec->typid;
	conv->typmod = conv->basetypmod = spec->maxchars >= 0 ? spec->maxchars + VARHDRSZ : -1;
	conv->kind = spec->kind;
	conv->dtunit = unit;
	conv->maxchars = spec->maxchars;
	conv->mcxt = CurrentMemoryContext;
}

static bool
is_dt_kind(SqliteConvKind k)
{
	return k == CONV_DATE || k == CONV_TIME || k == CONV_TIMESTAMP ||
		k == CONV_TIMESTAMPTZ;
}

/* Column 0 of "sel" holds the value: run the value functions on it. */
static void
run_bound_value(void)
{
	int			i;
	int			unit;

	if (sqlite3_step(sel) != SQLITE_ROW)
	{
		sqlite3_reset(sel);
		return;
	}
	(void) CAUGHT((void) sqlite_describe_value(sel, 0));
	(void) sqlite_storage_class_name(sqlite3_column_type(sel, 0));
	for (i = 0; i < (int) lengthof(conv_specs); i++)
	{
		for (unit = SQLITE_DT_NONE; unit <= SQLITE_DT_JULIANDAY; unit++)
		{
			SqliteColumnConv conv;
			SqliteColumnProfile prof;

			if (unit != SQLITE_DT_NONE && !is_dt_kind(conv_specs[i].kind))
				break;
			init_conv(&conv, &conv_specs[i], (SqliteDatetimeUnit) unit);
			if (!CAUGHT({
				bool		isnull;

				(void) sqlite_conv_value(&conv, sel, 0, &isnull);
			}))
				n_conv_ok++;
			sqlite_profile_init(&prof);
			if (CAUGHT(sqlite_profile_value(&prof, &conv, sel, 0, false)))
				contract(psprintf("sqlite_profile_value raised an ERROR: %s",
								  shim_last_message), "(bound value)");
			if (CAUGHT({
				if (sqlite_value_fits(&conv, sel, 0))
					n_fits++;
			}))
				contract(psprintf("sqlite_value_fits raised an ERROR: %s",
								  shim_last_message), "(bound value)");
		}
	}
	for (i = 0; i < (int) lengthof(profile_only_specs); i++)
	{
		SqliteColumnConv conv;
		SqliteColumnProfile prof;

		init_conv(&conv, &profile_only_specs[i], SQLITE_DT_NONE);
		sqlite_profile_init(&prof);
		if (CAUGHT(sqlite_profile_value(&prof, &conv, sel, 0, false)))
			contract(psprintf("sqlite_profile_value raised an ERROR: %s",
							  shim_last_message), "(bound value)");
	}
	sqlite3_reset(sel);
	sqlite3_clear_bindings(sel);
}

static void
run_value_bytes(const char *s, int len)
{
	SqliteDateTime dt;
	char	   *nul = pnstrdup(s, len);
	int			maxchars;

	if (sqlite_parse_datetime(s, len, &dt))
		n_dt_ok++;
	n_calls++;
	for (maxchars = 0; maxchars <= 64; maxchars += 16)
		(void) CAUGHT((void) sqlite_printable(s, len, maxchars));
	(void) CAUGHT({
		int			int_digits = 0;
		int			scale = 0;

		(void) sqlite_numeric_digits(nul, &int_digits, &scale);
	});
	(void) CAUGHT({
		if (sqlite_map_declared_type(nul) != NULL)
			n_type_mapped++;
	});
	/* as TEXT (possibly invalid UTF-8, possibly holding NUL) */
	sqlite3_bind_text(sel, 1, s, len, SQLITE_TRANSIENT);
	run_bound_value();
	/* as BLOB */
	sqlite3_bind_blob(sel, 1, s, len, SQLITE_TRANSIENT);
	run_bound_value();
	pfree(nul);
}

static void
run_numbers(void)
{
	static const int64 ints[] = {
		0, 1, -1, 2, 32767, 32768, -32768, -32769, 2147483647, 2147483648LL,
		-2147483648LL, -2147483649LL, PG_INT64_MAX, PG_INT64_MIN,
		PG_INT64_MIN + 1, 9007199254740992LL, 9007199254740993LL,
		-9007199254740993LL, 86400, 86400000, 86400001, 1700000000,
		1700000000000LL, 253402300799LL, 253402300800000LL, -210866803200LL,
		2440587, 2451545, 5373484, 9223372036854775LL, 9223372036854775807LL / 1000,
		-9223372036854775807LL / 86400
	};
	static const double reals[] = {
		0.0, -0.0, 0.1, 0.5, 1.5, -1.5, 1e-300, 5e-324, 1e308, -1e308,
		1.7976931348623157e308, 3.4028234663852886e38, 3.4028235677973366e38,
		1e19, -1e19, 9.223372036854775807e18, -9.223372036854775808e18,
		9007199254740993.0, 32767.5, 2147483647.5, 86400.5, 2440587.5,
		2451545.25, 1700000000.123456, 1700000000123.5, 1e15, 5373484.5,
		-1e15, 253402300800.0, 1.0 / 3.0, 3.14159265358979
	};
	int			i;

	for (i = 0; i < (int) lengthof(ints); i++)
	{
		char		buf[32];

		sqlite3_bind_int64(sel, 1, ints[i]);
		run_bound_value();
		snprintf(buf, sizeof(buf), INT64_FORMAT, ints[i]);
		run_value_bytes(buf, strlen(buf));
	}
	for (i = 0; i < (int) lengthof(reals) + 3; i++)
	{
		char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 1];
		double		d = i < (int) lengthof(reals) ? reals[i] :
			(i == (int) lengthof(reals) ? INFINITY :
			 i == (int) lengthof(reals) + 1 ? -INFINITY : NAN);

		(void) sqlite_real_to_text(d, buf);
		(void) sqlite_real_to_text(-d, buf);
		sqlite3_bind_double(sel, 1, d);
		run_bound_value();
		sqlite3_bind_double(sel, 1, -d);
		run_bound_value();
		run_value_bytes(buf, strlen(buf));
	}
	sqlite3_bind_null(sel, 1);
	run_bound_value();
}

/* ---------------------------------------------------------------- inputs */

static void
run_input(const char *s, int len, bool random_input)
{
	char	   *nul = pnstrdup(s, len);	/* up to the first NUL */

	n_inputs++;
	if (random_input)
		n_random++;
	else
		n_corpus++;
	run_translate_expr(nul);
	run_table_sql(nul);
	run_value_bytes(s, len);
	pfree(nul);
	if (n_inputs % 500 == 0)
		fprintf(stderr, "harness: %ld inputs...\n", n_inputs);
}

typedef struct Input
{
	char	   *s;
	int			len;
} Input;

static Input *corpus;
static int	ncorpus;

static int
unescape(const char *line, char *out)
{
	int			n = 0;

	while (*line)
	{
		if (line[0] == '\\' && line[1] == 'n')
			out[n++] = '\n', line += 2;
		else if (line[0] == '\\' && line[1] == 't')
			out[n++] = '\t', line += 2;
		else if (line[0] == '\\' && line[1] == '\\')
			out[n++] = '\\', line += 2;
		else if (line[0] == '\\' && line[1] == 'x' &&
				 isxdigit((unsigned char) line[2]) && isxdigit((unsigned char) line[3]))
		{
			char		h[3] = {line[2], line[3], 0};

			out[n++] = (char) strtol(h, NULL, 16);
			line += 4;
		}
		else
			out[n++] = *line++;
	}
	out[n] = '\0';
	return n;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
read_corpus(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	   *names[256];
	int			nnames = 0;
	int			i;
	int			cap = 1024;

	if (d == NULL)
	{
		fprintf(stderr, "harness: cannot open corpus directory %s\n", dir);
		exit(2);
	}
	while ((de = readdir(d)) != NULL && nnames < 256)
	{
		size_t		l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0)
			names[nnames++] = pstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, nnames, sizeof(char *), cmp_names);
	corpus = palloc(cap * sizeof(Input));
	for (i = 0; i < nnames; i++)
	{
		char	   *path = psprintf("%s/%s", dir, names[i]);
		FILE	   *f = fopen(path, "r");
		char	   *line = NULL;
		size_t		lcap = 0;
		ssize_t		l;
		int			before = ncorpus;

		if (f == NULL)
		{
			fprintf(stderr, "harness: cannot open %s\n", path);
			exit(2);
		}
		while ((l = getline(&line, &lcap, f)) >= 0)
		{
			char	   *out;

			if (l > 0 && line[l - 1] == '\n')
				line[--l] = '\0';
			if (line[0] == '#' && line[1] == ' ')
				continue;		/* comment */
			if (ncorpus == cap)
			{
				cap *= 2;
				corpus = repalloc(corpus, cap * sizeof(Input));
			}
			out = palloc(l + 1);
			corpus[ncorpus].len = unescape(line, out);
			corpus[ncorpus].s = out;
			ncorpus++;
		}
		free(line);
		fclose(f);
		printf("group: corpus %s: %d inputs\n", names[i], ncorpus - before);
	}
}

/* ---------------------------------------------------------------- random */

static uint64 rng_state;

static uint64
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64CONST(2685821657736338717);
}

static int
rnd_n(int n)
{
	return n <= 0 ? 0 : (int) (rnd() % (uint64) n);
}

static const char *const tokens[] = {
	"(", ")", ",", "'", "\"", "`", "[", "]", "||", "+", "-", "*", "/", "%",
	"<", "<=", ">", ">=", "=", "==", "!=", "<>", "<<", ">>", "&", "|", "~",
	"NOT", "AND", "OR", "IS", "IS NOT", "NULL", "IN", "BETWEEN", "LIKE",
	"GLOB", "ESCAPE", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "AS",
	"COLLATE", "NOCASE", "BINARY", "RTRIM", "INTEGER", "TEXT", "REAL",
	"BLOB", "NUMERIC", "a", "b", "c", "d", "e", "f", "\"Weird Col\"",
	"[select]", "`a`", "x", "t", "\"Other Table\"", "1", "0", "-1", "1.5",
	"1e308", "1e999", "0x7fffffffffffffff", "0xffffffffffffffffff",
	"99999999999999999999999", "'abc'", "''''", "'it''s'", "X'00ff'",
	"x'zz'", "CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME",
	"datetime('now')", "date('now', 'localtime')", "strftime('%s','now')",
	"length(", "lower(", "upper(", "substr(", "abs(", "coalesce(", "ifnull(",
	"nullif(", "min(", "max(", "typeof(", "trim(", "replace(", "instr(",
	"round(", "julianday(", "unixepoch(", "random()", "pg_read_file('x')",
	"pg_sleep(1)", ";", "--", "/*", "*/", "SELECT", "FROM", "WHERE",
	"CREATE TABLE", "CREATE VIEW v AS", "CREATE INDEX i ON t", "CREATE UNIQUE INDEX",
	"CHECK", "DEFAULT", "GENERATED ALWAYS AS", "STORED", "VIRTUAL",
	"REFERENCES", "FOREIGN KEY", "PRIMARY KEY", "UNIQUE", "CONSTRAINT", "ON",
	"DEFERRABLE", "INITIALLY DEFERRED", "JOIN", "LEFT JOIN", "USING", "GROUP BY",
	"ORDER BY", "LIMIT", "OFFSET", "UNION", "DISTINCT", "EXISTS", "?", ":x",
	"@y", "$z", "\\", "\xc3\xa9", "\xe5\x90\x8d\xe5\x89\x8d", "\xf0\x9f\x98\x80",
	"\xff", "\xc3", "\xed\xa0\x80", "\x01", "\t", "\n", " ", "  "
};

/* One random input: a mutated corpus line, a token soup or deep nesting. */
static Input
random_input(void)
{
	StringInfoData buf;
	int			how = rnd_n(10);
	int			i;
	int			n;
	Input		r;

	initStringInfo(&buf);
	if (how < 6 && ncorpus > 0)
	{
		Input	   *base = &corpus[rnd_n(ncorpus)];
		int			nmut = 1 + rnd_n(4);

		appendBinaryStringInfo(&buf, base->s, base->len);
		for (i = 0; i < nmut; i++)
		{
			int			pos = buf.len > 0 ? rnd_n(buf.len + 1) : 0;

			switch (rnd_n(7))
			{
				case 0:			/* flip a byte */
					if (buf.len > 0)
						buf.data[rnd_n(buf.len)] ^= (char) (1 << rnd_n(8));
					break;
				case 1:			/* random byte */
					if (buf.len > 0)
						buf.data[rnd_n(buf.len)] = (char) rnd_n(256);
					break;
				case 2:			/* truncate */
					buf.len = pos;
					buf.data[buf.len] = '\0';
					break;
				case 3:			/* delete a stretch */
					if (buf.len > 0)
					{
						int			want = rnd_n(8) + 1;	/* Min() evaluates twice */
						int			l = Min(want, buf.len - Min(pos, buf.len));

						if (pos < buf.len)
						{
							memmove(buf.data + pos, buf.data + pos + l, buf.len - pos - l + 1);
							buf.len -= l;
						}
					}
					break;
				case 4:			/* insert a token */
				case 5:
					{
						const char *t = tokens[rnd_n(lengthof(tokens))];
						StringInfoData nb;

						initStringInfo(&nb);
						appendBinaryStringInfo(&nb, buf.data, pos);
						appendStringInfoChar(&nb, ' ');
						appendStringInfoString(&nb, t);
						appendStringInfoChar(&nb, ' ');
						appendBinaryStringInfo(&nb, buf.data + pos, buf.len - pos);
						pfree(buf.data);
						buf = nb;
					}
					break;
				case 6:			/* splice in part of another line */
					{
						Input	   *o = &corpus[rnd_n(ncorpus)];
						int			from = rnd_n(o->len + 1);
						int			l = rnd_n(o->len - from + 1);
						StringInfoData nb;

						initStringInfo(&nb);
						appendBinaryStringInfo(&nb, buf.data, pos);
						appendBinaryStringInfo(&nb, o->s + from, l);
						appendBinaryStringInfo(&nb, buf.data + pos, buf.len - pos);
						pfree(buf.data);
						buf = nb;
					}
					break;
			}
		}
	}
	else if (how < 9)
	{
		n = 1 + rnd_n(40);
		for (i = 0; i < n; i++)
		{
			appendStringInfoString(&buf, tokens[rnd_n(lengthof(tokens))]);
			if (rnd_n(3))
				appendStringInfoChar(&buf, ' ');
		}
	}
	else
	{
		/* deep nesting of one of several shapes */
		static const char *const open[] = {"(", "-", "NOT ", "abs(", "CASE WHEN 1 THEN ", "CAST(", "a + ("};
		static const char *const close[] = {")", "", "", ")", " END", " AS INTEGER)", ")"};
		int			shape = rnd_n(lengthof(open));

		n = 1 + rnd_n(rnd_n(2) ? 200 : 6000);
		for (i = 0; i < n && buf.len < 12000; i++)
			appendStringInfoString(&buf, open[shape]);
		appendStringInfoString(&buf, rnd_n(2) ? "a" : "1");
		if (rnd_n(4))
			for (i = 0; i < n && buf.len < 30000; i++)
				appendStringInfoString(&buf, close[shape]);
	}
	r.s = buf.data;
	r.len = buf.len;
	return r;
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	char		stack_base;
	long		nrandom = argc > 2 ? atol(argv[2]) : 5000;
	uint64		seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 20240601;
	long		i;
	long		calls_before;

	shim_stack_base = &stack_base;
	if (argc < 2)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR [RANDOM_CASES [SEED]]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
		sqlite3_prepare_v2(db, "SELECT ?1", -1, &sel, NULL) != SQLITE_OK)
	{
		fprintf(stderr, "harness: cannot prepare the SQLite statement\n");
		return 2;
	}
	build_maps();
	read_corpus(argv[1]);

	calls_before = n_calls;
	run_numbers();
	printf("group: edge INTEGER and REAL values: %ld calls\n", n_calls - calls_before);

	calls_before = n_calls;
	for (i = 0; i < ncorpus; i++)
		run_input(corpus[i].s, corpus[i].len, false);
	printf("group: corpus: %d inputs, %ld calls\n", ncorpus, n_calls - calls_before);

	calls_before = n_calls;
	rng_state = seed ? seed : 1;
	for (i = 0; i < nrandom; i++)
	{
		Input		in = random_input();

		run_input(in.s, in.len, true);
		pfree(in.s);
	}
	printf("group: random (seed " UINT64_FORMAT "): %ld inputs, %ld calls\n",
		   seed, nrandom, n_calls - calls_before);

	printf("harness: %ld inputs (%ld corpus, %ld random), %ld calls, "
		   "%ld ERRORs caught (%ld of them a backend input function not "
		   "available here), %ld expression translations reached the final "
		   "check, %ld refused before it, %ld date/time texts parsed, "
		   "%ld declared types mapped, %ld conversions succeeded, "
		   "%ld values fit; %ld contract breaches\n",
		   n_inputs, n_corpus, n_random, n_calls, n_errors, n_unavailable,
		   n_translated, n_refused, n_dt_ok, n_type_mapped, n_conv_ok, n_fits,
		   n_contract);
	sqlite3_finalize(sel);
	sqlite3_close(db);
	return n_contract > 0 ? 1 : 0;
}

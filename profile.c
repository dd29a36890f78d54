/*-------------------------------------------------------------------------
 *
 * profile.c
 *		  The column profile of a migration: what the values of a SQLite
 *		  column are (storage classes, ranges, lengths, digits, date forms,
 *		  JSON) and how many of them the column's intended PostgreSQL type
 *		  cannot hold.
 *
 * The checks here never raise an ERROR for a value: they classify it, so
 * that a migration can count every mismatch and stop before writing with
 * one message that names the column, the count and an example.  They
 * follow the conversion rules of typemap.c; where a check is stricter than
 * the conversion, a value is only reported (or widened for) needlessly,
 * and where a type is not checked here (a type given in type_overrides
 * that is not one of the common kinds), the copy itself converts with
 * typemap.c's rules and an error rolls the whole migration back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "common/shortest_dec.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "sqlite_fdw_mig.h"

/* the largest integer a double holds exactly, and every integer below it */
#define EXACT_DOUBLE_INT	INT64CONST(9007199254740992)

/* State of the JSON check: the keys of each open object. */
typedef struct JsonKeyState
{
	List	   *stack;			/* List of List of char *, innermost first */
	bool		duplicate;
} JsonKeyState;

static bool int_fits(SqliteColumnConv *conv, int64 v);
static bool real_fits(SqliteColumnConv *conv, double d);
static bool number_as_time(SqliteColumnProfile *prof, SqliteColumnConv *conv,
						   double v);
static bool text_fits(SqliteColumnProfile *prof, SqliteColumnConv *conv,
					  const char *s, int len);
static void note_digits(SqliteColumnProfile *prof, const char *number);
static bool is_integer_text(const char *s, int64 *value);
static bool is_float_text(const char *s, bool *nonfinite);
static bool is_uuid_text(const char *s, int len);
static bool check_json(const char *s, int len, bool *lossy);
static int	utf8_chars(const char *s, int len);

/* Start an empty profile; the example will be kept in the current context. */
void
sqlite_profile_init(SqliteColumnProfile *prof)
{
	memset(prof, 0, sizeof(*prof));
	prof->int_min = PG_INT64_MAX;
	prof->int_max = PG_INT64_MIN;
	prof->real_integral = true;
	prof->cxt = CurrentMemoryContext;
}

/*
 * Add column "col" of the current row of "stmt" to "prof", checking it
 * against the intended type "intended".  Column 0 of the statement is the
 * rowid when has_rowid.  Allocates nothing that outlives the call except
 * the first mismatch's description (in prof->cxt).
 */
void
sqlite_profile_value(SqliteColumnProfile *prof, SqliteColumnConv *intended,
					 sqlite3_stmt *stmt, int col, bool has_rowid)
{
	bool		fits = true;
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 16];

	switch (sqlite3_column_type(stmt, col))
	{
		case SQLITE_NULL:
			prof->n_null++;
			return;
		case SQLITE_INTEGER:
			{
				int64		v = sqlite3_column_int64(stmt, col);

				prof->n_int++;
				prof->int_min = Min(prof->int_min, v);
				prof->int_max = Max(prof->int_max, v);
				if (v > EXACT_DOUBLE_INT || v < -EXACT_DOUBLE_INT)
					prof->big_int = true;
				snprintf(buf, sizeof(buf), INT64_FORMAT, v);
				note_digits(prof, buf);
				fits = int_fits(intended, v);
				if (fits && intended->dtunit != SQLITE_DT_NONE)
					fits = number_as_time(prof, intended, (double) v);
				break;
			}
		case SQLITE_FLOAT:
			{
				double		d = sqlite3_column_double(stmt, col);

				prof->n_real++;
				if (!isfinite(d))
				{
					prof->nonfinite = true;
					prof->real_integral = false;
				}
				else
				{
					if (d != floor(d) || d < -9223372036854775808.0 ||
						d >= 9223372036854775808.0)
						prof->real_integral = false;
					note_digits(prof, sqlite_real_to_text(d, buf));
				}
				fits = real_fits(intended, d);
				if (fits && intended->dtunit != SQLITE_DT_NONE)
					fits = number_as_time(prof, intended, d);
				break;
			}
		case SQLITE_TEXT:
			{
				const char *s = (const char *) sqlite3_column_text(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);

				if (s == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_OUT_OF_MEMORY),
							 errmsg("out of memory reading a SQLite text value")));
				if (!pg_verify_mbstr(PG_UTF8, s, len, true))
				{
					prof->n_text_bad++;
					fits = (intended->kind == CONV_BYTEA || intended->kind == CONV_RAW);
				}
				else
				{
					int			chars = utf8_chars(s, len);

					prof->n_text++;
					prof->max_chars = Max(prof->max_chars, chars);
					fits = text_fits(prof, intended, s, len);
				}
				break;
			}
		case SQLITE_BLOB:
			prof->n_blob++;
			fits = intended->kind == CONV_BYTEA || intended->kind == CONV_RAW ||
				(intended->kind == CONV_UUID &&
				 sqlite3_column_bytes(stmt, col) == 16);
			break;
	}

	if (!fits)
	{
		if (prof->n_mismatch == 0)
		{
			MemoryContext old = MemoryContextSwitchTo(prof->cxt);

			prof->example = sqlite_describe_value(stmt, col);
			prof->example_has_rowid = has_rowid;
			if (has_rowid)
				prof->example_rowid = sqlite3_column_int64(stmt, 0);
			MemoryContextSwitchTo(old);
		}
		prof->n_mismatch++;
	}
}

/* Can the intended type hold INTEGER v (ranges of integer types aside)? */
static bool
int_fits(SqliteColumnConv *conv, int64 v)
{
	switch (conv->kind)
	{
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
		case CONV_NUMERIC:
		case CONV_TEXT:
			return true;
		case CONV_FLOAT8:
			return v <= EXACT_DOUBLE_INT && v >= -EXACT_DOUBLE_INT;
		case CONV_FLOAT4:
			return v <= (1 << 24) && v >= -(1 << 24);
		case CONV_BOOL:
			return v == 0 || v == 1;
		case CONV_DATE:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
			return conv->dtunit != SQLITE_DT_NONE;
		case CONV_TIME:
		case CONV_BYTEA:
		case CONV_UUID:
			return false;
		case CONV_INPUT:
			/* JSON numbers; other types are checked by the copy */
			return true;
		case CONV_RAW:
			return true;
	}
	return false;
}

/*
 * For a number in a date/time column read with a datetime_unit: is the
 * time within PostgreSQL's range?  Notes a time of day (a date column is
 * then widened to timestamp, as for text with times).
 */
static bool
number_as_time(SqliteColumnProfile *prof, SqliteColumnConv *conv, double v)
{
	double		secs;
	double		day;

	if (conv->kind != CONV_DATE && conv->kind != CONV_TIMESTAMP &&
		conv->kind != CONV_TIMESTAMPTZ)
		return true;
	switch (conv->dtunit)
	{
		case SQLITE_DT_UNIXEPOCH:
			secs = v;
			break;
		case SQLITE_DT_UNIXEPOCH_MS:
			secs = v / 1000.0;
			break;
		default:
			secs = (v - 2440587.5) * 86400.0;
			break;
	}
	/* 4713 BC to 294276 AD, PostgreSQL's timestamp range */
	if (!isfinite(secs) || secs < -210866803200.0 || secs >= 9224318016000.0)
		return false;
	day = secs / 86400.0;
	if (day != floor(day))
		prof->dt_time = true;
	return true;
}

/* Can the intended type hold REAL d? */
static bool
real_fits(SqliteColumnConv *conv, double d)
{
	switch (conv->kind)
	{
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
			return isfinite(d) && d == floor(d) &&
				d >= -9223372036854775808.0 && d < 9223372036854775808.0;
		case CONV_FLOAT8:
		case CONV_NUMERIC:
		case CONV_TEXT:
			return true;
		case CONV_FLOAT4:
			{
				char		fbuf[FLOAT_SHORTEST_DECIMAL_LEN + 1];
				float		f = (float) d;

				if (!isfinite(d))
					return true;
				if (isinf(f))
					return false;
				(void) float_to_shortest_decimal_buf(f, fbuf);
				return strtod(fbuf, NULL) == d;
			}
		case CONV_BOOL:
			return d == 0.0 || d == 1.0;
		case CONV_DATE:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
			return conv->dtunit != SQLITE_DT_NONE && isfinite(d);
		case CONV_TIME:
		case CONV_BYTEA:
		case CONV_UUID:
			return false;
		case CONV_INPUT:
			if (conv->basetypid == JSONOID || conv->basetypid == JSONBOID)
				return isfinite(d);
			return true;
		case CONV_RAW:
			return true;
	}
	return false;
}

/* Can the intended type hold the (valid UTF-8) text s? */
static bool
text_fits(SqliteColumnProfile *prof, SqliteColumnConv *conv, const char *s,
		  int len)
{
	switch (conv->kind)
	{
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
			{
				int64		v;

				if (!is_integer_text(s, &v))
					return false;
				prof->int_min = Min(prof->int_min, v);
				prof->int_max = Max(prof->int_max, v);
				return true;
			}
		case CONV_FLOAT8:
		case CONV_FLOAT4:
			{
				bool		nonfinite;

				if (!is_float_text(s, &nonfinite))
					return false;
				prof->nonfinite |= nonfinite;
				return conv->kind == CONV_FLOAT8;
			}
		case CONV_NUMERIC:
			{
				bool		nonfinite;

				if (!is_float_text(s, &nonfinite))
					return false;
				if (nonfinite)
				{
					prof->nonfinite = true;
					return true;
				}
				return sqlite_numeric_digits(s, &prof->max_int_digits,
											 &prof->max_scale);
			}
		case CONV_BOOL:
			{
				bool		b;

				return parse_bool_with_len(s, len, &b);
			}
		case CONV_TEXT:
		case CONV_BYTEA:
			return true;
		case CONV_DATE:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
		case CONV_TIME:
			{
				SqliteDateTime dt;
				bool		nonfinite;

				if (!sqlite_parse_datetime(s, len, &dt))
					return conv->dtunit != SQLITE_DT_NONE && conv->kind != CONV_TIME &&
						is_float_text(s, &nonfinite) && !nonfinite;
				if (dt.tz_seconds != 0)
					prof->dt_offset = true;
				if (conv->kind == CONV_TIME)
					return !dt.has_date;
				if (!dt.has_date)
					return false;
				if (dt.has_time && (dt.hour || dt.minute || dt.second || dt.usec ||
									dt.tz_seconds))
					prof->dt_time = true;
				return true;
			}
		case CONV_UUID:
			return is_uuid_text(s, len);
		case CONV_INPUT:
			if (conv->basetypid == JSONOID || conv->basetypid == JSONBOID)
			{
				bool		lossy;

				if (!check_json(s, len, &lossy))
					return false;
				prof->json_lossy |= lossy;
				return true;
			}
			return true;
		case CONV_RAW:
			return true;
	}
	return false;
}

/*
 * Parse a decimal number (optional sign, digits, fraction, exponent) and
 * raise *int_digits and *scale to the digits it needs before and after the
 * point (trailing fraction zeros and leading zeros do not count).  Returns
 * false if "s" is not such a number.
 */
bool
sqlite_numeric_digits(const char *s, int *int_digits, int *scale)
{
	const char *p = s;
	int			before = 0;
	int			after = 0;
	int			lead_zeros = 0;
	int			trail = 0;
	bool		any = false;
	bool		nonzero = false;
	long		exp = 0;

	while (*p == ' ')
		p++;
	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
	{
		if (*p != '0' || nonzero)
		{
			nonzero = true;
			before++;
		}
		else
			lead_zeros++;
		any = true;
		p++;
	}
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
		{
			after++;
			trail = (*p == '0') ? trail + 1 : 0;
			any = true;
			p++;
		}
	}
	if (!any)
		return false;
	after -= trail;
	if (*p == 'e' || *p == 'E')
	{
		char	   *end;

		errno = 0;
		exp = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || exp > 100000 || exp < -100000)
			return false;
		p = end;
	}
	while (*p == ' ')
		p++;
	if (*p != '\0')
		return false;

	/* shift the point by the exponent */
	if (exp > 0)
	{
		int			moved = Min((long) after, exp);

		before += moved + (nonzero || after > 0 ? (int) (exp - moved) : 0);
		after -= moved;
	}
	else if (exp < 0)
	{
		int			moved = Min((long) before, -exp);

		before -= moved;
		after += (int) -exp;
	}
	*int_digits = Max(*int_digits, before);
	*scale = Max(*scale, Max(after, 0));
	return true;
}

/* Record the digits a finite number printed as "number" needs. */
static void
note_digits(SqliteColumnProfile *prof, const char *number)
{
	(void) sqlite_numeric_digits(number, &prof->max_int_digits, &prof->max_scale);
}

/* Is s an integer as int8in reads it (spaces, sign, digits)?  Sets *value. */
static bool
is_integer_text(const char *s, int64 *value)
{
	const char *p = s;
	bool		neg = false;
	uint64		acc = 0;
	bool		any = false;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	while (*p >= '0' && *p <= '9')
	{
		if (acc > (PG_UINT64_MAX - 9) / 10)
			return false;
		acc = acc * 10 + (*p++ - '0');
		any = true;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!any || *p != '\0')
		return false;
	if (neg)
	{
		if (acc > (uint64) PG_INT64_MAX + 1)
			return false;
		*value = (acc == (uint64) PG_INT64_MAX + 1) ? PG_INT64_MIN : -(int64) acc;
	}
	else
	{
		if (acc > (uint64) PG_INT64_MAX)
			return false;
		*value = (int64) acc;
	}
	return true;
}

/*
 * Is s a number float8in reads (finite, or NaN/Infinity)?  Stricter than
 * float8in in one way: hexadecimal and other strtod extensions are refused.
 */
static bool
is_float_text(const char *s, bool *nonfinite)
{
	const char *p = s;
	char	   *end;
	double		d;
	int			dummy1 = 0,
				dummy2 = 0;

	*nonfinite = false;
	while (*p == ' ')
		p++;
	if (pg_strncasecmp(p, "nan", 3) == 0 || pg_strncasecmp(p, "infinity", 8) == 0 ||
		pg_strncasecmp(p, "-infinity", 9) == 0 || pg_strncasecmp(p, "+infinity", 9) == 0)
	{
		errno = 0;
		d = strtod(p, &end);
		while (*end == ' ')
			end++;
		*nonfinite = (*end == '\0');
		return *nonfinite;
	}
	if (!sqlite_numeric_digits(s, &dummy1, &dummy2))
		return false;
	errno = 0;
	d = strtod(s, &end);
	return errno == 0 && isfinite(d);
}

/* Is s a UUID in the usual form (8-4-4-4-12 or 32 hex digits, maybe braced)? */
static bool
is_uuid_text(const char *s, int len)
{
	static const char canonical[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	const char *p = s;
	int			n = len;
	int			i;

	if (n >= 2 && p[0] == '{' && p[n - 1] == '}')
	{
		p++;
		n -= 2;
	}
	if (n == 36)
	{
		for (i = 0; i < 36; i++)
		{
			if (canonical[i] == '-' ? p[i] != '-' : !isxdigit((unsigned char) p[i]))
				return false;
		}
		return true;
	}
	if (n == 32)
	{
		for (i = 0; i < 32; i++)
			if (!isxdigit((unsigned char) p[i]))
				return false;
		return true;
	}
	return false;
}

static void
json_object_start(void *state)
{
	JsonKeyState *ks = (JsonKeyState *) state;

	ks->stack = lcons(NIL, ks->stack);
}

static void
json_object_end(void *state)
{
	JsonKeyState *ks = (JsonKeyState *) state;

	ks->stack = list_delete_first(ks->stack);
}

static void
json_field_start(void *state, char *fname, bool isnull)
{
	JsonKeyState *ks = (JsonKeyState *) state;
	List	   *keys = (List *) linitial(ks->stack);
	ListCell   *lc;

	foreach(lc, keys)
	{
		if (strcmp((char *) lfirst(lc), fname) == 0)
			ks->duplicate = true;
	}
	linitial(ks->stack) = lappend(keys, fname);
}

/*
 * Is s valid JSON?  *lossy is set when jsonb would not keep it as written
 * in meaning: a duplicate key (jsonb keeps the last) or a \u0000 escape
 * (jsonb refuses it).
 */
static bool
check_json(const char *s, int len, bool *lossy)
{
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonKeyState ks;
	JsonParseErrorType rc;
	MemoryContext cxt;
	MemoryContext old;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "sqlite_fdw_mig json check",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);

	memset(&sem, 0, sizeof(sem));
	memset(&ks, 0, sizeof(ks));
	sem.semstate = &ks;
	sem.object_start = json_object_start;
	sem.object_end = json_object_end;
	sem.object_field_start = json_field_start;
	lex = makeJsonLexContextCstringLen(pstrdup(s), len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);

	*lossy = ks.duplicate;
	switch (rc)
	{
		case JSON_SUCCESS:
			return true;
		case JSON_UNICODE_CODE_POINT_ZERO:
		case JSON_UNICODE_HIGH_ESCAPE:
			/* valid JSON text that jsonb cannot hold */
			*lossy = true;
			return true;
		default:
			return false;
	}
}

/* The number of characters in valid UTF-8. */
static int
utf8_chars(const char *s, int len)
{
	int			n = 0;
	int			i;

	for (i = 0; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/*
 * Does column "col" of the current row fit the type of "conv", by the same
 * checks as the profile?  (A scan with rows 'matching' or 'mismatched'
 * sorts rows with it.)
 */
bool
sqlite_value_fits(SqliteColumnConv *conv, sqlite3_stmt *stmt, int col)
{
	SqliteColumnProfile scratch;

	sqlite_profile_init(&scratch);
	sqlite_profile_value(&scratch, conv, stmt, col, false);
	return scratch.n_mismatch == 0;
}

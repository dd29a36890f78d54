/*-------------------------------------------------------------------------
 *
 * typemap.c
 *		  The type table (SQLite declared type -> PostgreSQL type) and the
 *		  conversion of SQLite values to Datums of a column's type.
 *
 * The conversion rule is zero data loss: a value becomes a Datum only when
 * the PostgreSQL value means exactly what the SQLite value meant; anything
 * else (text in an integer column, 3.7 read as an integer, 70000 read as
 * smallint, a number read as a timestamp without a datetime_unit, a blob
 * read as text, invalid UTF-8) is an ERROR.  The caller's error context
 * names the table, column, rowid and value.
 *
 * Integers, reals and blobs convert directly, without a text round trip.
 * Results never depend on the session: reals are printed with fixed
 * shortest round-trip code, SQLite's date/time text is parsed here (naive
 * times are UTC, as SQLite's date functions read them; offsets are applied,
 * never dropped), and any other type's input function runs under fixed
 * DateStyle, IntervalStyle and TimeZone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "sqlite_fdw_mig.h"

/* ---------------------------------------------------------------------
 * The type table
 * ---------------------------------------------------------------------
 */

/*
 * Declared types with a well-known meaning, matched on the upper-cased name
 * before any parenthesis.  "params" says how a parenthesised modifier is
 * carried over: 0 ignore it, 1 as a length (varchar(n)), 2 as precision and
 * scale (numeric(p,s)).  Anything not listed maps by SQLite's affinity
 * rules (see map_by_affinity).  README.md mirrors this table.
 */
typedef struct SqliteTypeEntry
{
	const char *sqlite_name;
	const char *pg_type;
	int			params;
} SqliteTypeEntry;

static const SqliteTypeEntry type_table[] = {
	/* SQLite integers are 64 bits: every INTEGER-affinity name is bigint */
	{"INTEGER", "bigint", 0},
	{"INT", "bigint", 0},
	{"BIGINT", "bigint", 0},
	{"INT8", "bigint", 0},
	{"UNSIGNED BIG INT", "bigint", 0},
	{"MEDIUMINT", "integer", 0},
	{"INT4", "integer", 0},
	{"SMALLINT", "smallint", 0},
	{"INT2", "smallint", 0},
	{"TINYINT", "smallint", 0},
	/* SQLite reals are 8-byte IEEE floats */
	{"REAL", "double precision", 0},
	{"DOUBLE", "double precision", 0},
	{"DOUBLE PRECISION", "double precision", 0},
	{"FLOAT", "double precision", 0},
	{"FLOAT4", "double precision", 0},
	{"FLOAT8", "double precision", 0},
	{"NUMERIC", "numeric", 2},
	{"DECIMAL", "numeric", 2},
	{"BOOLEAN", "boolean", 0},
	{"BOOL", "boolean", 0},
	{"TEXT", "text", 0},
	{"CLOB", "text", 0},
	{"VARCHAR", "varchar", 1},
	{"CHARACTER VARYING", "varchar", 1},
	{"VARYING CHARACTER", "varchar", 1},
	{"NVARCHAR", "varchar", 1},
	{"NATIVE CHARACTER", "varchar", 1},
	/* SQLite never pads: CHAR(n) keeps its values as written */
	{"CHAR", "varchar", 1},
	{"CHARACTER", "varchar", 1},
	{"NCHAR", "varchar", 1},
	{"BLOB", "bytea", 0},
	{"BYTEA", "bytea", 0},
	{"DATE", "date", 0},
	{"DATETIME", "timestamp", 0},
	{"TIMESTAMP", "timestamp", 0},
	{"TIMESTAMP WITHOUT TIME ZONE", "timestamp", 0},
	{"TIMESTAMPTZ", "timestamp with time zone", 0},
	{"TIMESTAMP WITH TIME ZONE", "timestamp with time zone", 0},
	{"TIME", "time", 0},
	{"TIME WITHOUT TIME ZONE", "time", 0},
	{"UUID", "uuid", 0},
	{"JSON", "json", 0},
	/* STRICT tables' ANY keeps every storage class; text reads most */
	{"ANY", "text", 0},
	{NULL, NULL, 0}
};

static char *map_by_affinity(const char *upper);
static bool parse_type_params(const char *p, int *vals, int *nvals);

/*
 * Map a SQLite declared type to the PostgreSQL type name to declare for it.
 * Never fails: an unknown or malformed declared type maps by SQLite's
 * affinity rules.  Returns a palloc'd string.
 */
char *
sqlite_map_declared_type(const char *decltype)
{
	StringInfoData norm;
	const char *p;
	char	   *paren;
	const SqliteTypeEntry *e;
	bool		space = false;

	/* upper-case, collapse white space, trim */
	initStringInfo(&norm);
	for (p = decltype ? decltype : ""; *p; p++)
	{
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		{
			space = norm.len > 0;
			continue;
		}
		if (space && *p != '(' && *p != ')' && *p != ',')
			appendStringInfoChar(&norm, ' ');
		space = false;
		appendStringInfoChar(&norm, pg_ascii_toupper((unsigned char) *p));
	}

	paren = strchr(norm.data, '(');
	if (paren)
	{
		char	   *base = pnstrdup(norm.data, paren - norm.data);

		/* drop a space left before the parenthesis */
		if (strlen(base) > 0 && base[strlen(base) - 1] == ' ')
			base[strlen(base) - 1] = '\0';
		for (e = type_table; e->sqlite_name; e++)
		{
			int			vals[2];
			int			nvals;

			if (strcmp(base, e->sqlite_name) != 0)
				continue;
			if (e->params == 0)
				return pstrdup(e->pg_type);
			if (!parse_type_params(paren, vals, &nvals))
				nvals = 0;
			if (e->params == 1 && nvals == 1 && vals[0] >= 1 && vals[0] <= 10485760)
				return psprintf("%s(%d)", e->pg_type, vals[0]);
			if (e->params == 2 && nvals >= 1 && vals[0] >= 1 && vals[0] <= 1000)
			{
				if (nvals == 1)
					return psprintf("%s(%d)", e->pg_type, vals[0]);
				if (nvals == 2 && vals[1] >= 0 && vals[1] <= vals[0])
					return psprintf("%s(%d,%d)", e->pg_type, vals[0], vals[1]);
			}
			/* a modifier PostgreSQL cannot take: drop it, keep the type */
			if (e->params == 1)
				return pstrdup("text");
			return pstrdup(e->pg_type);
		}
		return map_by_affinity(norm.data);
	}

	for (e = type_table; e->sqlite_name; e++)
	{
		if (strcmp(norm.data, e->sqlite_name) == 0)
		{
			/* varchar without a length is text */
			if (e->params == 1)
				return pstrdup("text");
			return pstrdup(e->pg_type);
		}
	}
	return map_by_affinity(norm.data);
}

/*
 * SQLite's column affinity rules (https://sqlite.org/datatype3.html,
 * section 3.1), in SQLite's order, for an upper-cased declared type.
 */
static char *
map_by_affinity(const char *upper)
{
	if (strstr(upper, "INT"))
		return pstrdup("bigint");
	if (strstr(upper, "CHAR") || strstr(upper, "CLOB") || strstr(upper, "TEXT"))
		return pstrdup("text");
	if (strstr(upper, "BLOB"))
		return pstrdup("bytea");
	if (upper[0] == '\0')
		return pstrdup("text");
	if (strstr(upper, "REAL") || strstr(upper, "FLOA") || strstr(upper, "DOUB"))
		return pstrdup("double precision");
	return pstrdup("numeric");
}

/*
 * Parse "(n)" or "(n,m)" at p (upper-cased, spaces collapsed).  Returns
 * false for anything else.
 */
static bool
parse_type_params(const char *p, int *vals, int *nvals)
{
	*nvals = 0;
	if (*p++ != '(')
		return false;
	for (;;)
	{
		long		v;
		char	   *end;

		while (*p == ' ')
			p++;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < INT_MIN || v > INT_MAX || *nvals >= 2)
			return false;
		vals[(*nvals)++] = (int) v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
		{
			p++;
			continue;
		}
		if (*p == ')')
		{
			p++;
			while (*p == ' ')
				p++;
			return *p == '\0';
		}
		return false;
	}
}

/* ---------------------------------------------------------------------
 * Value conversion
 * ---------------------------------------------------------------------
 */


static void report_mismatch(SqliteColumnConv *conv, int sqltype, int sqlerrcode,
							const char *detail) pg_attribute_noreturn();
static const char *get_text(sqlite3_stmt *stmt, int col, int *len);
static Datum text_to_datum(SqliteColumnConv *conv, const char *s, int len);
static Datum int_to_datum(SqliteColumnConv *conv, sqlite3_int64 v);
static Datum real_to_datum(SqliteColumnConv *conv, double d);
static Datum string_to_datum(SqliteColumnConv *conv, int sqltype, const char *s, int len);
static Datum numeric_from_cstring(SqliteColumnConv *conv, const char *s);
static Datum float4_exact(SqliteColumnConv *conv, int sqltype, double d);
static Datum input_fixed(SqliteColumnConv *conv, char *s);
static void check_length(SqliteColumnConv *conv, const char *s, int len);
static Datum datetime_from_text(SqliteColumnConv *conv, const char *s, int len);
static Datum datetime_from_number(SqliteColumnConv *conv, int sqltype,
								  sqlite3_int64 iv, double dv);
static Datum timestamp_to_kind(SqliteColumnConv *conv, int sqltype, Timestamp ts);
static bool needs_fixed_settings(Oid typid);
static bool is_sqlite_value_type(Oid typid);
static Datum raw_value(SqliteColumnConv *conv, sqlite3_stmt *stmt, int col);

/*
 * Set up "conv" to read values into a column of type typid/typmod.
 * "mcxt" holds the caches (input function, domain check) for the life of
 * the scan.
 */
void
sqlite_conv_init(SqliteColumnConv *conv, Oid typid, int32 typmod,
				 SqliteDatetimeUnit dtunit, MemoryContext mcxt)
{
	Oid			infunc;

	memset(conv, 0, sizeof(*conv));
	conv->typid = typid;
	conv->typmod = typmod;
	conv->basetypmod = typmod;
	conv->basetypid = getBaseTypeAndTypmod(typid, &conv->basetypmod);
	conv->is_domain = (conv->basetypid != typid);
	conv->dtunit = dtunit;
	conv->maxchars = -1;
	conv->mcxt = mcxt;

	switch (conv->basetypid)
	{
		case INT2OID:
			conv->kind = CONV_INT2;
			break;
		case INT4OID:
			conv->kind = CONV_INT4;
			break;
		case INT8OID:
			conv->kind = CONV_INT8;
			break;
		case FLOAT4OID:
			conv->kind = CONV_FLOAT4;
			break;
		case FLOAT8OID:
			conv->kind = CONV_FLOAT8;
			break;
		case NUMERICOID:
			conv->kind = CONV_NUMERIC;
			break;
		case BOOLOID:
			conv->kind = CONV_BOOL;
			break;
		case TEXTOID:
			conv->kind = CONV_TEXT;
			break;
		case VARCHAROID:
			conv->kind = CONV_TEXT;
			if (conv->basetypmod >= (int32) VARHDRSZ)
				conv->maxchars = conv->basetypmod - VARHDRSZ;
			break;
		case BPCHAROID:
			/* the input function pads; the length is checked first */
			conv->kind = CONV_INPUT;
			if (conv->basetypmod >= (int32) VARHDRSZ)
				conv->maxchars = conv->basetypmod - VARHDRSZ;
			break;
		case BYTEAOID:
			conv->kind = CONV_BYTEA;
			break;
		case DATEOID:
			conv->kind = CONV_DATE;
			break;
		case TIMEOID:
			conv->kind = CONV_TIME;
			break;
		case TIMESTAMPOID:
			conv->kind = CONV_TIMESTAMP;
			break;
		case TIMESTAMPTZOID:
			conv->kind = CONV_TIMESTAMPTZ;
			break;
		case UUIDOID:
			conv->kind = CONV_UUID;
			break;
		default:
			conv->kind = is_sqlite_value_type(conv->basetypid) ? CONV_RAW : CONV_INPUT;
			break;
	}

	if (conv->kind == CONV_RAW)
	{
		MemoryContext old = MemoryContextSwitchTo(mcxt);

		conv->rawdesc = lookup_rowtype_tupdesc_copy(conv->basetypid, -1);
		MemoryContextSwitchTo(old);
		return;
	}
	getTypeInputInfo(conv->basetypid, &infunc, &conv->ioparam);
	fmgr_info_cxt(infunc, &conv->infunc, mcxt);
}

/*
 * Convert column "col" of the current row of "stmt" to a Datum of the
 * column's type.  Raises an ERROR when the value cannot be represented
 * exactly.
 */
Datum
sqlite_conv_value(SqliteColumnConv *conv, sqlite3_stmt *stmt, int col,
				  bool *isnull)
{
	int			sqltype = sqlite3_column_type(stmt, col);
	Datum		result = (Datum) 0;

	*isnull = false;
	if (conv->kind == CONV_RAW)
		return raw_value(conv, stmt, col);
	switch (sqltype)
	{
		case SQLITE_NULL:
			*isnull = true;
			break;
		case SQLITE_INTEGER:
			result = int_to_datum(conv, sqlite3_column_int64(stmt, col));
			break;
		case SQLITE_FLOAT:
			result = real_to_datum(conv, sqlite3_column_double(stmt, col));
			break;
		case SQLITE_TEXT:
			if (conv->kind == CONV_BYTEA)
			{
				/* text read as bytea is its bytes, valid UTF-8 or not */
				const void *b = sqlite3_column_blob(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);
				bytea	   *v = (bytea *) palloc(len + VARHDRSZ);

				SET_VARSIZE(v, len + VARHDRSZ);
				if (len > 0)
					memcpy(VARDATA(v), b, len);
				result = PointerGetDatum(v);
			}
			else
			{
				int			len;
				const char *s = get_text(stmt, col, &len);

				result = text_to_datum(conv, s, len);
			}
			break;
		case SQLITE_BLOB:
			{
				const void *b = sqlite3_column_blob(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);

				if (b == NULL && len > 0)
					ereport(ERROR,
							(errcode(ERRCODE_OUT_OF_MEMORY),
							 errmsg("out of memory reading a SQLite blob")));
				if (conv->kind == CONV_BYTEA)
				{
					bytea	   *v = (bytea *) palloc(len + VARHDRSZ);

					SET_VARSIZE(v, len + VARHDRSZ);
					if (len > 0)
						memcpy(VARDATA(v), b, len);
					result = PointerGetDatum(v);
				}
				else if (conv->kind == CONV_UUID && len == UUID_LEN)
				{
					pg_uuid_t  *u = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));

					memcpy(u->data, b, UUID_LEN);
					result = UUIDPGetDatum(u);
				}
				else
					report_mismatch(conv, sqltype, ERRCODE_INVALID_TEXT_REPRESENTATION,
									conv->kind == CONV_UUID ?
									"Only a 16-byte blob can be read as a uuid." :
									"A blob holds bytes; only bytea (or uuid, for 16 bytes) can hold them.");
				break;
			}
		default:
			elog(ERROR, "unexpected SQLite storage class %d", sqltype);
	}

	if (conv->is_domain)
		domain_check(result, *isnull, conv->typid, &conv->domain_extra, conv->mcxt);
	return result;
}

/*
 * Is typid the extension's sqlite_value type: a row of (storage_class text,
 * int_value bigint, real_value double precision, bytes bytea)?
 */
static bool
is_sqlite_value_type(Oid typid)
{
	TupleDesc	desc;
	bool		match;

	HeapTuple	tup;

	if (get_typtype(typid) != TYPTYPE_COMPOSITE)
		return false;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	match = strcmp(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname), "sqlite_value") == 0;
	ReleaseSysCache(tup);
	if (!match)
		return false;
	desc = lookup_rowtype_tupdesc(typid, -1);
	match = desc->natts == 4 &&
		TupleDescAttr(desc, 0)->atttypid == TEXTOID &&
		TupleDescAttr(desc, 1)->atttypid == INT8OID &&
		TupleDescAttr(desc, 2)->atttypid == FLOAT8OID &&
		TupleDescAttr(desc, 3)->atttypid == BYTEAOID;
	ReleaseTupleDesc(desc);
	return match;
}

/*
 * A sqlite_value for any SQLite value, exactly as stored: its storage class
 * and its integer, real or bytes (text as its bytes, which may not be valid
 * UTF-8).  Never fails.
 */
static Datum
raw_value(SqliteColumnConv *conv, sqlite3_stmt *stmt, int col)
{
	Datum		values[4];
	bool		nulls[4] = {false, true, true, true};
	int			sqltype = sqlite3_column_type(stmt, col);

	values[0] = CStringGetTextDatum(sqlite_storage_class_name(sqltype));
	switch (sqltype)
	{
		case SQLITE_INTEGER:
			values[1] = Int64GetDatum(sqlite3_column_int64(stmt, col));
			nulls[1] = false;
			break;
		case SQLITE_FLOAT:
			values[2] = Float8GetDatum(sqlite3_column_double(stmt, col));
			nulls[2] = false;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			{
				const void *b = sqlite3_column_blob(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);
				bytea	   *v = (bytea *) palloc(len + VARHDRSZ);

				SET_VARSIZE(v, len + VARHDRSZ);
				if (len > 0)
					memcpy(VARDATA(v), b, len);
				values[3] = PointerGetDatum(v);
				nulls[3] = false;
				break;
			}
		default:
			break;
	}
	return HeapTupleGetDatum(heap_form_tuple(conv->rawdesc, values, nulls));
}

/*
 * Raise the ERROR for a value that the column's type cannot hold exactly.
 */
static void
report_mismatch(SqliteColumnConv *conv, int sqltype, int sqlerrcode,
				const char *detail)
{
	bool		datetime = (conv->kind == CONV_DATE || conv->kind == CONV_TIME ||
							conv->kind == CONV_TIMESTAMP ||
							conv->kind == CONV_TIMESTAMPTZ);

	ereport(ERROR,
			(errcode(sqlerrcode),
			 errmsg("SQLite %s value cannot be converted to type %s without loss",
					sqlite_storage_class_name(sqltype),
					format_type_with_typemod(conv->typid, conv->typmod)),
			 detail ? errdetail("%s", detail) : 0,
			 (datetime && (sqltype == SQLITE_INTEGER || sqltype == SQLITE_FLOAT) &&
			  conv->dtunit == SQLITE_DT_NONE && conv->kind != CONV_TIME) ?
			 errhint("If numbers in this column are times, set the column option datetime_unit to 'unixepoch', 'unixepoch_ms' or 'julianday'; otherwise declare the column as text.") :
			 errhint("Declare the foreign column with a type that holds every value, such as text, numeric or bytea.")));
}

/* The name of a SQLite storage class, as SQLite's typeof() spells it. */
const char *
sqlite_storage_class_name(int sqltype)
{
	switch (sqltype)
	{
		case SQLITE_INTEGER:
			return "integer";
		case SQLITE_FLOAT:
			return "real";
		case SQLITE_TEXT:
			return "text";
		case SQLITE_BLOB:
			return "blob";
		default:
			return "null";
	}
}

/*
 * The text of a TEXT value, checked to be valid UTF-8 without NUL bytes and
 * converted to the database encoding.
 */
static const char *
get_text(sqlite3_stmt *stmt, int col, int *len)
{
	const char *s = (const char *) sqlite3_column_text(stmt, col);
	int			n = sqlite3_column_bytes(stmt, col);

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory reading a SQLite text value")));
	if (!pg_verify_mbstr(PG_UTF8, s, n, true))
	{
		if (memchr(s, '\0', n) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("SQLite text value contains a NUL byte"),
					 errdetail("PostgreSQL text cannot hold NUL bytes."),
					 errhint("Declare the column as bytea to read the bytes.")));
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("SQLite text value is not valid UTF-8"),
				 errhint("Declare the column as bytea to read the bytes.")));
	}
	if (GetDatabaseEncoding() != PG_UTF8)
	{
		char	   *conv = pg_any_to_server(s, n, PG_UTF8);

		if (conv != s)
			n = strlen(conv);
		s = conv;
	}
	*len = n;
	return s;
}

/* Convert a TEXT value (valid, in the database encoding). */
static Datum
text_to_datum(SqliteColumnConv *conv, const char *s, int len)
{
	switch (conv->kind)
	{
		case CONV_DATE:
		case CONV_TIME:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
			return datetime_from_text(conv, s, len);
		default:
			return string_to_datum(conv, SQLITE_TEXT, s, len);
	}
}

/*
 * Convert the text form of a value (a TEXT value, or the decimal form of an
 * INTEGER or REAL) for the kinds that parse text.  "s" is NUL-terminated.
 */
static Datum
string_to_datum(SqliteColumnConv *conv, int sqltype, const char *s, int len)
{
	switch (conv->kind)
	{
		case CONV_INT2:
			return DirectFunctionCall1(int2in, CStringGetDatum(s));
		case CONV_INT4:
			return DirectFunctionCall1(int4in, CStringGetDatum(s));
		case CONV_INT8:
			return DirectFunctionCall1(int8in, CStringGetDatum(s));
		case CONV_FLOAT8:
			return DirectFunctionCall1(float8in, CStringGetDatum(s));
		case CONV_FLOAT4:
			return float4_exact(conv, sqltype,
								DatumGetFloat8(DirectFunctionCall1(float8in,
																   CStringGetDatum(s))));
		case CONV_NUMERIC:
			return numeric_from_cstring(conv, s);
		case CONV_BOOL:
			{
				bool		b;

				if (!parse_bool_with_len(s, len, &b))
					report_mismatch(conv, sqltype, ERRCODE_INVALID_TEXT_REPRESENTATION,
									"Text read as boolean must be true/false, t/f, yes/no, on/off or 1/0.");
				return BoolGetDatum(b);
			}
		case CONV_TEXT:
			check_length(conv, s, len);
			return PointerGetDatum(cstring_to_text_with_len(s, len));
		case CONV_UUID:
			return DirectFunctionCall1(uuid_in, CStringGetDatum(s));
		case CONV_INPUT:
			check_length(conv, s, len);
			return input_fixed(conv, (char *) s);
		default:
			report_mismatch(conv, sqltype, ERRCODE_INVALID_TEXT_REPRESENTATION, NULL);
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/* Convert an INTEGER value. */
static Datum
int_to_datum(SqliteColumnConv *conv, sqlite3_int64 v)
{
	char		buf[32];

	switch (conv->kind)
	{
		case CONV_INT2:
			if (v < PG_INT16_MIN || v > PG_INT16_MAX)
				report_mismatch(conv, SQLITE_INTEGER, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
								"The value is out of range for type smallint.");
			return Int16GetDatum((int16) v);
		case CONV_INT4:
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				report_mismatch(conv, SQLITE_INTEGER, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
								"The value is out of range for type integer.");
			return Int32GetDatum((int32) v);
		case CONV_INT8:
			return Int64GetDatum(v);
		case CONV_FLOAT8:
			{
				double		d = (double) v;

				/* exact only below 2^53 or when the rounding happens to be exact */
				if (d >= 9223372036854775808.0 || (sqlite3_int64) d != v)
					report_mismatch(conv, SQLITE_INTEGER, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
									"Type double precision cannot hold this integer exactly.");
				return Float8GetDatum(d);
			}
		case CONV_FLOAT4:
			{
				float		f = (float) v;

				if ((double) f >= 9223372036854775808.0 || (sqlite3_int64) f != v)
					report_mismatch(conv, SQLITE_INTEGER, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
									"Type real cannot hold this integer exactly.");
				return Float4GetDatum(f);
			}
		case CONV_NUMERIC:
			if (conv->basetypmod >= (int32) VARHDRSZ)
			{
				snprintf(buf, sizeof(buf), INT64_FORMAT, (int64) v);
				return numeric_from_cstring(conv, buf);
			}
			return NumericGetDatum(int64_to_numeric(v));
		case CONV_BOOL:
			if (v != 0 && v != 1)
				report_mismatch(conv, SQLITE_INTEGER, ERRCODE_INVALID_TEXT_REPRESENTATION,
								"Only the integers 0 and 1 are booleans.");
			return BoolGetDatum(v == 1);
		case CONV_DATE:
		case CONV_TIME:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
			return datetime_from_number(conv, SQLITE_INTEGER, v, 0.0);
		case CONV_BYTEA:
		case CONV_UUID:
		case CONV_RAW:
			report_mismatch(conv, SQLITE_INTEGER, ERRCODE_INVALID_TEXT_REPRESENTATION, NULL);
			break;
		case CONV_TEXT:
		case CONV_INPUT:
			{
				int			len = snprintf(buf, sizeof(buf), INT64_FORMAT, (int64) v);

				return string_to_datum(conv, SQLITE_INTEGER, buf, len);
			}
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/* Convert a REAL value. */
static Datum
real_to_datum(SqliteColumnConv *conv, double d)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 16];

	switch (conv->kind)
	{
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
			{
				int64		v;

				if (isnan(d) || d != floor(d))
					report_mismatch(conv, SQLITE_FLOAT, ERRCODE_INVALID_TEXT_REPRESENTATION,
									"The value is not an integer.");
				if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
					report_mismatch(conv, SQLITE_FLOAT, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
									"The value is out of range for an integer type.");
				v = (int64) d;
				return int_to_datum(conv, v);
			}
		case CONV_FLOAT8:
			return Float8GetDatum(d);
		case CONV_FLOAT4:
			return float4_exact(conv, SQLITE_FLOAT, d);
		case CONV_BOOL:
			if (d == 0.0)
				return BoolGetDatum(false);
			if (d == 1.0)
				return BoolGetDatum(true);
			report_mismatch(conv, SQLITE_FLOAT, ERRCODE_INVALID_TEXT_REPRESENTATION,
							"Only 0 and 1 are booleans.");
			break;
		case CONV_DATE:
		case CONV_TIME:
		case CONV_TIMESTAMP:
		case CONV_TIMESTAMPTZ:
			return datetime_from_number(conv, SQLITE_FLOAT, 0, d);
		case CONV_BYTEA:
		case CONV_UUID:
		case CONV_RAW:
			report_mismatch(conv, SQLITE_FLOAT, ERRCODE_INVALID_TEXT_REPRESENTATION, NULL);
			break;
		case CONV_NUMERIC:
		case CONV_TEXT:
		case CONV_INPUT:
			sqlite_real_to_text(d, buf);
			return string_to_datum(conv, SQLITE_FLOAT, buf, strlen(buf));
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * Print a double as its shortest round-trip decimal, independent of
 * extra_float_digits; infinities as PostgreSQL spells them.  "buf" must have
 * room for DOUBLE_SHORTEST_DECIMAL_LEN + 1 bytes.
 */
char *
sqlite_real_to_text(double d, char *buf)
{
	if (isnan(d))
		strcpy(buf, "NaN");
	else if (isinf(d))
		strcpy(buf, d > 0 ? "Infinity" : "-Infinity");
	else
		(void) double_to_shortest_decimal_buf(d, buf);
	return buf;
}

/*
 * A float4 Datum for d, provided the float4 shows the same shortest decimal
 * as d itself (so 0.1 is accepted, 3.14159265358979 is not).
 */
static Datum
float4_exact(SqliteColumnConv *conv, int sqltype, double d)
{
	float		f = (float) d;

	if (!isnan(d) && !isinf(d))
	{
		char		fbuf[FLOAT_SHORTEST_DECIMAL_LEN + 1];

		if (isinf(f))
			report_mismatch(conv, sqltype, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
							"The value is out of range for type real.");
		(void) float_to_shortest_decimal_buf(f, fbuf);
		if (strtod(fbuf, NULL) != d)
			report_mismatch(conv, sqltype, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
							"Type real would round this value; use double precision.");
	}
	return Float4GetDatum(f);
}

/*
 * numeric_in(s), then the column's typmod applied only if that changes no
 * digit: numeric(10,2) refuses 0.005 instead of rounding it.
 */
static Datum
numeric_from_cstring(SqliteColumnConv *conv, const char *s)
{
	Datum		num = DirectFunctionCall3(numeric_in, CStringGetDatum(s),
										  ObjectIdGetDatum(InvalidOid),
										  Int32GetDatum(-1));

	if (conv->basetypmod >= (int32) VARHDRSZ)
	{
		Datum		fitted = DirectFunctionCall2(numeric, num,
												 Int32GetDatum(conv->basetypmod));

		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, num, fitted)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("value %s would be rounded by type %s", s,
							format_type_with_typemod(conv->basetypid,
													 conv->basetypmod)),
					 errhint("Declare the column as numeric without a scale to keep every digit.")));
		num = fitted;
	}
	return num;
}

/* Refuse a value longer than a varchar(n)/char(n) column allows. */
static void
check_length(SqliteColumnConv *conv, const char *s, int len)
{
	int			chars;

	if (conv->maxchars < 0 || len <= conv->maxchars)
		return;
	chars = pg_mbstrlen_with_len(s, len);
	if (chars > conv->maxchars)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("value of %d characters is too long for type %s",
						chars, format_type_with_typemod(conv->basetypid,
														conv->basetypmod)),
				 errhint("Declare the column as text, or with a larger length.")));
}

/*
 * Call the column type's input function with DateStyle, IntervalStyle and
 * TimeZone fixed where the type's input could depend on them.
 */
static Datum
input_fixed(SqliteColumnConv *conv, char *s)
{
	int			nestlevel;
	Datum		result;

	if (!needs_fixed_settings(conv->basetypid))
		return InputFunctionCall(&conv->infunc, s, conv->ioparam,
								 conv->basetypmod);

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", "postgres", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("timezone", "UTC", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	result = InputFunctionCall(&conv->infunc, s, conv->ioparam,
							   conv->basetypmod);
	AtEOXact_GUC(true, nestlevel);
	return result;
}

/* Could the input function of typid read the same text differently per session? */
static bool
needs_fixed_settings(Oid typid)
{
	char		category;
	bool		preferred;

	switch (typid)
	{
		case JSONOID:
		case JSONBOID:
		case BPCHAROID:
		case INETOID:
		case CIDROID:
			return false;
		default:
			break;
	}
	get_type_category_preferred(typid, &category, &preferred);
	return !(category == TYPCATEGORY_STRING || category == TYPCATEGORY_NUMERIC ||
			 category == TYPCATEGORY_BOOLEAN || category == TYPCATEGORY_ENUM ||
			 category == TYPCATEGORY_BITSTRING ||
			 category == TYPCATEGORY_NETWORK || category == TYPCATEGORY_GEOMETRIC);
}

/* ---------------------------------------------------------------------
 * Dates and times
 * ---------------------------------------------------------------------
 */

/* Read exactly n digits at *p; returns -1 if they are not there. */
static int
read_digits(const char **p, const char *end, int n)
{
	int			v = 0;

	while (n-- > 0)
	{
		if (*p >= end || **p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return v;
}

/*
 * Parse the date/time text formats SQLite's date functions accept
 * (YYYY-MM-DD, HH:MM[:SS[.fff]], both joined by 'T' or spaces, followed by
 * an optional 'Z' or [+-]HH:MM), strictly: the fields must be in range and
 * the day must exist.  Returns false for anything else.
 */
bool
sqlite_parse_datetime(const char *s, int len, SqliteDateTime *dt)
{
	const char *p = s;
	const char *end = s + len;

	memset(dt, 0, sizeof(*dt));
	while (p < end && *p == ' ')
		p++;
	while (end > p && end[-1] == ' ')
		end--;

	/* date part: YYYY-MM-DD */
	if (end - p >= 10 && p[4] == '-')
	{
		dt->year = read_digits(&p, end, 4);
		if (dt->year < 0 || *p++ != '-')
			return false;
		dt->month = read_digits(&p, end, 2);
		if (dt->month < 1 || dt->month > 12 || p >= end || *p++ != '-')
			return false;
		dt->day = read_digits(&p, end, 2);
		if (dt->day < 1 ||
			dt->day > day_tab[isleap(dt->year)][dt->month - 1])
			return false;
		dt->has_date = true;
		if (p == end)
			return true;
		/* a time must follow 'T' or spaces */
		if (*p == 'T')
			p++;
		else if (*p == ' ')
			while (p < end && *p == ' ')
				p++;
		else
			return false;
		if (p == end)
			return false;
	}

	/* time part: HH:MM[:SS[.fraction]] */
	dt->hour = read_digits(&p, end, 2);
	if (dt->hour < 0 || dt->hour > 23 || p >= end || *p++ != ':')
		return false;
	dt->minute = read_digits(&p, end, 2);
	if (dt->minute < 0 || dt->minute > 59)
		return false;
	if (p < end && *p == ':')
	{
		p++;
		dt->second = read_digits(&p, end, 2);
		if (dt->second < 0 || dt->second > 59)
			return false;
		if (p < end && *p == '.')
		{
			int			ndigits = 0;
			int64		scale = 100000;

			p++;
			while (p < end && *p >= '0' && *p <= '9')
			{
				/* digits past microseconds must be zero: never round */
				if (ndigits < 6)
					dt->usec += (*p - '0') * scale;
				else if (*p != '0')
					return false;
				scale /= 10;
				ndigits++;
				p++;
			}
			if (ndigits == 0)
				return false;
		}
	}
	dt->has_time = true;

	/* time zone: Z or [+-]HH:MM, maybe after spaces */
	while (p < end && *p == ' ')
		p++;
	if (p < end && (*p == 'Z' || *p == 'z'))
	{
		p++;
		dt->has_tz = true;
	}
	else if (p < end && (*p == '+' || *p == '-'))
	{
		int			sign = (*p == '-') ? -1 : 1;
		int			tzh,
					tzm;

		p++;
		tzh = read_digits(&p, end, 2);
		if (tzh < 0 || tzh > 14 || p >= end || *p++ != ':')
			return false;
		tzm = read_digits(&p, end, 2);
		if (tzm < 0 || tzm > 59)
			return false;
		dt->tz_seconds = sign * (tzh * SECS_PER_HOUR + tzm * SECS_PER_MINUTE);
		dt->has_tz = true;
	}
	return p == end;
}

/* Convert date/time text for a date, time, timestamp or timestamptz column. */
static Datum
datetime_from_text(SqliteColumnConv *conv, const char *s, int len)
{
	SqliteDateTime dt;
	int64		tod;

	if (!sqlite_parse_datetime(s, len, &dt))
	{
		char	   *end;
		double		d;

		/* a number as text means what the column's datetime_unit says */
		errno = 0;
		d = (len > 0) ? strtod(s, &end) : 0;
		if (len > 0 && end != s && *end == '\0' && errno == 0 && isfinite(d) &&
			strspn(s, "0123456789.+-eE") == (size_t) len && conv->kind != CONV_TIME)
		{
			if (conv->dtunit != SQLITE_DT_NONE)
				return datetime_from_number(conv, SQLITE_TEXT, 0, d);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("SQLite text value cannot be converted to type %s without loss",
							format_type_with_typemod(conv->typid, conv->typmod)),
					 errdetail("A number in a date/time column could be Unix seconds, milliseconds or a Julian day."),
					 errhint("If numbers in this column are times, set the column option datetime_unit to 'unixepoch', 'unixepoch_ms' or 'julianday'; otherwise declare the column as text.")));
		}
		report_mismatch(conv, SQLITE_TEXT, ERRCODE_INVALID_DATETIME_FORMAT,
						"SQLite's date and time formats are YYYY-MM-DD, HH:MM[:SS[.SSS]] or both, with an optional Z or [+-]HH:MM offset, and the fields must be valid.");
	}

	tod = (((int64) dt.hour * MINS_PER_HOUR + dt.minute) * SECS_PER_MINUTE +
		   dt.second) * USECS_PER_SEC + dt.usec;

	if (conv->kind == CONV_TIME)
	{
		if (dt.has_date)
			report_mismatch(conv, SQLITE_TEXT, ERRCODE_INVALID_DATETIME_FORMAT,
							"The value has a date, which type time would drop.");
		/* an offset is applied as SQLite's time() applies it */
		tod -= (int64) dt.tz_seconds * USECS_PER_SEC;
		tod = ((tod % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY;
		return TimeADTGetDatum(tod);
	}

	if (!dt.has_date)
		report_mismatch(conv, SQLITE_TEXT, ERRCODE_INVALID_DATETIME_FORMAT,
						"The value is a time of day without a date.");

	{
		int64		days = date2j(dt.year, dt.month, dt.day) - POSTGRES_EPOCH_JDATE;
		Timestamp	ts = days * USECS_PER_DAY + tod -
			(int64) dt.tz_seconds * USECS_PER_SEC;

		return timestamp_to_kind(conv, SQLITE_TEXT, ts);
	}
}

/*
 * Convert a number in a date/time column, as the column's datetime_unit
 * says.  iv is used for INTEGER values, dv for the others.
 */
static Datum
datetime_from_number(SqliteColumnConv *conv, int sqltype, sqlite3_int64 iv,
					 double dv)
{
	/* microseconds from the Unix epoch to the PostgreSQL epoch */
	const int64 epoch_shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
		USECS_PER_DAY;
	int64		us = 0;
	bool		overflow = false;

	if (conv->dtunit == SQLITE_DT_NONE || conv->kind == CONV_TIME)
		report_mismatch(conv, sqltype, ERRCODE_INVALID_DATETIME_FORMAT,
						conv->kind == CONV_TIME ?
						"A number is not a time of day." :
						"A number in a date/time column could be Unix seconds, milliseconds or a Julian day.");

	if (sqltype == SQLITE_INTEGER)
	{
		switch (conv->dtunit)
		{
			case SQLITE_DT_UNIXEPOCH:
				overflow = pg_mul_s64_overflow(iv, USECS_PER_SEC, &us);
				break;
			case SQLITE_DT_UNIXEPOCH_MS:
				overflow = pg_mul_s64_overflow(iv, 1000, &us);
				break;
			case SQLITE_DT_JULIANDAY:
				{
					int64		days;

					/* Julian day N starts at noon of day N */
					overflow = pg_sub_s64_overflow(iv, UNIX_EPOCH_JDATE, &days) ||
						pg_mul_s64_overflow(days, USECS_PER_DAY, &us) ||
						pg_add_s64_overflow(us, USECS_PER_DAY / 2, &us);
					break;
				}
			case SQLITE_DT_NONE:
				break;
		}
	}
	else
	{
		double		x;

		switch (conv->dtunit)
		{
			case SQLITE_DT_UNIXEPOCH:
				x = dv * 1e6;
				break;
			case SQLITE_DT_UNIXEPOCH_MS:
				x = dv * 1e3;
				break;
			default:

				/*
				 * SQLite reads a Julian day in milliseconds, rounded as
				 * iJD = (sqlite3_int64) (r * 86400000.0 + 0.5); its
				 * microseconds are only the double's noise (a Julian day
				 * near 2.46e6 holds about 40 µs).  Read it as SQLite does.
				 */
				x = floor(dv * 86400000.0 + 0.5);
				x = (x - (UNIX_EPOCH_JDATE - 0.5) * 86400000.0) * 1000.0;
				break;
		}
		x = rint(x);
		if (!isfinite(x) || x <= -9.2e18 || x >= 9.2e18)
			overflow = true;
		else
			us = (int64) x;
	}

	if (overflow || pg_sub_s64_overflow(us, epoch_shift, &us))
		report_mismatch(conv, sqltype, ERRCODE_DATETIME_VALUE_OUT_OF_RANGE,
						"The time is out of range.");
	return timestamp_to_kind(conv, sqltype, us);
}

/*
 * A UTC timestamp as a Datum of the column's kind: timestamp and
 * timestamptz hold it as is; date only when it is midnight.
 */
static Datum
timestamp_to_kind(SqliteColumnConv *conv, int sqltype, Timestamp ts)
{
	if (!IS_VALID_TIMESTAMP(ts))
		report_mismatch(conv, sqltype, ERRCODE_DATETIME_VALUE_OUT_OF_RANGE,
						"The time is out of range for PostgreSQL.");
	if (conv->kind == CONV_DATE)
	{
		if (ts % USECS_PER_DAY != 0)
			report_mismatch(conv, sqltype, ERRCODE_INVALID_DATETIME_FORMAT,
							"The value has a time of day (or an offset), which type date would drop.");
		return DateADTGetDatum((DateADT) (ts / USECS_PER_DAY));
	}
	if (conv->kind == CONV_TIMESTAMPTZ)
		return TimestampTzGetDatum(ts);
	return TimestampGetDatum(ts);
}

/* ---------------------------------------------------------------------
 * Describing values in messages
 * ---------------------------------------------------------------------
 */

/*
 * "s" (len bytes of supposed UTF-8 from SQLite) made safe for a message: at
 * most "maxchars" characters, then "..."; control characters, backslashes
 * and bytes that are not valid UTF-8 as \xNN.
 */
char *
sqlite_printable(const char *s, int len, int maxchars)
{
	StringInfoData buf;
	const unsigned char *u = (const unsigned char *) s;
	int			i = 0;
	int			shown = 0;

	initStringInfo(&buf);
	while (u && i < len && shown < maxchars)
	{
		int			l = pg_utf_mblen(u + i);

		if (u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\' &&
			i + l <= len && pg_utf8_islegal(u + i, l))
		{
			appendBinaryStringInfo(&buf, (const char *) u + i, l);
			i += l;
		}
		else
		{
			appendStringInfo(&buf, "\\x%02X", u[i]);
			i++;
		}
		shown++;
	}
	if (i < len)
		appendStringInfoString(&buf, "...");
	return buf.data;
}

/*
 * A short, printable description of column "col" of the current row, for
 * error messages: the value (at most about 60 characters, invalid bytes
 * escaped, blobs in hex) and its storage class.
 */
char *
sqlite_describe_value(sqlite3_stmt *stmt, int col)
{
	StringInfoData buf;
	int			sqltype = sqlite3_column_type(stmt, col);
	int			bytes = -1;

	initStringInfo(&buf);
	switch (sqltype)
	{
		case SQLITE_NULL:
			appendStringInfoString(&buf, "NULL");
			return buf.data;
		case SQLITE_INTEGER:
			appendStringInfo(&buf, INT64_FORMAT,
							 (int64) sqlite3_column_int64(stmt, col));
			break;
		case SQLITE_FLOAT:
			{
				char		d[DOUBLE_SHORTEST_DECIMAL_LEN + 16];

				appendStringInfoString(&buf,
									   sqlite_real_to_text(sqlite3_column_double(stmt, col), d));
				break;
			}
		case SQLITE_TEXT:
			{
				const char *s = (const char *) sqlite3_column_text(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);

				appendStringInfo(&buf, "'%s'", sqlite_printable(s, len, 60));
				if (len > 60 || !pg_verify_mbstr(PG_UTF8, s, len, true))
					bytes = len;
				break;
			}
		case SQLITE_BLOB:
			{
				const unsigned char *b = sqlite3_column_blob(stmt, col);
				int			len = sqlite3_column_bytes(stmt, col);
				int			i;

				appendStringInfoString(&buf, "x'");
				for (i = 0; b && i < len && i < 32; i++)
					appendStringInfo(&buf, "%02X", b[i]);
				appendStringInfoString(&buf, len > 32 ? "...'" : "'");
				if (len > 32)
					bytes = len;
				break;
			}
	}
	if (bytes >= 0)
		appendStringInfo(&buf, " (%s, %d bytes)",
						 sqlite_storage_class_name(sqltype), bytes);
	else
		appendStringInfo(&buf, " (%s)", sqlite_storage_class_name(sqltype));
	return buf.data;
}

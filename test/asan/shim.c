/*-------------------------------------------------------------------------
 *
 * shim.c
 *		  The few backend services that typemap.c, translate.c and profile.c
 *		  need, for running them outside the server under AddressSanitizer.
 *
 * The project's files are compiled unchanged, as backend code (postgres.h,
 * USE_ASSERT_CHECKING).  PostgreSQL's frontend libraries supply what they
 * have: palloc/pfree/repalloc/pstrdup/psprintf (libpgcommon's fe_memutils,
 * plain malloc, so every palloc'd chunk has ASan red zones), StringInfo,
 * UTF-8 tables, the shortest-decimal float printing, the JSON parser, the
 * keyword list, snprintf and strcasecmp (libpgport).  This file supplies
 * the rest:
 *
 *	- ereport/elog: errstart/errfinish record the message and, for ERROR,
 *	  siglongjmp to PG_exception_stack (the harness's or translate.c's own
 *	  PG_TRY).  An uncaught ERROR, FATAL or PANIC aborts.
 *	- memory contexts: CurrentMemoryContext is a dummy; creating one returns
 *	  a dummy, deleting one does nothing (nothing is freed; leak checks are
 *	  off).
 *	- List: lappend and friends on PostgreSQL 15's array List layout.
 *	- check_stack_depth() with the server's default max_stack_depth (2MB).
 *	- encoding: the database encoding is UTF8.
 *	- small functions of the server re-implemented here: date2j, day_tab,
 *	  parse_bool_with_len, quote_identifier, quote_literal_cstr,
 *	  cstring_to_text(_with_len), text_to_cstring, getBaseType (no domains).
 *	- raw_parser: the server's grammar cannot be linked outside the server.
 *	  The stub counts the calls (the text is translate.c's own output, which
 *	  it re-parses as a final check) and returns NIL, so every translation
 *	  that reaches the final check is refused.  The deparse up to that point
 *	  runs; translate.c's check of the parse tree (check_node) does not.
 *	- backend data-type input functions (int4in, float8in, numeric_in,
 *	  uuid_in, ...) raise an ERROR with SQLSTATE XX000 and a message that
 *	  starts "harness:", which the harness counts as "not available here".
 *
 * Anything else (catalog lookups, GUCs, tuples) is in stubs.c and aborts if
 * it is ever called.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <setjmp.h>

#include "common/keywords.h"
#include "lib/stringinfo.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "shim.h"

/* ---------------------------------------------------------------- globals */

static char dummy_context_storage[64];
MemoryContext CurrentMemoryContext = (MemoryContext) dummy_context_storage;
volatile sig_atomic_t InterruptPending = false;
sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

const int	day_tab[2][13] = {
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

long		shim_raw_parser_calls = 0;
long		shim_unavailable_calls = 0;
char	   *shim_stack_base = NULL;

/* ---------------------------------------------------------------- errors */

static int	cur_elevel;
static int	cur_sqlerrcode;
static char cur_message[1024];
char		shim_last_message[1024];
int			shim_last_sqlerrcode;

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;			/* notices and warnings are dropped */
	cur_elevel = elevel;
	cur_sqlerrcode = ERRCODE_INTERNAL_ERROR;
	cur_message[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	strlcpy(shim_last_message, cur_message, sizeof(shim_last_message));
	shim_last_sqlerrcode = cur_sqlerrcode;
	if (cur_elevel >= FATAL || PG_exception_stack == NULL)
	{
		fprintf(stderr, "harness: uncaught %s at %s:%d (%s): %s\n",
				cur_elevel >= FATAL ? "FATAL/PANIC" : "ERROR",
				filename ? filename : "?", lineno, funcname ? funcname : "?",
				cur_message);
		abort();
	}
	siglongjmp(*PG_exception_stack, 1);
}

int
errcode(int sqlerrcode)
{
	cur_sqlerrcode = sqlerrcode;
	return 0;
}

static void
set_message(const char *fmt, va_list ap)
{
	pg_vsnprintf(cur_message, sizeof(cur_message), fmt, ap);
}

int
errmsg(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	return 0;
}

/* Details and hints are formatted (to run their arguments) and dropped. */
int
errdetail(const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	pg_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

int
errhint(const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	pg_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return 0;
}

void
FlushErrorState(void)
{
	cur_message[0] = '\0';
}

void
pg_re_throw(void)
{
	if (PG_exception_stack == NULL)
		abort();
	siglongjmp(*PG_exception_stack, 1);
}

void
ExceptionalCondition(const char *conditionName, const char *errorType,
					 const char *fileName, int lineNumber)
{
	fprintf(stderr, "harness: TRAP: %s(\"%s\", File: \"%s\", Line: %d)\n",
			errorType, conditionName, fileName, lineNumber);
	abort();
}

void
ProcessInterrupts(void)
{
	InterruptPending = false;
}

void
check_stack_depth(void)
{
	char		here;
	long		depth;

	if (shim_stack_base == NULL)
		return;
	depth = shim_stack_base - &here;
	if (depth < 0)
		depth = -depth;
	if (depth > 2L * 1024 * 1024)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("stack depth limit exceeded")));
}

/* ---------------------------------------------------------------- memory */

MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	return (MemoryContext) dummy_context_storage;
}

void
MemoryContextDelete(MemoryContext context)
{
}

/* ---------------------------------------------------------------- List */

static List *
new_list(NodeTag type, int n)
{
	List	   *l = (List *) palloc(offsetof(List, initial_elements));

	l->type = type;
	l->length = n;
	l->max_length = Max(n, 4);
	l->elements = (ListCell *) palloc(l->max_length * sizeof(ListCell));
	return l;
}

static void
enlarge(List *l, int need)
{
	if (need <= l->max_length)
		return;
	l->max_length = Max(need, l->max_length * 2);
	l->elements = (ListCell *) repalloc(l->elements,
										l->max_length * sizeof(ListCell));
}

List *
list_make1_impl(NodeTag t, ListCell datum1)
{
	List	   *l = new_list(t, 1);

	l->elements[0] = datum1;
	return l;
}

List *
list_make2_impl(NodeTag t, ListCell datum1, ListCell datum2)
{
	List	   *l = new_list(t, 2);

	l->elements[0] = datum1;
	l->elements[1] = datum2;
	return l;
}

List *
lappend(List *list, void *datum)
{
	if (list == NIL)
		list = new_list(T_List, 0);
	Assert(list->type == T_List);
	enlarge(list, list->length + 1);
	list->elements[list->length++].ptr_value = datum;
	return list;
}

List *
lappend_int(List *list, int datum)
{
	if (list == NIL)
		list = new_list(T_IntList, 0);
	Assert(list->type == T_IntList);
	enlarge(list, list->length + 1);
	list->elements[list->length++].int_value = datum;
	return list;
}

List *
lcons(void *datum, List *list)
{
	if (list == NIL)
		list = new_list(T_List, 0);
	enlarge(list, list->length + 1);
	memmove(&list->elements[1], &list->elements[0],
			list->length * sizeof(ListCell));
	list->elements[0].ptr_value = datum;
	list->length++;
	return list;
}

List *
list_delete_first(List *list)
{
	if (list == NIL)
		return NIL;
	if (list->length == 1)
	{
		pfree(list->elements);
		pfree(list);
		return NIL;
	}
	memmove(&list->elements[0], &list->elements[1],
			(list->length - 1) * sizeof(ListCell));
	list->length--;
	return list;
}

void
list_free(List *list)
{
	if (list == NIL)
		return;
	pfree(list->elements);
	pfree(list);
}

void
list_free_deep(List *list)
{
	int			i;

	if (list == NIL)
		return;
	for (i = 0; i < list->length; i++)
		pfree(list->elements[i].ptr_value);
	list_free(list);
}

/* ---------------------------------------------------------------- encoding */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

bool
pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	int			ok = pg_encoding_verifymbstr(encoding, mbstr, len);

	if (ok == len)
		return true;
	if (noError)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
			 errmsg("invalid byte sequence for encoding \"UTF8\"")));
	return false;
}

bool
pg_verifymbstr(const char *mbstr, int len, bool noError)
{
	return pg_verify_mbstr(PG_UTF8, mbstr, len, noError);
}

int
pg_mblen(const char *mbstr)
{
	return pg_utf_mblen((const unsigned char *) mbstr);
}

int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			n = 0;

	while (limit > 0 && *mbstr)
	{
		int			l = pg_mblen(mbstr);

		limit -= l;
		mbstr += l;
		n++;
	}
	return n;
}

/* The server encoding is UTF8: like the server, return the input as is. */
char *
pg_any_to_server(const char *s, int len, int encoding)
{
	if (encoding != PG_UTF8)
		shim_unavailable("pg_any_to_server from another encoding");
	(void) pg_verify_mbstr(PG_UTF8, s, len, false);
	return unconstify(char *, s);
}

/* ---------------------------------------------------------------- small adt */

int
date2j(int y, int m, int d)
{
	int			julian;
	int			century;

	if (m > 2)
	{
		m += 1;
		y += 4800;
	}
	else
	{
		m += 13;
		y += 4799;
	}
	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;
	return julian;
}

bool
parse_bool_with_len(const char *value, size_t len, bool *result)
{
	/* the same spellings as the server's boolean input */
	if (len == 0)
		return false;
	switch (*value)
	{
		case 't':
		case 'T':
			if (pg_strncasecmp(value, "true", len) == 0)
				return (*result = true, true);
			break;
		case 'f':
		case 'F':
			if (pg_strncasecmp(value, "false", len) == 0)
				return (*result = false, true);
			break;
		case 'y':
		case 'Y':
			if (pg_strncasecmp(value, "yes", len) == 0)
				return (*result = true, true);
			break;
		case 'n':
		case 'N':
			if (pg_strncasecmp(value, "no", len) == 0)
				return (*result = false, true);
			break;
		case 'o':
		case 'O':
			if (pg_strncasecmp(value, "on", (len > 2 ? len : 2)) == 0)
				return (*result = true, true);
			if (pg_strncasecmp(value, "off", (len > 2 ? len : 2)) == 0)
				return (*result = false, true);
			break;
		case '1':
			if (len == 1)
				return (*result = true, true);
			break;
		case '0':
			if (len == 1)
				return (*result = false, true);
			break;
	}
	return false;
}

text *
cstring_to_text_with_len(const char *s, int len)
{
	text	   *result = (text *) palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

text *
cstring_to_text(const char *s)
{
	return cstring_to_text_with_len(s, strlen(s));
}

char *
text_to_cstring(const text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	char	   *r = palloc(len + 1);

	memcpy(r, VARDATA_ANY(t), len);
	r[len] = '\0';
	return r;
}

const char *
quote_identifier(const char *ident)
{
	bool		safe = (ident[0] >= 'a' && ident[0] <= 'z') || ident[0] == '_';
	const char *p;
	StringInfoData buf;

	for (p = ident; *p && safe; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			safe = false;
	if (safe)
	{
		int			kw = ScanKeywordLookup(ident, &ScanKeywords);

		if (kw >= 0 && ScanKeywordCategories[kw] != UNRESERVED_KEYWORD)
			safe = false;
	}
	if (safe)
		return ident;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '"');
	for (p = ident; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(&buf, '"');
		appendStringInfoChar(&buf, *p);
	}
	appendStringInfoChar(&buf, '"');
	return buf.data;
}

char *
quote_literal_cstr(const char *rawstr)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	if (strchr(rawstr, '\\'))
		appendStringInfoChar(&buf, 'E');
	appendStringInfoChar(&buf, '\'');
	for (p = rawstr; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(&buf, *p);
		appendStringInfoChar(&buf, *p);
	}
	appendStringInfoChar(&buf, '\'');
	return buf.data;
}

Oid
getBaseType(Oid typid)
{
	return typid;
}

Oid
getBaseTypeAndTypmod(Oid typid, int32 *typmod)
{
	return typid;
}

char *
format_type_be(Oid type_oid)
{
	return psprintf("type %u", type_oid);
}

/* ---------------------------------------------------------------- parser */

List *
raw_parser(const char *str, RawParseMode mode)
{
	shim_raw_parser_calls++;
	return NIL;
}

/* ---------------------------------------------------------------- fmgr */

Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	result = (*func) (fcinfo);
	return result;
}

Datum
DirectFunctionCall2Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2)
{
	LOCAL_FCINFO(fcinfo, 2);

	InitFunctionCallInfoData(*fcinfo, NULL, 2, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	return (*func) (fcinfo);
}

Datum
DirectFunctionCall3Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2,
						Datum arg3)
{
	LOCAL_FCINFO(fcinfo, 3);

	InitFunctionCallInfoData(*fcinfo, NULL, 3, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = arg3;
	fcinfo->args[2].isnull = false;
	return (*func) (fcinfo);
}

/* Backend input functions: not available outside the server. */
void
shim_unavailable(const char *what)
{
	shim_unavailable_calls++;
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("harness: %s is not available outside the server", what)));
}

#define UNAVAILABLE_FN(name) \
Datum name(PG_FUNCTION_ARGS) { shim_unavailable(#name); return (Datum) 0; }

UNAVAILABLE_FN(int2in)
UNAVAILABLE_FN(int4in)
UNAVAILABLE_FN(int8in)
UNAVAILABLE_FN(float8in)
UNAVAILABLE_FN(numeric_in)
UNAVAILABLE_FN(numeric)
UNAVAILABLE_FN(numeric_cmp)
UNAVAILABLE_FN(uuid_in)

Numeric
int64_to_numeric(int64 val)
{
	shim_unavailable("int64_to_numeric");
	return NULL;
}

char *
format_type_with_typemod(Oid type_oid, int32 typemod)
{
	return psprintf("type %u (typmod %d)", type_oid, typemod);
}

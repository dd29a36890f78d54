/*-------------------------------------------------------------------------
 *
 * translate.c
 *		  Translation of SQLite expressions and view definitions taken from
 *		  the file (untrusted) into PostgreSQL SQL, through PostgreSQL's
 *		  parser and an allow-list.  (Placeholder: a full version is being
 *		  written.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "sqlite_fdw_mig.h"

PG_FUNCTION_INFO_V1(sqlite_translate_expr_sql);

char *
sqlite_translate_expr(const char *expr, SqliteExprKind kind, Oid target_type,
					  List *colmap, char **reason)
{
	*reason = pstrdup("expressions are not translated yet");
	return NULL;
}

char *
sqlite_translate_view(const char *create_view_sql, List *tablemap, char **reason)
{
	*reason = pstrdup("views are not translated yet");
	return NULL;
}

List *
sqlite_extract_checks(const char *create_table_sql)
{
	return NIL;
}

List *
sqlite_extract_generated(const char *create_table_sql)
{
	return NIL;
}

Datum
sqlite_translate_expr_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_NULL();
}

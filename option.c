/*-------------------------------------------------------------------------
 *
 * option.c
 *		  The options of sqlite_fdw_mig: the validator, lookup of option
 *		  values for a server, table or column, and the privilege check that
 *		  guards every way of naming a file on the server.
 *
 * Option names follow pgspider's sqlite_fdw where they mean the same
 * (database, table, column_name), so existing DDL keeps working after the
 * wrapper name is changed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/reloptions.h"
#include "access/table.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/varlena.h"

#include "sqlite_fdw_mig.h"

/* One valid option: its name and the catalog it may appear in. */
typedef struct SqliteOption
{
	const char *name;
	Oid			context;
} SqliteOption;

static const SqliteOption valid_options[] = {
	/* server */
	{"database", ForeignServerRelationId},
	{"large_object", ForeignServerRelationId},
	{"busy_timeout", ForeignServerRelationId},
	{"updatable", ForeignServerRelationId},
	{"batch_size", ForeignServerRelationId},
	/* foreign table */
	{"table", ForeignTableRelationId},
	{"rows", ForeignTableRelationId},
	{"updatable", ForeignTableRelationId},
	{"batch_size", ForeignTableRelationId},
	/* column */
	{"column_name", AttributeRelationId},
	{"key", AttributeRelationId},
	{"datetime_unit", AttributeRelationId},
	{"check_type", AttributeRelationId},
	{NULL, InvalidOid}
};

static const char *context_name(Oid context);
static void report_unknown_option(const char *name, Oid context);
static int	parse_busy_timeout(const char *value);
static Oid	parse_large_object(const char *value);
static int	parse_batch_size(const char *value);

PG_FUNCTION_INFO_V1(sqlite_fdw_mig_validator);

/*
 * Validate the options given to a FOREIGN DATA WRAPPER, SERVER, USER MAPPING
 * or FOREIGN TABLE (and its columns) that uses sqlite_fdw_mig.
 *
 * Raise an ERROR for an unknown option (with the closest valid name as a
 * hint), a malformed value, a missing "database", or a "database" set by a
 * role that may not read server files.
 */
Datum
sqlite_fdw_mig_validator(PG_FUNCTION_ARGS)
{
	List	   *options_list = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	bool		has_database = false;
	bool		has_large_object = false;
	bool		updatable = false;
	ListCell   *cell;

	foreach(cell, options_list)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const SqliteOption *opt;
		char	   *value;

		for (opt = valid_options; opt->name; opt++)
		{
			if (opt->context == catalog && strcmp(opt->name, def->defname) == 0)
				break;
		}
		if (opt->name == NULL)
			report_unknown_option(def->defname, catalog);

		value = defGetString(def);

		if (strcmp(def->defname, "database") == 0)
		{
			sqlite_check_read_privilege("set option \"database\"");
			if (value[0] != '/')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"database\" must be an absolute path, not \"%s\"",
								value),
						 errhint("Give the full path of the SQLite file on the database server, starting with \"/\".")));
			has_database = true;
		}
		else if (strcmp(def->defname, "large_object") == 0)
		{
			/* reading it needs SELECT on it, checked when it is opened */
			(void) parse_large_object(value);
			has_large_object = true;
		}
		else if (strcmp(def->defname, "busy_timeout") == 0)
			(void) parse_busy_timeout(value);
		else if (strcmp(def->defname, "updatable") == 0)
		{
			/* like "database": only a role that may write files sets it */
			if (defGetBoolean(def))
			{
				sqlite_check_write_privilege("set option \"updatable\"");
				updatable = true;
			}
		}
		else if (strcmp(def->defname, "key") == 0)
			(void) defGetBoolean(def);
		else if (strcmp(def->defname, "batch_size") == 0)
			(void) parse_batch_size(value);
		else if (strcmp(def->defname, "table") == 0 ||
				 strcmp(def->defname, "column_name") == 0)
		{
			if (value[0] == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must not be empty", def->defname)));
		}
		else if (strcmp(def->defname, "datetime_unit") == 0)
			(void) sqlite_parse_datetime_unit(value);
		else if (strcmp(def->defname, "rows") == 0)
			(void) sqlite_parse_rows_mode(value);
		else if (strcmp(def->defname, "check_type") == 0)
		{
			Oid			typid;
			int32		typmod;

			parseTypeString(value, &typid, &typmod, false);
		}
	}

	if (catalog == ForeignServerRelationId && !has_database && !has_large_object)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"database\" is required for a sqlite_fdw_mig server"),
				 errhint("Add OPTIONS (database '/path/to/file.db'), or OPTIONS (large_object 'OID') for a file uploaded as a large object.")));
	if (has_database && has_large_object)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"database\" and \"large_object\" cannot both be set"),
				 errhint("A server reads either a file on the server or an uploaded large object.")));
	if (has_large_object && updatable)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a server with option \"large_object\" cannot be updatable"),
				 errdetail("A SQLite database in a large object is read-only."),
				 errhint("Leave option \"updatable\" off for this server.")));

	PG_RETURN_VOID();
}

/*
 * Raise the error for an option that is not valid in "context", naming the
 * closest valid option when one is close enough to be a likely typo, and
 * the options that are valid otherwise.
 */
static void
report_unknown_option(const char *name, Oid context)
{
	const SqliteOption *opt;
	const char *best = NULL;
	int			best_dist = INT_MAX;
	StringInfoData valid;

	initStringInfo(&valid);
	for (opt = valid_options; opt->name; opt++)
	{
		int			dist;

		if (opt->context != context)
			continue;
		appendStringInfo(&valid, "%s%s", valid.len > 0 ? ", " : "", opt->name);
		dist = varstr_levenshtein(name, strlen(name), opt->name,
								  strlen(opt->name), 1, 1, 1, false);
		if (dist < best_dist)
		{
			best_dist = dist;
			best = opt->name;
		}
	}

	/* a distance of more than half the name is not a typo */
	if (best != NULL && best_dist > (int) Max(strlen(name), strlen(best)) / 2)
		best = NULL;

	if (best != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\" for %s", name, context_name(context)),
				 errhint("Perhaps you meant the option \"%s\".", best)));
	else if (valid.len > 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\" for %s", name, context_name(context)),
				 errhint("Valid options in this context are: %s.", valid.data)));
	else
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("invalid option \"%s\" for %s", name, context_name(context)),
				 errhint("A %s of sqlite_fdw_mig takes no options.",
						 context_name(context))));
}

/* The user-facing name of an option catalog. */
static const char *
context_name(Oid context)
{
	switch (context)
	{
		case ForeignServerRelationId:
			return "server";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "column";
		case UserMappingRelationId:
			return "user mapping";
		default:
			return "foreign-data wrapper";
	}
}

/* The OID of option large_object: a positive number. */
static Oid
parse_large_object(const char *value)
{
	char	   *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
		v == 0 || v > PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"large_object\" must be the OID of a large object, not \"%s\"",
						value),
				 errhint("psql's \\lo_import prints the OID, and sets :LASTOID.")));
	return (Oid) v;
}

/* Parse a busy_timeout value (milliseconds, 0 to INT_MAX) or raise an ERROR. */
static int
parse_busy_timeout(const char *value)
{
	char	   *end;
	long		ms;

	errno = 0;
	ms = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || ms < 0 || ms > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"busy_timeout\": \"%s\"", value),
				 errhint("Give a number of milliseconds between 0 and %d.", INT_MAX)));
	return (int) ms;
}

/* Parse a batch_size value (1 to 10000) or raise an ERROR. */
static int
parse_batch_size(const char *value)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < 1 || n > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"batch_size\": \"%s\"", value),
				 errhint("Give a number of rows between 1 and 10000.")));
	return (int) n;
}

/*
 * Parse a datetime_unit value or raise an ERROR.  Returns the unit.
 */
SqliteDatetimeUnit
sqlite_parse_datetime_unit(const char *value)
{
	if (strcmp(value, "unixepoch") == 0)
		return SQLITE_DT_UNIXEPOCH;
	if (strcmp(value, "unixepoch_ms") == 0)
		return SQLITE_DT_UNIXEPOCH_MS;
	if (strcmp(value, "julianday") == 0)
		return SQLITE_DT_JULIANDAY;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"datetime_unit\": \"%s\"", value),
			 errhint("Valid values are \"unixepoch\" (seconds since 1970), \"unixepoch_ms\" (milliseconds since 1970) and \"julianday\".")));
	return SQLITE_DT_NONE;		/* keep compiler quiet */
}

/* Parse a rows value ('all', 'matching', 'mismatched') or raise an ERROR. */
SqliteRowsMode
sqlite_parse_rows_mode(const char *value)
{
	if (strcmp(value, "all") == 0)
		return SQLITE_ROWS_ALL;
	if (strcmp(value, "matching") == 0)
		return SQLITE_ROWS_MATCHING;
	if (strcmp(value, "mismatched") == 0)
		return SQLITE_ROWS_MISMATCHED;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"rows\": \"%s\"", value),
			 errhint("Valid values are \"all\", \"matching\" and \"mismatched\".")));
	return SQLITE_ROWS_ALL;		/* keep compiler quiet */
}

/* The rows option of a foreign table. */
SqliteRowsMode
sqlite_table_rows_mode(Oid relid)
{
	ListCell   *lc;

	foreach(lc, GetForeignTable(relid)->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "rows") == 0)
			return sqlite_parse_rows_mode(defGetString(def));
	}
	return SQLITE_ROWS_ALL;
}

/* The check_type option of a column, or NULL. */
char *
sqlite_column_check_type(Oid relid, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, GetForeignColumnOptions(relid, attnum))
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "check_type") == 0)
			return defGetString(def);
	}
	return NULL;
}

/*
 * Raise an ERROR unless the current role may read files on the server:
 * superusers and members of pg_read_server_files.  "what" completes the
 * message "permission denied to ...".
 */
void
sqlite_check_read_privilege(const char *what)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only superusers and roles with privileges of the \"%s\" role may read SQLite files on the server.",
						   "pg_read_server_files")));
}

/*
 * Raise an ERROR unless the current role may write files on the server:
 * superusers and members of pg_write_server_files.  "what" completes the
 * message "permission denied to ...".
 */
void
sqlite_check_write_privilege(const char *what)
{
	if (!has_privs_of_role(GetUserId(), ROLE_PG_WRITE_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Only superusers and roles with privileges of the \"%s\" role may allow writes to SQLite files on the server.",
						   "pg_write_server_files")));
}

/* The value of boolean option "name" in "options", or -1 if absent. */
static int
bool_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, name) == 0)
			return defGetBoolean(def) ? 1 : 0;
	}
	return -1;
}

/* The value of integer option "name" in "options", or -1 if absent. */
static int
batch_option(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "batch_size") == 0)
			return parse_batch_size(defGetString(def));
	}
	return -1;
}

/*
 * May foreign table "relid" be written?  Its own "updatable" option, or
 * else its server's; false when neither says.
 */
bool
sqlite_table_updatable(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	int			v = bool_option(table->options, "updatable");

	if (v < 0)
		v = bool_option(GetForeignServer(table->serverid)->options, "updatable");
	return v == 1;
}

/*
 * May anything of server "serverid" be written: the server's "updatable"
 * option, or that of one of its foreign tables?  Decides whether the file
 * is opened for writing.
 */
bool
sqlite_server_may_write(Oid serverid)
{
	ForeignServer *server = GetForeignServer(serverid);
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		result = false;

	/* a path chosen by a role that may not write files is never written */
	if (!has_privs_of_role(server->owner, ROLE_PG_WRITE_SERVER_FILES))
		return false;
	if (bool_option(server->options, "updatable") == 1)
		return true;

	/* pg_foreign_table has no index on the server: it is small */
	rel = table_open(ForeignTableRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (!result && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_foreign_table ft = (Form_pg_foreign_table) GETSTRUCT(tup);
		Datum		datum;
		bool		isnull;

		if (ft->ftserver != serverid)
			continue;
		datum = heap_getattr(tup, Anum_pg_foreign_table_ftoptions,
							 RelationGetDescr(rel), &isnull);
		if (!isnull &&
			bool_option(untransformRelOptions(datum), "updatable") == 1)
			result = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * Raise an ERROR unless the owner of server "serverid" may write files: the
 * server's "database" may be changed by its owner, so a server owned by a
 * role without pg_write_server_files must not be written through, whoever
 * made a foreign table of it updatable.
 */
void
sqlite_check_server_writable(Oid serverid)
{
	ForeignServer *server = GetForeignServer(serverid);

	if (!has_privs_of_role(server->owner, ROLE_PG_WRITE_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write through server \"%s\": its owner \"%s\" may not write files on the server",
						server->servername, GetUserNameFromId(server->owner, false)),
				 errdetail("The owner of a server may change its option \"database\"."),
				 errhint("Have the server owned by a role with privileges of \"%s\".",
						 "pg_write_server_files")));
}

/* The batch_size of foreign table "relid" (its own, its server's, or 1). */
int
sqlite_table_batch_size(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	int			n = batch_option(table->options);

	if (n < 0)
		n = batch_option(GetForeignServer(table->serverid)->options);
	return n < 0 ? 1 : n;
}

/* Does column "attnum" of "relid" have the option key 'true'? */
bool
sqlite_column_is_key(Oid relid, AttrNumber attnum)
{
	return bool_option(GetForeignColumnOptions(relid, attnum), "key") == 1;
}

/*
 * Fill "opts" from the options of "server".  The validator has already
 * checked every value.
 */
void
sqlite_get_server_options(ForeignServer *server, SqliteServerOptions *opts)
{
	ListCell   *lc;

	opts->database = NULL;
	opts->large_object = InvalidOid;
	opts->busy_timeout = SQLITE_DEFAULT_BUSY_TIMEOUT;

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "database") == 0)
			opts->database = defGetString(def);
		else if (strcmp(def->defname, "large_object") == 0)
			opts->large_object = parse_large_object(defGetString(def));
		else if (strcmp(def->defname, "busy_timeout") == 0)
			opts->busy_timeout = parse_busy_timeout(defGetString(def));
	}

	if (opts->database == NULL && !OidIsValid(opts->large_object))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"database\"",
						server->servername)));
}

/*
 * The SQLite name of the table behind foreign table "relid": its "table"
 * option, or else the foreign table's own name.
 */
char *
sqlite_table_name(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ListCell   *lc;

	foreach(lc, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "table") == 0)
			return defGetString(def);
	}
	return get_rel_name(relid);
}

/*
 * The SQLite name of column "attnum" of foreign table "relid": its
 * "column_name" option, or else the column's own name.
 */
char *
sqlite_column_name(Oid relid, AttrNumber attnum)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "column_name") == 0)
			return defGetString(def);
	}
	return get_attname(relid, attnum, false);
}

/* The datetime_unit option of a column, or SQLITE_DT_NONE. */
SqliteDatetimeUnit
sqlite_column_datetime_unit(Oid relid, AttrNumber attnum)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "datetime_unit") == 0)
			return sqlite_parse_datetime_unit(defGetString(def));
	}
	return SQLITE_DT_NONE;
}

/* The column of foreign table "rel" that reads SQLite column "name" (UTF-8), or 0. */
AttrNumber
sqlite_column_attnum(Relation rel, const char *utf8_name)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		char	   *col;

		if (att->attisdropped)
			continue;
		col = sqlite_column_name(RelationGetRelid(rel), att->attnum);
		if (sqlite3_stricmp(pg_server_to_any(col, strlen(col), PG_UTF8), utf8_name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		  The migration functions migrate_sqlite() and migrate_sqlite_plan():
 *		  analyse a SQLite file (catalog and values), choose the PostgreSQL
 *		  types by the type rule, and build and run the statements that
 *		  create the tables, copy the rows through this extension's foreign
 *		  tables, check the counts, and add keys, indexes, foreign keys,
 *		  sequences and views; then record the run and return the report.
 *
 * Everything runs in the caller's transaction and reads one SQLite
 * snapshot: the staging server's connection holds one SQLite read
 * transaction for the whole PostgreSQL transaction, and the profile, the
 * counts and the copy all read through it.  The plan function does the
 * same analysis inside a subtransaction that it rolls back, so it leaves
 * nothing behind.
 *
 * Names and expressions from the file are untrusted: identifiers are quoted
 * with quote_identifier(), values are bound or quoted as literals, and
 * expressions go through translate.c's allow-list.  Generated SQL runs under
 * search_path = pg_catalog, pg_temp and names every object with its schema.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "commands/dbcommands.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/progress.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "sqlite_fdw_mig.h"

/* What to do with values the intended type cannot hold. */
typedef enum MismatchAction
{
	MISMATCH_ERROR,
	MISMATCH_WIDEN,
	MISMATCH_QUARANTINE
} MismatchAction;

/* The arguments of migrate_sqlite() and migrate_sqlite_plan(). */
typedef struct MigOptions
{
	char	   *database;
	char	   *target_schema;
	Oid			target_nsp;
	bool		replace;
	MismatchAction on_mismatch;
	List	   *tables;			/* SQLite names (char *), or NIL for all */
	Jsonb	   *type_overrides;
	SqliteDatetimeUnit datetime_numbers;
	bool		preserve_case;
	char	   *owner;
	char	   *options_json;	/* the options, for the history table */
} MigOptions;

typedef struct MigColumn
{
	char	   *sqlite_name;
	char	   *pg_name;
	char	   *decltype;
	char	   *dflt;			/* DEFAULT text from the file, or NULL */
	char	   *collation;		/* declared collation */
	bool		notnull;
	int			pk;				/* position in the primary key, or 0 */
	int			hidden;			/* 0, or 2/3 for generated columns */
	bool		rowid_alias;	/* the INTEGER PRIMARY KEY of a rowid table */
	char	   *intended;		/* PostgreSQL type from the type table */
	Oid			type_oid;		/* the chosen type */
	int32		typmod;
	char	   *type_name;		/* and its SQL name */
	char	   *dflt_sql;		/* translated DEFAULT, or NULL */
	char	   *gen_expr;		/* translated generation expression, or NULL */
	bool		gen_ok;			/* generated in PostgreSQL (else plain) */
	SqliteColumnConv conv;		/* check against the intended type */
	SqliteColumnProfile prof;
	List	   *notes;
} MigColumn;

typedef struct MigIndex
{
	char	   *sqlite_name;
	char	   *pg_name;
	bool		unique;
	char		origin;			/* 'c' CREATE INDEX, 'u' UNIQUE, 'pk' */
	bool		partial;
	char	   *where;			/* translated predicate */
	List	   *cols;			/* int indexes into the table's columns, or
								 * -2 for an expression */
	List	   *exprs;			/* the SQLite text of each expression key, or
								 * NULL for a column */
	List	   *desc;			/* bools (as ints) */
	List	   *nocase;			/* bools (as ints): key compared under NOCASE */
	char	   *skip;			/* why it is not created, or NULL */
	char	   *sql;			/* CREATE INDEX text, or NULL */
} MigIndex;

typedef struct MigFKey
{
	char	   *parent;			/* SQLite parent table */
	List	   *from;			/* SQLite child column names */
	List	   *to;				/* SQLite parent column names, or NIL */
	char	   *on_update;
	char	   *on_delete;
	bool		deferrable;
	bool		initially_deferred;
} MigFKey;

typedef struct MigTable
{
	char	   *sqlite_name;
	char	   *pg_name;
	char	   *sql;			/* CREATE TABLE text from the file */
	bool		has_rowid;
	bool		without_rowid;
	MigColumn  *cols;
	int			ncols;
	List	   *indexes;
	List	   *fkeys;
	int64		seq;			/* sqlite_sequence value, or -1 */
	int64		source_rows;
	int64		target_rows;
	char	   *staging;		/* staging foreign table name */
	bool		quarantine;		/* rows that do not fit go to "rejects" */
	char	   *rejects;		/* the rejects table */
	char	   *staging_rejects;	/* its staging foreign table */
	int64		rejected_rows;
	bool		has_pk;
	List	   *notes;
	Oid			relid;			/* after creation */
} MigTable;

/* Something the report shows that is not a table. */
typedef struct MigOther
{
	char	   *source;
	char	   *target;
	const char *status;
	char	   *detail;
} MigOther;

/* One statement of the plan. */
typedef enum StepKind
{
	STEP_SQL,					/* run it */
	STEP_COPY,					/* run it, compare the row count */
	STEP_REJECTS,				/* run it, check copied + rejected = source */
	STEP_FKEY,					/* count orphans, then add NOT VALID or not */
	STEP_CHECK,					/* count violations, then add NOT VALID or not */
	STEP_VIEW,					/* create a view; a refusal skips it */
	STEP_INDEX,					/* create an index; a refusal is reported */
	STEP_REPLACE,				/* drop what a rerun replaces */
	STEP_GENERATED,				/* keep a column generated if values agree */
	STEP_CREATE					/* create a table (built when run) */
} StepKind;

typedef struct MigStep
{
	StepKind	kind;
	const char *phase;
	MigTable   *table;
	char	   *sql;
	char	   *probe;			/* FKEY/CHECK: counts the violating rows */
	char	   *what;			/* FKEY/CHECK: the constraint, for messages */
	struct MigOther *other;		/* VIEW: its report row */
	MigColumn  *column;			/* GENERATED: the column */
} MigStep;

typedef struct Migration
{
	MigOptions	opts;
	char	   *server;			/* staging server */
	SqliteConn *conn;
	List	   *tables;			/* MigTable *, dependency order */
	List	   *others;			/* MigOther * */
	List	   *steps;			/* MigStep * */
	List	   *used_names;		/* PostgreSQL relation names taken */
	TimestampTz started;
	int64		file_size;
	bool		plan;			/* migrate_sqlite_plan: report, never stop */
} Migration;

PG_FUNCTION_INFO_V1(migrate_sqlite);
PG_FUNCTION_INFO_V1(migrate_sqlite_plan);

static void parse_options(FunctionCallInfo fcinfo, MigOptions *opts);
static void check_privileges(MigOptions *opts);
static void create_staging_server(Migration *m);
static void read_catalog(Migration *m);
static void read_table(Migration *m, MigTable *t);
static void read_indexes(Migration *m, MigTable *t);
static void read_fkeys(Migration *m, MigTable *t);
static void sort_tables(Migration *m);
static List *index_items(const char *sql);
static void assign_names(Migration *m);
static char *unique_name(Migration *m, const char *want, const char *suffix);
static char *pg_name_for(Migration *m, const char *sqlite_name);
static char *server_text(const char *utf8);
static void profile_table(Migration *m, MigTable *t);
static void choose_types(Migration *m, MigTable *t);
static void set_type(MigColumn *c, const char *type_name);
static void infer_type(Migration *m, MigTable *t, MigColumn *c, bool reporting);
static const char *widened_type(SqliteColumnProfile *p, const char *fallback);
static void build_steps(Migration *m);
static void add_step(Migration *m, StepKind kind, const char *phase,
					 MigTable *t, char *sql);
static char *qualified(Migration *m, const char *name);
static bool default_fits(const char *expr, Oid typid, int32 typmod);
static char *sqlite_value_type(void);
static const char *datetime_unit_name(Migration *m);
static void translate_column_exprs(Migration *m, MigTable *t);
static char *create_table_sql(Migration *m, MigTable *t);
static char *insert_sql(Migration *m, MigTable *t);
static List *column_map(MigTable *t);
static char *nocase_key(const char *column);
static void run_generated_step(Migration *m, MigStep *s);
static void run_create_step(Migration *m, MigStep *s);
static int	find_column(MigTable *t, const char *sqlite_name);
static MigTable *find_table(Migration *m, const char *sqlite_name);
static void check_existing(Migration *m, List **drop, List **drop_views);
static Oid	history_nsp = InvalidOid;
static void check_lock_capacity(Migration *m);
static void run_steps(Migration *m);
static void run_guarded_step(Migration *m, MigStep *s);
static int64 spi_count(const char *sql);
static void record_history(Migration *m, Oid func_nsp);
static void emit_report(Migration *m, FunctionCallInfo fcinfo);
static void emit_plan(Migration *m, FunctionCallInfo fcinfo);
static int	spi_run(const char *sql, bool read_only, long count);
static int	spi_run_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
						 const char *nulls, bool read_only, long count);
static char *table_detail(MigTable *t, bool *changed);
static void add_note(List **notes, const char *fmt,...) pg_attribute_printf(2, 3);
static bool is_reserved_column(const char *name);

/* Set only while migrate_sqlite records its run. */
static bool recording_allowed = false;

/* Marks a note that says what was kept, not what changed. */
#define NOTE_KEPT "\x01"

/* Set while a migration copies a table: the FDW scan reports its progress. */
bool		sqlite_copy_progress = false;

/*
 * migrate_sqlite(database, target_schema, if_exists, on_mismatch, tables,
 *				  type_overrides, datetime_numbers, preserve_case, owner)
 */
Datum
migrate_sqlite(PG_FUNCTION_ARGS)
{
	Migration	m;
	int			nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;

	memset(&m, 0, sizeof(m));
	m.started = GetCurrentTimestamp();
	history_nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	parse_options(fcinfo, &m.opts);
	check_privileges(&m.opts);

	/* generated SQL must not depend on the caller's search_path */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	/* our structures must outlive SPI_finish: keep the caller's context */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(oldcxt);

	pgstat_report_activity(STATE_RUNNING, "migrate_sqlite: analysing");
	create_staging_server(&m);
	read_catalog(&m);
	assign_names(&m);
	{
		ListCell   *lc;

		foreach(lc, m.tables)
		{
			profile_table(&m, lfirst(lc));
			choose_types(&m, lfirst(lc));
		}
	}
	check_lock_capacity(&m);
	build_steps(&m);
	run_steps(&m);
	record_history(&m, get_func_namespace(fcinfo->flinfo->fn_oid));

	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	pgstat_report_activity(STATE_RUNNING, "migrate_sqlite: done");

	emit_report(&m, fcinfo);
	return (Datum) 0;
}

/*
 * migrate_sqlite_plan(<same arguments>): the statements migrate_sqlite
 * would run and every finding, without writing anything.
 */
Datum
migrate_sqlite_plan(PG_FUNCTION_ARGS)
{
	Migration	m;
	int			nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ListCell   *lc;

	memset(&m, 0, sizeof(m));
	m.started = GetCurrentTimestamp();
	m.plan = true;
	history_nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	parse_options(fcinfo, &m.opts);
	check_privileges(&m.opts);

	/*
	 * The staging server needed to read the file is created in a
	 * subtransaction that is always rolled back, on success or error.
	 */
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		MemoryContextSwitchTo(oldcxt);

		create_staging_server(&m);
		read_catalog(&m);
		assign_names(&m);
		foreach(lc, m.tables)
		{
			profile_table(&m, lfirst(lc));
			choose_types(&m, lfirst(lc));
		}
		check_lock_capacity(&m);
		build_steps(&m);

		SPI_finish();
		AtEOXact_GUC(true, nestlevel);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	emit_plan(&m, fcinfo);
	return (Datum) 0;
}

/* The plan's rows: the statements in order, then the findings. */
static void
emit_plan(Migration *mp, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo;
	ListCell   *lc;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	/* the statements, in order */
	foreach(lc, mp->steps)
	{
		MigStep    *s = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(++n);
		values[1] = CStringGetTextDatum(s->phase);
		if (s->table)
			values[2] = CStringGetTextDatum(qualified(mp, s->table->pg_name));
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(s->sql);
		if (s->kind == STEP_FKEY || s->kind == STEP_CHECK)
			values[4] = CStringGetTextDatum(psprintf("created NOT VALID if \"%s\" finds rows that violate it",
													 s->probe));
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	/* the findings */
	foreach(lc, mp->tables)
	{
		MigTable   *t = lfirst(lc);
		bool		changed;
		char	   *notes = table_detail(t, &changed);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, true, false};

		if (notes == NULL)
			continue;
		values[0] = Int32GetDatum(++n);
		values[1] = CStringGetTextDatum("finding");
		values[2] = CStringGetTextDatum(qualified(mp, t->pg_name));
		values[4] = CStringGetTextDatum(notes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	foreach(lc, mp->others)
	{
		MigOther   *o = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, true, false};

		values[0] = Int32GetDatum(++n);
		values[1] = CStringGetTextDatum("finding");
		values[2] = CStringGetTextDatum(o->target ? o->target : o->source);
		values[4] = CStringGetTextDatum(psprintf("%s%s%s", o->status,
												 o->detail ? ": " : "",
												 o->detail ? o->detail : ""));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * SPI_execute and SPI_execute_with_args, keeping the current memory
 * context: SPI leaves its own procedure context current, which SPI_finish
 * deletes, and the migration's structures must outlive it.
 */
static int
spi_run(const char *sql, bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute(sql, read_only, count);

	MemoryContextSwitchTo(cxt);
	return rc;
}

static int
spi_run_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
			 const char *nulls, bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls,
										   read_only, count);

	MemoryContextSwitchTo(cxt);
	return rc;
}

/* ---------------------------------------------------------------------
 * Options and privileges
 * ---------------------------------------------------------------------
 */

static void
parse_options(FunctionCallInfo fcinfo, MigOptions *opts)
{
	char	   *if_exists;
	char	   *on_mismatch;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("database must not be null")));
	opts->database = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (opts->database[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("database must be an absolute path, not \"%s\"", opts->database),
				 errhint("Give the full path of the SQLite file on the database server.")));

	opts->target_schema = PG_ARGISNULL(1) ? "public" : NameStr(*PG_GETARG_NAME(1));
	opts->target_nsp = get_namespace_oid(opts->target_schema, false);
	if (isTempOrTempToastNamespace(opts->target_nsp) || IsCatalogNamespace(opts->target_nsp))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("cannot migrate into schema \"%s\"", opts->target_schema)));

	if_exists = PG_ARGISNULL(2) ? "error" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(if_exists, "error") == 0)
		opts->replace = false;
	else if (strcmp(if_exists, "replace") == 0)
		opts->replace = true;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for if_exists: \"%s\"", if_exists),
				 errhint("Valid values are 'error' and 'replace'.")));

	on_mismatch = PG_ARGISNULL(3) ? "error" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (strcmp(on_mismatch, "error") == 0)
		opts->on_mismatch = MISMATCH_ERROR;
	else if (strcmp(on_mismatch, "widen") == 0)
		opts->on_mismatch = MISMATCH_WIDEN;
	else if (strcmp(on_mismatch, "quarantine") == 0)
		opts->on_mismatch = MISMATCH_QUARANTINE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for on_mismatch: \"%s\"", on_mismatch),
				 errhint("Valid values are 'error', 'widen' and 'quarantine'.")));

	opts->tables = NIL;
	if (!PG_ARGISNULL(4))
	{
		Datum	   *elems;
		bool	   *elnulls;
		int			nelems;
		int			i;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(4), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &elnulls, &nelems);
		for (i = 0; i < nelems; i++)
		{
			if (elnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("tables must not contain nulls")));
			opts->tables = lappend(opts->tables, TextDatumGetCString(elems[i]));
		}
	}

	opts->type_overrides = PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5);
	if (opts->type_overrides && !JB_ROOT_IS_OBJECT(opts->type_overrides))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("type_overrides must be a JSON object"),
				 errhint("Write it as '{\"table.column\": \"postgres type\"}'.")));

	opts->datetime_numbers = PG_ARGISNULL(6) ? SQLITE_DT_NONE :
		sqlite_parse_datetime_unit(text_to_cstring(PG_GETARG_TEXT_PP(6)));
	opts->preserve_case = PG_ARGISNULL(7) ? false : PG_GETARG_BOOL(7);
	opts->owner = PG_ARGISNULL(8) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(8)));

	/* the options as given, for the history */
	{
		StringInfoData buf;
		ListCell   *lc;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "{\"target_schema\": ");
		escape_json(&buf, opts->target_schema);
		appendStringInfoString(&buf, ", \"if_exists\": ");
		escape_json(&buf, if_exists);
		appendStringInfoString(&buf, ", \"on_mismatch\": ");
		escape_json(&buf, on_mismatch);
		appendStringInfo(&buf, ", \"preserve_case\": %s, \"tables\": ",
						 opts->preserve_case ? "true" : "false");
		if (opts->tables == NIL)
			appendStringInfoString(&buf, "null");
		else
		{
			appendStringInfoChar(&buf, '[');
			foreach(lc, opts->tables)
			{
				if (foreach_current_index(lc) > 0)
					appendStringInfoString(&buf, ", ");
				escape_json(&buf, lfirst(lc));
			}
			appendStringInfoChar(&buf, ']');
		}
		appendStringInfoString(&buf, ", \"type_overrides\": ");
		if (opts->type_overrides)
			appendStringInfoString(&buf, JsonbToCString(NULL, &opts->type_overrides->root,
														VARSIZE(opts->type_overrides)));
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoString(&buf, ", \"datetime_numbers\": ");
		if (PG_ARGISNULL(6))
			appendStringInfoString(&buf, "null");
		else
			escape_json(&buf, text_to_cstring(PG_GETARG_TEXT_PP(6)));
		appendStringInfoString(&buf, ", \"owner\": ");
		if (opts->owner)
			escape_json(&buf, opts->owner);
		else
			appendStringInfoString(&buf, "null");
		appendStringInfoChar(&buf, '}');
		opts->options_json = buf.data;
	}
}

/*
 * The caller must be allowed to read server files (superuser or
 * pg_read_server_files), may create in the target schema, and may act as
 * the owner role if one is given.
 */
static void
check_privileges(MigOptions *opts)
{
	AclResult	aclresult;

	sqlite_check_read_privilege("migrate a SQLite file");
	/* the staging foreign tables are temporary */
	if (pg_database_aclcheck(MyDatabaseId, GetUserId(), ACL_CREATE_TEMP) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create temporary tables in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errdetail("A migration reads through temporary foreign tables; it needs the TEMPORARY privilege, which PUBLIC has by default.")));
	aclresult = pg_namespace_aclcheck(opts->target_nsp, GetUserId(), ACL_CREATE);
	if (aclresult != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for schema %s", opts->target_schema),
				 errdetail("Migrating into a schema needs CREATE on it.")));
	if (opts->owner)
	{
		Oid			roleid = get_role_oid(opts->owner, false);

		if (!has_privs_of_role(GetUserId(), roleid))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to create objects owned by role \"%s\"",
							opts->owner),
					 errdetail("Only a member of a role can give it ownership.")));
	}
}

/*
 * Create the staging server (unique name per call) and open the file
 * through it.  Its connection's read transaction is the migration's
 * snapshot.
 */
static void
create_staging_server(Migration *m)
{
	static int	counter = 0;
	StringInfoData sql;
	struct stat st;

	m->server = psprintf("sqlite_mig_%d_%d_" INT64_FORMAT, MyProcPid, ++counter,
						 (int64) (GetCurrentTimestamp() % 1000000));
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE SERVER %s FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database %s)",
					 quote_identifier(m->server), quote_literal_cstr(m->opts.database));
	if (spi_run(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create the staging server");
	m->conn = sqlite_get_connection(GetForeignServerByName(m->server, false));
	m->file_size = (stat(m->opts.database, &st) == 0) ? (int64) st.st_size : -1;
}

/* ---------------------------------------------------------------------
 * Reading the SQLite catalog
 * ---------------------------------------------------------------------
 */

/* A palloc'd copy of a TEXT column, or NULL. */
static char *
col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s ? pstrdup((const char *) s) : NULL;
}

/*
 * Read the tables, columns, keys, indexes, foreign keys, sequences, views,
 * triggers and virtual tables of the file, honouring the "tables" option.
 */
static void
read_catalog(Migration *m)
{
	SqliteStmt *st;
	List	   *virtuals = NIL;
	List	   *found = NIL;
	ListCell   *lc;

	st = sqlite_prepare(m->conn,
						"SELECT l.name, l.type, l.wr, s.sql FROM pragma_table_list AS l "
						"LEFT JOIN sqlite_schema AS s ON s.name = l.name AND s.type IN ('table', 'view') "
						"WHERE l.schema = 'main' AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
						"ORDER BY l.name");
	while (sqlite_step(st) == SQLITE_ROW)
	{
		char	   *name = col_text(st->stmt, 0);
		char	   *type = col_text(st->stmt, 1);
		bool		wanted = (m->opts.tables == NIL);

		CHECK_FOR_INTERRUPTS();
		foreach(lc, m->opts.tables)
		{
			if (sqlite3_stricmp(lfirst(lc), name) == 0)
			{
				wanted = true;
				found = lappend(found, lfirst(lc));
			}
		}
		if (strcmp(type, "virtual") == 0)
		{
			virtuals = lappend(virtuals, name);
			if (wanted)
			{
				MigOther   *o = palloc0(sizeof(MigOther));

				o->source = name;
				o->status = "virtual table skipped";
				o->detail = pstrdup("virtual tables (full-text search and others) are not migrated; their data stays in the SQLite file");
				m->others = lappend(m->others, o);
			}
			continue;
		}
		if (strcmp(type, "shadow") == 0 || !wanted)
			continue;
		if (strcmp(type, "view") == 0)
		{
			MigOther   *o = palloc0(sizeof(MigOther));

			o->source = name;
			o->status = "view";
			o->detail = col_text(st->stmt, 3);	/* translated later */
			m->others = lappend(m->others, o);
			continue;
		}
		{
			MigTable   *t = palloc0(sizeof(MigTable));

			t->sqlite_name = name;
			t->without_rowid = sqlite3_column_int(st->stmt, 2) != 0;
			t->has_rowid = !t->without_rowid;
			t->sql = col_text(st->stmt, 3);
			t->seq = -1;
			m->tables = lappend(m->tables, t);
		}
	}
	sqlite_finalize(st);

	foreach(lc, m->opts.tables)
	{
		if (!list_member_ptr(found, lfirst(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("SQLite table \"%s\" does not exist in \"%s\"",
							(char *) lfirst(lc), m->opts.database),
					 errhint("Check the names given in \"tables\".")));
	}

	/* drop the shadow tables of virtual tables SQLite does not know */
	foreach(lc, virtuals)
	{
		const char *vt = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, m->tables)
		{
			MigTable   *t = lfirst(lc2);
			size_t		len = strlen(vt);

			if (strlen(t->sqlite_name) > len &&
				sqlite3_strnicmp(t->sqlite_name, vt, len) == 0 &&
				t->sqlite_name[len] == '_')
				m->tables = foreach_delete_current(m->tables, lc2);
		}
	}

	foreach(lc, m->tables)
		read_table(m, lfirst(lc));
	sort_tables(m);

	/* sqlite_sequence: the AUTOINCREMENT counters */
	st = sqlite_prepare(m->conn,
						"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'");
	if (sqlite_step(st) == SQLITE_ROW)
	{
		sqlite_finalize(st);
		st = sqlite_prepare(m->conn, "SELECT name, seq FROM sqlite_sequence");
		while (sqlite_step(st) == SQLITE_ROW)
		{
			char	   *name = col_text(st->stmt, 0);
			MigTable   *t = name ? find_table(m, name) : NULL;

			if (t && sqlite3_column_type(st->stmt, 1) == SQLITE_INTEGER)
				t->seq = sqlite3_column_int64(st->stmt, 1);
		}
	}
	sqlite_finalize(st);

	/* triggers are reported, never run or translated */
	st = sqlite_prepare(m->conn,
						"SELECT name, tbl_name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name");
	while (sqlite_step(st) == SQLITE_ROW)
	{
		char	   *tbl = col_text(st->stmt, 1);

		if (tbl && (m->opts.tables == NIL || find_table(m, tbl)))
		{
			MigOther   *o = palloc0(sizeof(MigOther));

			o->source = col_text(st->stmt, 0);
			o->status = "trigger not migrated";
			o->detail = psprintf("trigger on table \"%s\"; recreate it in PL/pgSQL if the application needs it",
								 tbl);
			m->others = lappend(m->others, o);
		}
	}
	sqlite_finalize(st);
}

/*
 * Order the tables so that every table comes after the tables its foreign
 * keys reference (a cycle or a self-reference is broken where it closes):
 * the order a reader expects, and the order the report shows.
 */
static void
sort_tables(Migration *m)
{
	List	   *sorted = NIL;
	List	   *left = list_copy(m->tables);

	while (left != NIL)
	{
		ListCell   *lc;
		MigTable   *pick = NULL;

		foreach(lc, left)
		{
			MigTable   *t = lfirst(lc);
			ListCell   *lc2;
			bool		ready = true;

			foreach(lc2, t->fkeys)
			{
				MigTable   *parent = find_table(m, ((MigFKey *) lfirst(lc2))->parent);

				if (parent && parent != t && list_member_ptr(left, parent))
					ready = false;
			}
			if (ready)
			{
				pick = t;
				break;
			}
		}
		if (pick == NULL)
			pick = linitial(left);	/* a cycle: break it here */
		sorted = lappend(sorted, pick);
		left = list_delete_ptr(left, pick);
	}
	m->tables = sorted;
}

/* Read the columns, keys, indexes and foreign keys of one table. */
static void
read_table(Migration *m, MigTable *t)
{
	SqliteStmt *st;
	List	   *cols = NIL;
	int			npk = 0;
	int			i;
	ListCell   *lc;

	st = sqlite_prepare(m->conn,
						"SELECT name, type, \"notnull\", dflt_value, pk, hidden "
						"FROM pragma_table_xinfo(?1) WHERE hidden <> 1 ORDER BY cid");
	sqlite3_bind_text(st->stmt, 1, t->sqlite_name, -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		MigColumn  *c = palloc0(sizeof(MigColumn));
		const char *collseq = NULL;
		const char *dtype = NULL;
		int			nn,
					pk,
					autoinc;

		c->sqlite_name = col_text(st->stmt, 0);
		c->decltype = col_text(st->stmt, 1);
		c->notnull = sqlite3_column_int(st->stmt, 2) != 0;
		c->dflt = col_text(st->stmt, 3);
		c->pk = sqlite3_column_int(st->stmt, 4);
		c->hidden = sqlite3_column_int(st->stmt, 5);
		if (c->pk > 0)
			npk++;
		if (c->sqlite_name &&
			sqlite3_table_column_metadata(sqlite_conn_handle(m->conn), "main",
										  t->sqlite_name, c->sqlite_name,
										  &dtype, &collseq, &nn, &pk,
										  &autoinc) == SQLITE_OK &&
			collseq)
			c->collation = pstrdup(collseq);
		cols = lappend(cols, c);
	}
	sqlite_finalize(st);

	t->ncols = list_length(cols);
	t->cols = palloc0(sizeof(MigColumn) * Max(t->ncols, 1));
	i = 0;
	foreach(lc, cols)
		t->cols[i++] = *(MigColumn *) lfirst(lc);

	/* the INTEGER PRIMARY KEY of a rowid table is the rowid itself */
	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];

		if (t->has_rowid && npk == 1 && c->pk == 1 && c->decltype &&
			pg_strcasecmp(c->decltype, "INTEGER") == 0)
		{
			c->rowid_alias = true;
			c->notnull = true;
		}
		if (t->without_rowid && c->pk > 0)
			c->notnull = true;
	}
	t->has_pk = (npk > 0);

	read_indexes(m, t);
	read_fkeys(m, t);
}

/* Find the top-level WHERE of a CREATE INDEX text: the partial predicate. */
static char *
index_where(const char *sql)
{
	const char *p = sql;
	int			depth = 0;
	bool		seen_list = false;

	while (p && *p)
	{
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[')
		{
			char		close = (*p == '[') ? ']' : *p;

			p++;
			while (*p && *p != close)
				p++;
			if (*p)
				p++;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')')
		{
			if (--depth == 0)
				seen_list = true;
		}
		else if (depth == 0 && seen_list && pg_strncasecmp(p, "where", 5) == 0 &&
				 (p == sql || !isalnum((unsigned char) p[-1])) &&
				 !isalnum((unsigned char) p[5]) && p[5] != '_')
		{
			char	   *w = pstrdup(p + 5);
			int			len = strlen(w);

			while (len > 0 && (w[len - 1] == ';' || isspace((unsigned char) w[len - 1])))
				w[--len] = '\0';
			return w;
		}
		p++;
	}
	return NULL;
}

/*
 * The key items of a CREATE INDEX text, each without a trailing COLLATE,
 * ASC or DESC: the text of each indexed expression, in order.  NIL when
 * the text cannot be split.
 */
static List *
index_items(const char *sql)
{
	const char *p = sql;
	const char *start = NULL;
	int			depth = 0;
	List	   *items = NIL;

	while (p && *p)
	{
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[')
		{
			char		close = (*p == '[') ? ']' : *p;

			p++;
			while (*p && *p != close)
				p++;
			if (*p)
				p++;
			continue;
		}
		if (*p == '(')
		{
			if (depth++ == 0)
				start = p + 1;
		}
		else if ((*p == ',' && depth == 1) || (*p == ')' && depth == 1))
		{
			char	   *item = pnstrdup(start, p - start);
			char	   *w;
			int			len;

			/* drop a trailing ASC/DESC, then COLLATE name */
			for (;;)
			{
				len = strlen(item);
				while (len > 0 && isspace((unsigned char) item[len - 1]))
					item[--len] = '\0';
				w = item + len;
				while (w > item && (isalnum((unsigned char) w[-1]) || w[-1] == '_'))
					w--;
				if (w > item && (pg_strcasecmp(w, "ASC") == 0 || pg_strcasecmp(w, "DESC") == 0) &&
					isspace((unsigned char) w[-1]))
				{
					*w = '\0';
					continue;
				}
				if (w > item && isspace((unsigned char) w[-1]))
				{
					char	   *c = w - 1;

					while (c > item && isspace((unsigned char) c[-1]))
						c--;
					if (c - item >= 7 && pg_strncasecmp(c - 7, "COLLATE", 7) == 0)
					{
						c[-7] = '\0';
						continue;
					}
				}
				break;
			}
			items = lappend(items, item);
			if (*p == ')')
				return items;
			start = p + 1;
		}
		else if (*p == ')')
			depth--;
		p++;
	}
	return NIL;
}

/* Read the indexes of a table (including UNIQUE constraints). */
static void
read_indexes(Migration *m, MigTable *t)
{
	SqliteStmt *st;
	List	   *idx = NIL;
	ListCell   *lc;

	st = sqlite_prepare(m->conn,
						"SELECT l.name, l.\"unique\", l.origin, l.partial, s.sql "
						"FROM pragma_index_list(?1) AS l "
						"LEFT JOIN sqlite_schema AS s ON s.type = 'index' AND s.name = l.name "
						"ORDER BY l.seq DESC");
	sqlite3_bind_text(st->stmt, 1, t->sqlite_name, -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		MigIndex   *ix = palloc0(sizeof(MigIndex));
		char	   *origin = col_text(st->stmt, 2);
		char	   *sql = col_text(st->stmt, 4);

		ix->sqlite_name = col_text(st->stmt, 0);
		ix->unique = sqlite3_column_int(st->stmt, 1) != 0;
		ix->origin = (origin && strcmp(origin, "pk") == 0) ? 'p' :
			(origin && origin[0] == 'u') ? 'u' : 'c';
		ix->partial = sqlite3_column_int(st->stmt, 3) != 0;
		ix->sql = sql;
		if (ix->partial)
			ix->where = index_where(sql);
		idx = lappend(idx, ix);
	}
	sqlite_finalize(st);

	foreach(lc, idx)
	{
		MigIndex   *ix = lfirst(lc);
		List	   *items = index_items(ix->sql);

		st = sqlite_prepare(m->conn,
							"SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo(?1) "
							"WHERE key = 1 ORDER BY seqno");
		sqlite3_bind_text(st->stmt, 1, ix->sqlite_name, -1, SQLITE_TRANSIENT);
		while (sqlite_step(st) == SQLITE_ROW)
		{
			int			cid = sqlite3_column_int(st->stmt, 0);
			char	   *name = col_text(st->stmt, 1);
			char	   *coll = col_text(st->stmt, 3);

			if (cid == -2)
			{
				/* an expression: its text is the key's item in CREATE INDEX */
				int			k = list_length(ix->cols);

				ix->cols = lappend_int(ix->cols, -2);
				ix->exprs = lappend(ix->exprs,
									k < list_length(items) ? list_nth(items, k) : NULL);
				if (k >= list_length(items) && ix->skip == NULL)
					ix->skip = pstrdup("its expression was not found in its definition");
			}
			else if (cid < 0 || name == NULL)
			{
				ix->skip = pstrdup("it indexes the rowid");
				ix->cols = lappend_int(ix->cols, -1);
				ix->exprs = lappend(ix->exprs, NULL);
			}
			else
			{
				ix->cols = lappend_int(ix->cols, find_column(t, name));
				ix->exprs = lappend(ix->exprs, NULL);
			}
			ix->desc = lappend_int(ix->desc, sqlite3_column_int(st->stmt, 2));
			ix->nocase = lappend_int(ix->nocase,
									 coll && pg_strcasecmp(coll, "NOCASE") == 0);
			if (coll && pg_strcasecmp(coll, "NOCASE") == 0 && cid < 0 && ix->skip == NULL)
				ix->skip = pstrdup("it indexes an expression under COLLATE NOCASE");
			else if (coll && pg_strcasecmp(coll, "BINARY") != 0 &&
					 pg_strcasecmp(coll, "NOCASE") != 0 && ix->skip == NULL)
				ix->skip = psprintf("it uses COLLATE %s, whose meaning PostgreSQL has no exact equivalent for", coll);
		}
		sqlite_finalize(st);
		if (ix->origin != 'p')
			t->indexes = lappend(t->indexes, ix);
	}
}

/* Read the foreign keys of a table, one MigFKey per constraint. */
static void
read_fkeys(Migration *m, MigTable *t)
{
	SqliteStmt *st;
	MigFKey    *fk = NULL;
	int			last_id = -1;

	st = sqlite_prepare(m->conn,
						"SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
						"FROM pragma_foreign_key_list(?1) ORDER BY id, seq");
	sqlite3_bind_text(st->stmt, 1, t->sqlite_name, -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		int			id = sqlite3_column_int(st->stmt, 0);
		char	   *to = col_text(st->stmt, 3);

		if (id != last_id)
		{
			fk = palloc0(sizeof(MigFKey));
			fk->parent = col_text(st->stmt, 1);
			fk->on_update = col_text(st->stmt, 4);
			fk->on_delete = col_text(st->stmt, 5);
			t->fkeys = lappend(t->fkeys, fk);
			last_id = id;
		}
		fk->from = lappend(fk->from, col_text(st->stmt, 2));
		if (to)
			fk->to = lappend(fk->to, to);
	}
	sqlite_finalize(st);
}

static int
find_column(MigTable *t, const char *sqlite_name)
{
	int			i;

	for (i = 0; i < t->ncols; i++)
		if (sqlite3_stricmp(t->cols[i].sqlite_name, sqlite_name) == 0)
			return i;
	return -1;
}

static MigTable *
find_table(Migration *m, const char *sqlite_name)
{
	ListCell   *lc;

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		if (sqlite3_stricmp(t->sqlite_name, sqlite_name) == 0)
			return t;
	}
	return NULL;
}

/* A string read from SQLite (UTF-8) in the database encoding, for SQL. */
static char *
server_text(const char *utf8)
{
	return pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
}

/* ---------------------------------------------------------------------
 * Names
 * ---------------------------------------------------------------------
 */

/*
 * A SQLite name as a PostgreSQL name: folded to lower case unless
 * preserve_case, in the database encoding, at most 63 bytes.  Raises an
 * ERROR for a name that is not UTF-8.
 */
static char *
pg_name_for(Migration *m, const char *sqlite_name)
{
	int			len = strlen(sqlite_name);
	char	   *name;

	if (!pg_verify_mbstr(PG_UTF8, sqlite_name, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("SQLite name \"%s\" is not valid UTF-8",
						sqlite_printable(sqlite_name, len, 60))));
	name = pg_any_to_server(sqlite_name, len, PG_UTF8);
	if (!m->opts.preserve_case)
	{
		char	   *lower = pstrdup(name);
		char	   *p;

		/* fold ASCII letters only, as PostgreSQL folds unquoted names */
		for (p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		name = lower;
	}
	return sqlite_shorten_name(name);
}

/*
 * "want", made distinct from every relation name this migration uses, by
 * a numeric suffix if needed.
 */
static char *
unique_name(Migration *m, const char *want, const char *suffix)
{
	char	   *name = suffix ? psprintf("%s_%s", want, suffix) : pstrdup(want);
	int			n = 1;

	name = sqlite_shorten_name(name);
	for (;;)
	{
		ListCell   *lc;
		bool		taken = false;

		foreach(lc, m->used_names)
			if (strcmp(lfirst(lc), name) == 0)
				taken = true;
		if (!taken)
			break;
		name = sqlite_shorten_name(psprintf("%s_%d", want, ++n));
	}
	m->used_names = lappend(m->used_names, name);
	return name;
}

static bool
is_reserved_column(const char *name)
{
	static const char *const sys[] = {
		"oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid", NULL
	};
	int			i;

	for (i = 0; sys[i]; i++)
		if (strcmp(name, sys[i]) == 0)
			return true;
	return false;
}

/* Give every table, column and index its PostgreSQL name; note renames. */
static void
assign_names(Migration *m)
{
	ListCell   *lc;

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		char	   *want = pg_name_for(m, t->sqlite_name);
		int			i;

		t->pg_name = unique_name(m, want, NULL);
		if (strcmp(t->pg_name, t->sqlite_name) != 0 &&
			!(strcmp(t->pg_name, want) == 0 && !m->opts.preserve_case &&
			  pg_strcasecmp(want, t->sqlite_name) == 0))
			add_note(&t->notes, "table renamed from \"%s\"", t->sqlite_name);

		for (i = 0; i < t->ncols; i++)
		{
			MigColumn  *c = &t->cols[i];
			char	   *name = pg_name_for(m, c->sqlite_name);
			int			j;
			int			n = 1;
			char	   *base = name;

			if (is_reserved_column(name))
				base = name = psprintf("%s_", name);
			/* distinct within the table */
			for (;;)
			{
				bool		taken = false;

				for (j = 0; j < i; j++)
					if (strcmp(t->cols[j].pg_name, name) == 0)
						taken = true;
				if (!taken)
					break;
				name = sqlite_shorten_name(psprintf("%s_%d", base, ++n));
			}
			c->pg_name = name;
			if (strcmp(name, c->sqlite_name) != 0 &&
				!(pg_strcasecmp(name, c->sqlite_name) == 0 && !m->opts.preserve_case))
				add_note(&c->notes, "renamed from \"%s\"", c->sqlite_name);
		}
	}
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		ListCell   *lc2;

		t->staging = psprintf("%s_%d", m->server, foreach_current_index(lc));
		foreach(lc2, t->indexes)
		{
			MigIndex   *ix = lfirst(lc2);
			StringInfoData want;
			ListCell   *lc3;

			initStringInfo(&want);
			appendStringInfoString(&want, t->pg_name);
			foreach(lc3, ix->cols)
				if (lfirst_int(lc3) >= 0)
					appendStringInfo(&want, "_%s", t->cols[lfirst_int(lc3)].pg_name);
			ix->pg_name = unique_name(m, want.data, ix->unique ? "key" : "idx");
		}
	}
}

/* ---------------------------------------------------------------------
 * Profile and types
 * ---------------------------------------------------------------------
 */

/* The type_overrides entry for table.column, or NULL. */
static char *
type_override(Migration *m, MigTable *t, MigColumn *c)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *result = NULL;
	char	   *key = NULL;

	if (m->opts.type_overrides == NULL)
		return NULL;
	it = JsonbIteratorInit(&m->opts.type_overrides->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && key)
		{
			char	   *dot = strrchr(key, '.');

			if (dot && pg_strncasecmp(key, t->sqlite_name, dot - key) == 0 &&
				strlen(t->sqlite_name) == (size_t) (dot - key) &&
				sqlite3_stricmp(dot + 1, c->sqlite_name) == 0)
			{
				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("type_overrides entry \"%s\" must be a string", key)));
				result = pnstrdup(v.val.string.val, v.val.string.len);
			}
		}
	}
	return result;
}

/* Set a column's chosen type from a type name. */
static void
set_type(MigColumn *c, const char *type_name)
{
	parseTypeString(type_name, &c->type_oid, &c->typmod, false);
	c->type_name = format_type_with_typemod(c->type_oid, c->typmod);
}

/*
 * Read every row of a table once and profile each column against its
 * intended type.  The count of rows is the source count the copy is
 * checked against: both read the migration's one snapshot.
 */
static void
profile_table(Migration *m, MigTable *t)
{
	StringInfoData sql;
	SqliteStmt *st;
	MemoryContext rowcxt;
	MemoryContext old;
	int			i;
	int64		rows = 0;

	/* _rowid_ may be a real column name: then there is no rowid to show */
	for (i = 0; i < t->ncols; i++)
		if (pg_strcasecmp(t->cols[i].sqlite_name, "_rowid_") == 0)
			t->has_rowid = false;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	appendStringInfoString(&sql, t->has_rowid ? "_rowid_" : "NULL");
	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];
		char	   *override = type_override(m, t, c);
		Oid			typid;
		int32		typmod;

		appendStringInfoString(&sql, ", ");
		sqlite_append_ident_utf8(&sql, c->sqlite_name);

		if (override)
		{
			c->intended = override;
			add_note(&c->notes, "type %s from type_overrides", override);
		}
		else if (c->rowid_alias)
			c->intended = pstrdup("bigint");
		else if (c->decltype == NULL || c->decltype[0] == '\0' ||
				 pg_strcasecmp(c->decltype, "ANY") == 0)
			c->intended = NULL; /* chosen by the values */
		else
			c->intended = sqlite_map_declared_type(c->decltype);

		parseTypeString(c->intended ? c->intended : "text", &typid, &typmod, false);
		sqlite_conv_init(&c->conv, typid, typmod, m->opts.datetime_numbers,
						 CurrentMemoryContext);
		sqlite_profile_init(&c->prof);
	}
	appendStringInfoString(&sql, " FROM \"main\".");
	sqlite_append_ident_utf8(&sql, t->sqlite_name);

	st = sqlite_prepare(m->conn, sql.data);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "sqlite_fdw_mig profile",
								   ALLOCSET_DEFAULT_SIZES);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rowcxt);
		for (i = 0; i < t->ncols; i++)
			sqlite_profile_value(&t->cols[i].prof, &t->cols[i].conv, st->stmt,
								 i + 1, t->has_rowid);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
		rows++;
	}
	sqlite_finalize(st);
	MemoryContextDelete(rowcxt);
	t->source_rows = rows;
}

/*
 * Choose the type of every column of "t" by the type rule: the intended
 * type, widened where that changes no value; a mismatch is an ERROR, or,
 * with on_mismatch => 'widen', the narrowest type that holds every value.
 */
static void
choose_types(Migration *m, MigTable *t)
{
	int			i;

	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];
		SqliteColumnProfile *p = &c->prof;

		if (c->intended == NULL)
		{
			infer_type(m, t, c, false);
			continue;
		}

		if (p->n_mismatch > 0)
		{
			char	   *example = p->example_has_rowid ?
				psprintf("rowid " INT64_FORMAT ": %s", p->example_rowid, p->example) :
				p->example;
			bool		numbers_in_dates =
				(c->conv.kind == CONV_DATE || c->conv.kind == CONV_TIMESTAMP ||
				 c->conv.kind == CONV_TIMESTAMPTZ) &&
				m->opts.datetime_numbers == SQLITE_DT_NONE &&
				(p->n_int > 0 || p->n_real > 0);

			if (m->opts.on_mismatch == MISMATCH_ERROR && m->plan)
			{
				/* the plan reports what migrate_sqlite would stop on */
				add_note(&t->notes, "column \"%s\": " INT64_FORMAT " %s not fit %s, for example %s; migrate_sqlite would stop here: use %s",
						 c->sqlite_name, p->n_mismatch,
						 p->n_mismatch == 1 ? "value does" : "values do",
						 c->intended, p->example,
						 numbers_in_dates ? "datetime_numbers, on_mismatch => 'widen' or 'quarantine', or type_overrides" :
						 "on_mismatch => 'widen' or 'quarantine', or type_overrides");
				infer_type(m, t, c, false);
				continue;
			}
			if (m->opts.on_mismatch == MISMATCH_ERROR && numbers_in_dates)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("column \"%s\" of SQLite table \"%s\" holds numbers where type %s expects dates",
								c->sqlite_name, t->sqlite_name, c->intended),
						 errdetail_plural("%lld value differs, for example %s.",
										  "%lld values differ, for example %s.",
										  (unsigned long) p->n_mismatch,
										  (long long) p->n_mismatch, example),
						 errhint("Nothing was written. If the numbers are times, say what they count with datetime_numbers => 'unixepoch', 'unixepoch_ms' or 'julianday'; otherwise use on_mismatch => 'widen' or 'quarantine', or type_overrides.")));
			if (m->opts.on_mismatch == MISMATCH_ERROR)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_EXCEPTION),
						 errmsg("column \"%s\" of SQLite table \"%s\" holds values that type %s cannot represent",
								c->sqlite_name, t->sqlite_name, c->intended),
						 errdetail_plural("%lld value differs, for example %s.",
										  "%lld values differ, for example %s.",
										  (unsigned long) p->n_mismatch,
										  (long long) p->n_mismatch, example),
						 errhint("Nothing was written. Use on_mismatch => 'widen' to give the column a type that holds every value, on_mismatch => 'quarantine' to move the rows that do not fit to a rejects table, or type_overrides => '{\"%s.%s\": \"%s\"}' to choose a type.",
								 t->sqlite_name, c->sqlite_name,
								 widened_type(p, "text") ? widened_type(p, "text") : "text")));
			if (m->opts.on_mismatch == MISMATCH_WIDEN)
			{
				infer_type(m, t, c, true);
				continue;
			}
			/* quarantine: keep the type; the rows go to the rejects table */
			t->quarantine = true;
			add_note(&c->notes, INT64_FORMAT " %s not fit %s, for example %s; %s moved to the rejects table",
					 p->n_mismatch, p->n_mismatch == 1 ? "value does" : "values do",
					 c->intended, p->example, p->n_mismatch == 1 ? "its row is" : "their rows are");
		}

		set_type(c, c->intended);

		/* widening that changes no value */
		switch (c->conv.kind)
		{
			case CONV_INT2:
			case CONV_INT4:
				if (p->n_real > 0 ||
					(p->int_min <= p->int_max &&
					 (p->int_min < (c->conv.kind == CONV_INT2 ? PG_INT16_MIN : PG_INT32_MIN) ||
					  p->int_max > (c->conv.kind == CONV_INT2 ? PG_INT16_MAX : PG_INT32_MAX))))
				{
					const char *wider = (p->n_real == 0 && p->int_min >= PG_INT32_MIN &&
										 p->int_max <= PG_INT32_MAX) ? "integer" : "bigint";

					add_note(&c->notes, "widened from %s to %s: values from " INT64_FORMAT " to " INT64_FORMAT,
							 c->type_name, wider, p->int_min, p->int_max);
					set_type(c, wider);
				}
				break;
			case CONV_NUMERIC:
				if (c->conv.basetypmod >= (int32) VARHDRSZ)
				{
					int			prec = ((c->conv.basetypmod - VARHDRSZ) >> 16) & 0xffff;
					int			scale = (c->conv.basetypmod - VARHDRSZ) & 0xffff;

					if (p->nonfinite || p->max_scale > scale ||
						p->max_int_digits > prec - scale)
					{
						add_note(&c->notes, "widened from %s to numeric: values need %d digits before and %d after the point%s",
								 c->type_name, p->max_int_digits, p->max_scale,
								 p->nonfinite ? ", or are infinite" : "");
						set_type(c, "numeric");
					}
				}
				break;
			case CONV_TEXT:
				if (c->conv.maxchars >= 0 && p->max_chars > c->conv.maxchars)
				{
					add_note(&c->notes, "widened from %s to text: values up to " INT64_FORMAT " characters",
							 c->type_name, p->max_chars);
					set_type(c, "text");
				}
				break;
			case CONV_DATE:
				if (p->dt_time)
				{
					const char *wider = p->dt_offset ? "timestamp with time zone" :
						"timestamp without time zone";

					add_note(&c->notes, "widened from date to %s: values have a time of day", wider);
					set_type(c, wider);
				}
				break;
			case CONV_TIMESTAMP:
				if (p->dt_offset)
				{
					add_note(&c->notes, "widened from timestamp to timestamp with time zone: values have UTC offsets (naive values read as UTC)");
					set_type(c, "timestamp with time zone");
				}
				break;
			case CONV_INPUT:
				if (c->conv.basetypid == JSONOID)
				{
					if (!p->json_lossy)
					{
						add_note(&c->notes, "%sjson stored as jsonb: every value is JSON that jsonb keeps", NOTE_KEPT);
						set_type(c, "jsonb");
					}
					else
						add_note(&c->notes, "kept as json: some values have duplicate keys or \\u0000, which jsonb would change");
				}
				break;
			default:
				break;
		}
		if (m->opts.datetime_numbers != SQLITE_DT_NONE &&
			(p->n_int > 0 || p->n_real > 0) &&
			(c->conv.kind == CONV_DATE || c->conv.kind == CONV_TIMESTAMP ||
			 c->conv.kind == CONV_TIMESTAMPTZ))
			add_note(&c->notes, "numbers read as %s",
					 m->opts.datetime_numbers == SQLITE_DT_UNIXEPOCH ? "Unix seconds" :
					 m->opts.datetime_numbers == SQLITE_DT_UNIXEPOCH_MS ? "Unix milliseconds" :
					 "Julian days");
	}
}

/*
 * The narrowest type that holds every value of a profiled column exactly:
 * whole numbers → bigint, numbers → double precision or numeric, text →
 * text, non-text bytes → bytea; NULL when no type holds them all (numbers
 * mixed with non-text bytes), "fallback" when there are no values.
 */
static const char *
widened_type(SqliteColumnProfile *p, const char *fallback)
{
	bool		numbers = (p->n_int > 0 || p->n_real > 0);
	bool		bytes = (p->n_blob > 0 || p->n_text_bad > 0);

	if (bytes && numbers)
		return NULL;
	if (bytes)
		return "bytea";
	if (p->n_text > 0)
		return "text";
	if (p->n_real == 0 && p->n_int > 0)
		return "bigint";
	if (p->n_real > 0 && p->real_integral && !p->nonfinite)
		return "bigint";
	if (p->n_real > 0 && !p->big_int)
		return "double precision";
	if (p->n_real > 0)
		return "numeric";
	return fallback ? fallback : "text";
}

/*
 * Give a column the widened type of its values.  "reporting" adds the note
 * for a widened mismatch.
 */
static void
infer_type(Migration *m, MigTable *t, MigColumn *c, bool reporting)
{
	SqliteColumnProfile *p = &c->prof;
	const char *type = widened_type(p, c->intended);

	if (type == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("column \"%s\" of SQLite table \"%s\" holds both numbers and non-text bytes",
						c->sqlite_name, t->sqlite_name),
				 errdetail("No PostgreSQL type holds both exactly: " INT64_FORMAT " integers, " INT64_FORMAT " reals, " INT64_FORMAT " blobs, " INT64_FORMAT " texts that are not UTF-8.",
						   p->n_int, p->n_real, p->n_blob, p->n_text_bad),
				 errhint("Nothing was written. Fix the values in SQLite, or migrate the other tables with \"tables\".")));
	if (reporting)
		add_note(&c->notes, "widened from %s to %s: " INT64_FORMAT " %s not fit %s, for example %s",
				 c->intended, type, p->n_mismatch,
				 p->n_mismatch == 1 ? "value does" : "values do", c->intended, p->example);
	else if (c->intended == NULL && (c->decltype == NULL || c->decltype[0] == '\0'))
		add_note(&c->notes, "no declared type: %s chosen from the values", type);
	set_type(c, type);
	/* the copy converts with the chosen type's rules */
	sqlite_conv_init(&c->conv, c->type_oid, c->typmod, m->opts.datetime_numbers,
					 CurrentMemoryContext);
}

/* ---------------------------------------------------------------------
 * The plan
 * ---------------------------------------------------------------------
 */

static char *
qualified(Migration *m, const char *name)
{
	return quote_qualified_identifier(m->opts.target_schema, name);
}

static void
add_step(Migration *m, StepKind kind, const char *phase, MigTable *t, char *sql)
{
	MigStep    *s = palloc0(sizeof(MigStep));

	s->kind = kind;
	s->phase = phase;
	s->table = t;
	s->sql = sql;
	m->steps = lappend(m->steps, s);
}

/* The column list of columns "cols" (indexes) of t, quoted. */
static char *
column_list(MigTable *t, List *cols, List *desc)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, cols)
	{
		int			i = lfirst_int(lc);

		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(t->cols[i].pg_name));
		if (desc && list_nth_int(desc, foreach_current_index(lc)))
			appendStringInfoString(&buf, " DESC");
	}
	return buf.data;
}

/*
 * Would PostgreSQL accept translated expression "expr" as the DEFAULT of a
 * column of type typid/typmod?  Parse analysis only, in a subtransaction
 * so that its error is caught: nothing is executed (a literal is read by
 * its type's input function, as CREATE TABLE would).
 */
static bool
default_fits(const char *expr, Oid typid, int32 typmod)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		List	   *raw = raw_parser(psprintf("SELECT %s", expr), RAW_PARSE_DEFAULT);
		SelectStmt *sel = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
		ResTarget  *rt = linitial_node(ResTarget, sel->targetList);
		ParseState *pstate = make_parsestate(NULL);
		Node	   *e = transformExpr(pstate, rt->val, EXPR_KIND_COLUMN_DEFAULT);

		ok = coerce_to_target_type(pstate, e, exprType(e), typid, typmod,
								   COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST,
								   -1) != NULL;
		free_parsestate(pstate);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return ok;
}

/* The datetime_unit option value for the migration's datetime_numbers. */
static const char *
datetime_unit_name(Migration *m)
{
	switch (m->opts.datetime_numbers)
	{
		case SQLITE_DT_UNIXEPOCH:
			return "unixepoch";
		case SQLITE_DT_UNIXEPOCH_MS:
			return "unixepoch_ms";
		case SQLITE_DT_JULIANDAY:
			return "julianday";
		default:
			return NULL;
	}
}

/* The extension's sqlite_value type, qualified. */
static char *
sqlite_value_type(void)
{
	return psprintf("%s.sqlite_value", quote_identifier(get_namespace_name(history_nsp)));
}

/*
 * Translate the DEFAULT and the generated-column expression of every
 * column of "t", noting those that do not translate.
 */
static void
translate_column_exprs(Migration *m, MigTable *t)
{
	List	   *colmap = column_map(t);
	List	   *generated = t->sql ? sqlite_extract_generated(t->sql) : NIL;
	int			i;

	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];
		char	   *reason = NULL;

		if (c->notnull && c->prof.n_null > 0)
			add_note(&c->notes, "NOT NULL not kept: " INT64_FORMAT " rows hold NULL",
					 c->prof.n_null);
		if (c->collation && pg_strcasecmp(c->collation, "NOCASE") == 0)
			add_note(&c->notes, "COLLATE NOCASE: PostgreSQL compares this column case-sensitively; its unique keys and indexes fold ASCII letters as SQLite does");
		else if (c->collation && pg_strcasecmp(c->collation, "BINARY") != 0)
			add_note(&c->notes, "COLLATE %s not kept: PostgreSQL compares this column with the database collation",
					 c->collation);

		if (c->dflt && !c->rowid_alias)
		{
			char	   *expr = sqlite_translate_expr(c->dflt, SQLITE_EXPR_DEFAULT,
													 c->type_oid, colmap, &reason);

			if (expr && !default_fits(expr, c->type_oid, c->typmod))
			{
				expr = NULL;
				reason = psprintf("PostgreSQL cannot assign it to type %s", c->type_name);
			}
			if (expr)
				c->dflt_sql = expr;
			else
				add_note(&c->notes, "DEFAULT %s not migrated: %s", c->dflt, reason);
		}

		if (c->hidden == 2 || c->hidden == 3)
		{
			ListCell   *lc;
			char	   *text = NULL;

			foreach(lc, generated)
			{
				SqliteTableExpr *te = lfirst(lc);

				if (te->column && sqlite3_stricmp(te->column, c->sqlite_name) == 0)
					text = te->expr;
			}
			if (text)
				c->gen_expr = sqlite_translate_expr(text, SQLITE_EXPR_GENERATED,
													c->type_oid, colmap, &reason);
			if (c->gen_expr)
				c->gen_ok = true;
			else
				add_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: %s",
						 text ? reason : "its expression was not found");
		}
	}
}

/* The CREATE TABLE of "t", with the generated columns that are kept. */
static char *
create_table_sql(Migration *m, MigTable *t)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (", qualified(m, t->pg_name));
	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];

		appendStringInfo(&buf, "%s\n    %s %s", i ? "," : "",
						 quote_identifier(c->pg_name), c->type_name);
		if (c->rowid_alias && (c->type_oid == INT8OID || c->type_oid == INT4OID ||
							   c->type_oid == INT2OID))
			appendStringInfoString(&buf, " GENERATED BY DEFAULT AS IDENTITY");
		else if (c->gen_ok)
			appendStringInfo(&buf, " GENERATED ALWAYS AS (%s) STORED", c->gen_expr);
		else if (c->dflt_sql)
			appendStringInfo(&buf, " DEFAULT %s", c->dflt_sql);
		if (c->notnull && c->prof.n_null == 0)
			appendStringInfoString(&buf, " NOT NULL");
	}
	appendStringInfoString(&buf, "\n)");
	return buf.data;
}

/* The INSERT ... SELECT that copies "t", leaving out generated columns. */
static char *
insert_sql(Migration *m, MigTable *t)
{
	StringInfoData cols;
	int			i;

	initStringInfo(&cols);
	for (i = 0; i < t->ncols; i++)
	{
		if (t->cols[i].gen_ok)
			continue;
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
						 quote_identifier(t->cols[i].pg_name));
	}
	return psprintf("INSERT INTO %s (%s) SELECT %s FROM pg_temp.%s",
					qualified(m, t->pg_name), cols.data, cols.data,
					quote_identifier(t->staging));
}

/*
 * An index key that compares "column" as SQLite's NOCASE does: with the
 * ASCII letters A-Z folded to lower case, and nothing else.
 */
static char *
nocase_key(const char *column)
{
	return psprintf("pg_catalog.translate(%s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
					quote_identifier(column));
}

/* The SQLite column names map of a table, for translate.c. */
static List *
column_map(MigTable *t)
{
	List	   *map = NIL;
	int			i;

	for (i = 0; i < t->ncols; i++)
	{
		SqliteNameMap *nm;

		/*
		 * Under NOCASE or RTRIM, = means something else in SQLite: an
		 * expression on such a column is not translated (it names an
		 * unknown column).
		 */
		if (t->cols[i].collation && pg_strcasecmp(t->cols[i].collation, "BINARY") != 0)
			continue;
		nm = palloc0(sizeof(SqliteNameMap));
		nm->sqlite_name = t->cols[i].sqlite_name;
		nm->pg_name = t->cols[i].pg_name;
		nm->pg_type = t->cols[i].type_oid;
		map = lappend(map, nm);
	}
	return map;
}

/*
 * Build every statement of the migration, in order: drop what a rerun
 * replaces, create the tables and the staging foreign tables, copy, add
 * keys, indexes, checks and foreign keys, set the identity sequences,
 * create views, ANALYZE, drop the staging objects.
 */
static void
build_steps(Migration *m)
{
	ListCell   *lc;
	List	   *drop = NIL;
	List	   *drop_views = NIL;
	StringInfoData buf;

	/* the rejects tables of quarantined tables */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		if (!t->quarantine)
			continue;
		t->rejects = unique_name(m, t->pg_name, "rejects");
		t->staging_rejects = psprintf("%s_r", t->staging);
	}

	check_existing(m, &drop, &drop_views);
	if (drop != NIL)
	{
		initStringInfo(&buf);
		if (drop_views != NIL)
		{
			/* already qualified and quoted, as recorded */
			appendStringInfoString(&buf, "DROP VIEW ");
			foreach(lc, drop_views)
				appendStringInfo(&buf, "%s%s", foreach_current_index(lc) ? ", " : "",
								 (char *) lfirst(lc));
			appendStringInfoString(&buf, "; ");
		}
		appendStringInfoString(&buf, "DROP TABLE ");
		foreach(lc, drop)
			appendStringInfo(&buf, "%s%s", foreach_current_index(lc) ? ", " : "",
							 qualified(m, lfirst(lc)));
		add_step(m, STEP_REPLACE, "replace", NULL, buf.data);
	}

	/* defaults and generated columns that translate */
	foreach(lc, m->tables)
		translate_column_exprs(m, lfirst(lc));

	/* the staging foreign tables, which read with the chosen types */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		int			i;

		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE pg_temp.%s (", quote_identifier(t->staging));
		for (i = 0; i < t->ncols; i++)
		{
			MigColumn  *c = &t->cols[i];
			const char *unit = datetime_unit_name(m);

			appendStringInfo(&buf, "%s%s %s OPTIONS (column_name %s%s%s)", i ? ", " : "",
							 quote_identifier(c->pg_name), c->type_name,
							 quote_literal_cstr(server_text(c->sqlite_name)),
							 unit ? ", datetime_unit " : "",
							 unit ? quote_literal_cstr(unit) : "");
		}
		appendStringInfo(&buf, ") SERVER %s OPTIONS (table %s%s)",
						 quote_identifier(m->server), quote_literal_cstr(server_text(t->sqlite_name)),
						 t->quarantine ? ", rows 'matching'" : "");
		add_step(m, STEP_SQL, "stage", t, buf.data);

		if (t->quarantine)
		{
			initStringInfo(&buf);
			appendStringInfo(&buf, "CREATE FOREIGN TABLE pg_temp.%s (",
							 quote_identifier(t->staging_rejects));
			if (t->has_rowid)
				appendStringInfoString(&buf, "sqlite_rowid bigint OPTIONS (column_name '_rowid_'), ");
			for (i = 0; i < t->ncols; i++)
			{
				MigColumn  *c = &t->cols[i];

				appendStringInfo(&buf, "%s%s %s OPTIONS (column_name %s, check_type %s%s%s)",
								 i ? ", " : "", quote_identifier(c->pg_name),
								 sqlite_value_type(), quote_literal_cstr(server_text(c->sqlite_name)),
								 quote_literal_cstr(c->type_name),
								 datetime_unit_name(m) ? ", datetime_unit " : "",
								 datetime_unit_name(m) ? quote_literal_cstr(datetime_unit_name(m)) : "");
			}
			appendStringInfo(&buf, ") SERVER %s OPTIONS (table %s, rows 'mismatched')",
							 quote_identifier(m->server), quote_literal_cstr(server_text(t->sqlite_name)));
			add_step(m, STEP_SQL, "stage", t, buf.data);
		}
	}

	/*
	 * A generated column stays generated only if PostgreSQL computes the
	 * values SQLite holds: checked on the staging table before the target
	 * table exists.
	 */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		int			i;

		for (i = 0; i < t->ncols; i++)
		{
			MigColumn  *c = &t->cols[i];
			MigStep    *s;

			if (c->gen_expr == NULL)
				continue;
			s = palloc0(sizeof(MigStep));
			s->kind = STEP_GENERATED;
			s->phase = "generated";
			s->table = t;
			s->column = c;
			s->what = psprintf("generated column %s", quote_identifier(c->pg_name));
			s->sql = psprintf("SELECT count(*) FROM pg_temp.%s WHERE %s IS DISTINCT FROM (%s)",
							  quote_identifier(t->staging), quote_identifier(c->pg_name),
							  c->gen_expr);
			s->probe = s->sql;
			m->steps = lappend(m->steps, s);
		}
	}

	/* tables, with NOT NULL, defaults, identity and generated columns */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		MigStep    *s = palloc0(sizeof(MigStep));
		int			i;

		s->kind = STEP_CREATE;
		s->phase = "create";
		s->table = t;
		s->sql = create_table_sql(m, t);
		m->steps = lappend(m->steps, s);
		if (m->opts.owner)
			add_step(m, STEP_SQL, "create", t,
					 psprintf("ALTER TABLE %s OWNER TO %s", qualified(m, t->pg_name),
							  quote_identifier(m->opts.owner)));

		if (t->quarantine)
		{
			/* every value kept as stored: storage class and raw value */
			initStringInfo(&buf);
			appendStringInfo(&buf, "CREATE TABLE %s (\n    sqlite_rowid bigint", qualified(m, t->rejects));
			for (i = 0; i < t->ncols; i++)
				appendStringInfo(&buf, ",\n    %s %s", quote_identifier(t->cols[i].pg_name),
								 sqlite_value_type());
			appendStringInfoString(&buf, "\n)");
			add_step(m, STEP_SQL, "create", t, buf.data);
			if (m->opts.owner)
				add_step(m, STEP_SQL, "create", t,
						 psprintf("ALTER TABLE %s OWNER TO %s", qualified(m, t->rejects),
								  quote_identifier(m->opts.owner)));
		}
	}

	/* the data */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		StringInfoData cols;
		int			i;

		add_step(m, STEP_COPY, "copy", t, insert_sql(m, t));
		if (t->quarantine)
		{
			initStringInfo(&cols);
			for (i = 0; i < t->ncols; i++)
				appendStringInfo(&cols, "%s%s", i ? ", " : "", quote_identifier(t->cols[i].pg_name));
			add_step(m, STEP_REJECTS, "copy", t,
					 psprintf("INSERT INTO %s (sqlite_rowid, %s) SELECT %s, %s FROM pg_temp.%s",
							  qualified(m, t->rejects), cols.data,
							  t->has_rowid ? "sqlite_rowid" : "NULL::bigint", cols.data,
							  quote_identifier(t->staging_rejects)));
		}
	}

	/* keys and indexes */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		List	   *pkcols = NIL;
		bool		pk_nulls = false;
		int			i,
					k;
		ListCell   *lc2;

		for (k = 1; k <= t->ncols; k++)
			for (i = 0; i < t->ncols; i++)
				if (t->cols[i].pk == k)
				{
					pkcols = lappend_int(pkcols, i);
					pk_nulls |= (t->cols[i].prof.n_null > 0);
				}
		if (pkcols != NIL && !pk_nulls)
		{
			bool		nocase = false;
			StringInfoData keys;
			ListCell   *lc3;

			add_step(m, STEP_SQL, "keys", t,
					 psprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)",
							  qualified(m, t->pg_name), column_list(t, pkcols, NULL)));
			/* a key under NOCASE is also unique with ASCII case folded */
			initStringInfo(&keys);
			foreach(lc3, pkcols)
			{
				MigColumn  *c = &t->cols[lfirst_int(lc3)];
				bool		nc = c->collation && pg_strcasecmp(c->collation, "NOCASE") == 0;

				appendStringInfo(&keys, "%s%s", keys.len ? ", " : "",
								 nc ? nocase_key(c->pg_name) : quote_identifier(c->pg_name));
				nocase |= nc;
			}
			if (nocase)
				add_step(m, STEP_SQL, "keys", t,
						 psprintf("CREATE UNIQUE INDEX %s ON %s (%s)",
								  quote_identifier(unique_name(m, t->pg_name, "pkey_nocase")),
								  qualified(m, t->pg_name), keys.data));
		}
		else if (pkcols != NIL)
		{
			add_note(&t->notes, "no primary key: SQLite let key columns hold NULL; created a UNIQUE constraint instead");
			add_step(m, STEP_SQL, "keys", t,
					 psprintf("ALTER TABLE %s ADD UNIQUE (%s)",
							  qualified(m, t->pg_name), column_list(t, pkcols, NULL)));
		}
		else
			add_note(&t->notes, "%sno primary key", NOTE_KEPT);

		foreach(lc2, t->indexes)
		{
			MigIndex   *ix = lfirst(lc2);
			char	   *where = NULL;
			StringInfoData keys;
			bool		has_expr = false;

			if (ix->skip == NULL && ix->partial)
			{
				char	   *reason = NULL;

				if (ix->where)
					where = sqlite_translate_expr(ix->where, SQLITE_EXPR_WHERE,
												  InvalidOid, column_map(t), &reason);
				if (where == NULL)
					ix->skip = psprintf("its WHERE clause is not translated: %s",
										reason ? reason : "not found");
			}
			/* the key: columns, and expressions that translate */
			initStringInfo(&keys);
			if (ix->skip == NULL)
			{
				ListCell   *c,
						   *e,
						   *d;

				ListCell   *nc;
				int			k = 0;

				forthree(c, ix->cols, e, ix->exprs, d, ix->desc)
				{
					const char *elem;

					nc = list_nth_cell(ix->nocase, k++);
					if (lfirst_int(c) >= 0 && lfirst_int(nc))
					{
						/* SQLite's NOCASE folds ASCII letters only */
						elem = nocase_key(t->cols[lfirst_int(c)].pg_name);
						has_expr = true;
					}
					else if (lfirst_int(c) >= 0)
						elem = quote_identifier(t->cols[lfirst_int(c)].pg_name);
					else
					{
						char	   *reason = NULL;
						char	   *expr = lfirst(e) ?
							sqlite_translate_expr(lfirst(e), SQLITE_EXPR_INDEX, InvalidOid,
												  column_map(t), &reason) : NULL;

						if (expr == NULL)
						{
							ix->skip = psprintf("its expression %s is not translated: %s",
												lfirst(e) ? (char *) lfirst(e) : "",
												reason ? reason : "not found");
							break;
						}
						elem = psprintf("(%s)", expr);
						has_expr = true;
					}
					appendStringInfo(&keys, "%s%s%s", keys.len ? ", " : "", elem,
									 lfirst_int(d) ? " DESC" : "");
				}
			}
			if (ix->skip)
			{
				add_note(&t->notes, "index \"%s\" not migrated: %s", ix->sqlite_name, ix->skip);
				continue;
			}
			add_step(m, (where || has_expr) ? STEP_INDEX : STEP_SQL, "indexes", t,
					 psprintf("CREATE %sINDEX %s ON %s (%s)%s%s",
							  ix->unique ? "UNIQUE " : "",
							  quote_identifier(ix->pg_name), qualified(m, t->pg_name),
							  keys.data,
							  where ? " WHERE " : "", where ? where : ""));
			if (where || has_expr)
				((MigStep *) llast(m->steps))->what =
					psprintf("index \"%s\"", ix->sqlite_name);

			/*
			 * Unique under NOCASE implies unique as written: that plain index
			 * is what a foreign key referencing these columns needs.
			 */
			if (ix->unique && !list_member_int(ix->cols, -2) &&
				list_member_int(ix->nocase, 1))
				add_step(m, where ? STEP_INDEX : STEP_SQL, "indexes", t,
						 psprintf("CREATE UNIQUE INDEX %s ON %s (%s)%s%s",
								  quote_identifier(unique_name(m, ix->pg_name, "binary")),
								  qualified(m, t->pg_name), column_list(t, ix->cols, ix->desc),
								  where ? " WHERE " : "", where ? where : ""));
		}
	}

	/* CHECK constraints that translate: NOT VALID where rows violate them */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		List	   *colmap = column_map(t);
		ListCell   *lc2;

		foreach(lc2, t->sql ? sqlite_extract_checks(t->sql) : NIL)
		{
			SqliteTableExpr *ck = lfirst(lc2);
			char	   *reason = NULL;
			char	   *expr = sqlite_translate_expr(ck->expr, SQLITE_EXPR_CHECK,
													 InvalidOid, colmap, &reason);
			MigStep    *s;

			if (expr == NULL)
			{
				add_note(&t->notes, "CHECK (%s) not migrated: %s", ck->expr, reason);
				continue;
			}
			s = palloc0(sizeof(MigStep));
			s->kind = STEP_CHECK;
			s->phase = "checks";
			s->table = t;
			s->what = psprintf("CHECK (%s) on %s", expr, qualified(m, t->pg_name));
			if (ck->name)
				s->sql = psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)",
								  qualified(m, t->pg_name),
								  quote_identifier(sqlite_shorten_name(ck->name)), expr);
			else
				s->sql = psprintf("ALTER TABLE %s ADD CHECK (%s)", qualified(m, t->pg_name), expr);
			s->probe = psprintf("SELECT count(*) FROM %s WHERE NOT (%s)",
								qualified(m, t->pg_name), expr);
			m->steps = lappend(m->steps, s);
		}
	}

	/* foreign keys: NOT VALID where SQLite let orphans in */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, t->fkeys)
		{
			MigFKey    *fk = lfirst(lc2);
			MigTable   *parent = find_table(m, fk->parent);
			List	   *from = NIL;
			List	   *to = NIL;
			ListCell   *lc3;
			MigStep    *s;
			StringInfoData probe;

			if (parent == NULL)
			{
				StringInfoData cols;

				initStringInfo(&cols);
				foreach(lc3, fk->from)
					appendStringInfo(&cols, "%s%s", foreach_current_index(lc3) ? ", " : "",
									 (char *) lfirst(lc3));
				add_note(&t->notes, "foreign key (%s) to \"%s\" not created: that table is not migrated",
						 cols.data, fk->parent);
				continue;
			}
			/* DEFERRABLE is only in the CREATE TABLE text */
			foreach(lc3, t->sql ? sqlite_extract_fkeys(t->sql) : NIL)
			{
				SqliteFKeyText *ft = lfirst(lc3);
				ListCell   *a,
						   *b;
				bool		same = sqlite3_stricmp(ft->parent, fk->parent) == 0 &&
					list_length(ft->from) == list_length(fk->from);

				if (same)
					forboth(a, ft->from, b, fk->from)
						same &= sqlite3_stricmp(lfirst(a), lfirst(b)) == 0;
				if (same)
				{
					fk->deferrable = ft->deferrable;
					fk->initially_deferred = ft->initially_deferred;
				}
			}
			foreach(lc3, fk->from)
				from = lappend_int(from, find_column(t, lfirst(lc3)));
			if (fk->to != NIL)
				foreach(lc3, fk->to)
					to = lappend_int(to, find_column(parent, lfirst(lc3)));
			else
			{
				int			i,
							k;

				for (k = 1; k <= parent->ncols; k++)
					for (i = 0; i < parent->ncols; i++)
						if (parent->cols[i].pk == k)
							to = lappend_int(to, i);
			}
			if (list_member_int(from, -1) || list_member_int(to, -1) ||
				list_length(from) != list_length(to))
			{
				add_note(&t->notes, "foreign key to \"%s\" not created: its columns do not match", fk->parent);
				continue;
			}
			/* the parent columns must be a key of the parent */
			{
				bool		keyed = false;
				List	   *pk = NIL;
				int			i,
							k;

				for (k = 1; k <= parent->ncols; k++)
					for (i = 0; i < parent->ncols; i++)
						if (parent->cols[i].pk == k)
							pk = lappend_int(pk, i);
				/* the primary key, or the UNIQUE made for it, is a key */
				if (pk != NIL && list_difference_int(to, pk) == NIL &&
					list_difference_int(pk, to) == NIL)
					keyed = true;
				foreach(lc3, parent->indexes)
				{
					MigIndex   *ix = lfirst(lc3);

					if (ix->unique && ix->skip == NULL && !ix->partial &&
						list_difference_int(to, ix->cols) == NIL &&
						list_difference_int(ix->cols, to) == NIL)
						keyed = true;
				}
				if (!keyed)
				{
					add_note(&t->notes, "foreign key to \"%s\" not created: the parent columns have no unique constraint", fk->parent);
					continue;
				}
			}

			s = palloc0(sizeof(MigStep));
			s->kind = STEP_FKEY;
			s->phase = "foreign keys";
			s->table = t;
			s->what = psprintf("foreign key %s (%s) referencing %s (%s)",
							   qualified(m, t->pg_name), column_list(t, from, NULL),
							   qualified(m, parent->pg_name), column_list(parent, to, NULL));
			s->sql = psprintf("ALTER TABLE %s ADD FOREIGN KEY (%s) REFERENCES %s (%s)%s%s%s%s%s",
							  qualified(m, t->pg_name), column_list(t, from, NULL),
							  qualified(m, parent->pg_name), column_list(parent, to, NULL),
							  fk->on_update && strcmp(fk->on_update, "NO ACTION") != 0 ? " ON UPDATE " : "",
							  fk->on_update && strcmp(fk->on_update, "NO ACTION") != 0 ? fk->on_update : "",
							  fk->on_delete && strcmp(fk->on_delete, "NO ACTION") != 0 ? " ON DELETE " : "",
							  fk->on_delete && strcmp(fk->on_delete, "NO ACTION") != 0 ? fk->on_delete : "",
							  fk->initially_deferred ? " DEFERRABLE INITIALLY DEFERRED" :
							  fk->deferrable ? " DEFERRABLE" : "");
			initStringInfo(&probe);
			appendStringInfo(&probe, "SELECT count(*) FROM %s AS c WHERE ", qualified(m, t->pg_name));
			foreach(lc3, from)
				appendStringInfo(&probe, "c.%s IS NOT NULL AND ",
								 quote_identifier(t->cols[lfirst_int(lc3)].pg_name));
			appendStringInfo(&probe, "NOT EXISTS (SELECT 1 FROM %s AS p WHERE ", qualified(m, parent->pg_name));
			{
				ListCell   *a,
						   *b;

				forboth(a, from, b, to)
					appendStringInfo(&probe, "%sp.%s = c.%s", foreach_current_index(a) ? " AND " : "",
									 quote_identifier(parent->cols[lfirst_int(b)].pg_name),
									 quote_identifier(t->cols[lfirst_int(a)].pg_name));
			}
			appendStringInfoChar(&probe, ')');
			s->probe = probe.data;
			m->steps = lappend(m->steps, s);
		}
	}

	/* identity sequences above both max(id) and sqlite_sequence */
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		int			i;

		for (i = 0; i < t->ncols; i++)
		{
			MigColumn  *c = &t->cols[i];
			int64		next;

			if (!c->rowid_alias || !(c->type_oid == INT8OID || c->type_oid == INT4OID ||
									 c->type_oid == INT2OID))
				continue;
			next = Max(c->prof.int_max, t->seq);
			next = (c->prof.n_int > 0 || t->seq >= 0) ? Max(next, 0) + 1 : 1;
			if (next < 1)
				next = 1;
			add_step(m, STEP_SQL, "sequences", t,
					 psprintf("ALTER TABLE %s ALTER COLUMN %s RESTART WITH " INT64_FORMAT,
							  qualified(m, t->pg_name), quote_identifier(c->pg_name), next));
			if (t->seq >= 0)
				add_note(&c->notes, "%sidentity continues after " INT64_FORMAT " (AUTOINCREMENT)", NOTE_KEPT, next - 1);
		}
	}

	/* views, where they translate */
	foreach(lc, m->others)
	{
		MigOther   *o = lfirst(lc);
		List	   *tablemap = NIL;
		ListCell   *lc2;
		char	   *reason = NULL;
		char	   *select;

		if (strcmp(o->status, "view") != 0)
			continue;
		foreach(lc2, m->tables)
		{
			MigTable   *t = lfirst(lc2);
			SqliteTableMap *tm = palloc0(sizeof(SqliteTableMap));

			tm->sqlite_name = t->sqlite_name;
			tm->pg_schema = m->opts.target_schema;
			tm->pg_name = t->pg_name;
			tm->colmap = column_map(t);
			tablemap = lappend(tablemap, tm);
		}
		select = o->detail ? sqlite_translate_view(o->detail, tablemap, &reason) : NULL;
		if (select == NULL)
		{
			o->status = "view skipped";
			o->detail = psprintf("not translated: %s", reason ? reason : "no definition");
			continue;
		}
		o->target = qualified(m, unique_name(m, pg_name_for(m, o->source), NULL));
		o->status = "view created";
		o->detail = NULL;
		{
			MigStep    *s = palloc0(sizeof(MigStep));

			s->kind = STEP_VIEW;
			s->phase = "views";
			s->other = o;
			s->sql = psprintf("CREATE VIEW %s WITH (security_invoker = true) AS %s", o->target, select);
			if (m->opts.owner)
				s->probe = psprintf("ALTER VIEW %s OWNER TO %s", o->target,
									quote_identifier(m->opts.owner));
			m->steps = lappend(m->steps, s);
		}
	}

	/* statistics, then the staging objects go */
	foreach(lc, m->tables)
		add_step(m, STEP_SQL, "analyze", lfirst(lc),
				 psprintf("ANALYZE %s", qualified(m, ((MigTable *) lfirst(lc))->pg_name)));
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		add_step(m, STEP_SQL, "cleanup", NULL,
				 psprintf("DROP FOREIGN TABLE pg_temp.%s", quote_identifier(t->staging)));
		if (t->quarantine)
			add_step(m, STEP_SQL, "cleanup", NULL,
					 psprintf("DROP FOREIGN TABLE pg_temp.%s",
							  quote_identifier(t->staging_rejects)));
	}
	add_step(m, STEP_SQL, "cleanup", NULL,
			 psprintf("DROP SERVER %s", quote_identifier(m->server)));
}

/*
 * Stop before writing when a target table exists: with if_exists =>
 * 'error' always; with 'replace' unless an earlier migration into this
 * schema (per the history) created it, in which case it goes to *drop.
 */
static void
check_existing(Migration *m, List **drop, List **drop_views)
{
	ListCell   *lc;
	List	   *owned = NIL;
	List	   *names = NIL;

	if (m->opts.replace)
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1];
		int			i;

		args[0] = CStringGetTextDatum(m->opts.target_schema);
		if (spi_run_args(psprintf("SELECT jsonb_array_elements_text(h.objects -> 'tables') "
										   "FROM %s.sqlite_migration_history AS h WHERE h.target_schema = $1",
										   quote_identifier(get_namespace_name(history_nsp))),
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the migration history");
		for (i = 0; i < (int) SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (name)
				owned = lappend(owned, pstrdup(name));
		}

		/*
		 * The views earlier migrations created here go first: only views that
		 * are in the target schema, named as the catalog names them.
		 */
		if (spi_run_args(psprintf("SELECT DISTINCT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' "
										   "OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) "
										   "FROM %s.sqlite_migration_history AS h, "
										   "pg_catalog.jsonb_array_elements_text(h.objects -> 'views') AS v, "
										   "pg_catalog.pg_class AS c, pg_catalog.pg_namespace AS n "
										   "WHERE h.target_schema = $1 AND c.oid = pg_catalog.to_regclass(v) "
										   "AND c.relkind = 'v' AND n.oid = c.relnamespace AND n.nspname = $1",
										   quote_identifier(get_namespace_name(history_nsp))),
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the migration history");
		for (i = 0; i < (int) SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

			if (name)
				*drop_views = lappend(*drop_views, pstrdup(name));
		}
	}

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		names = lappend(names, t->pg_name);
		if (t->rejects)
			names = lappend(names, t->rejects);
	}
	foreach(lc, names)
	{
		char	   *name = lfirst(lc);
		ListCell   *lc2;
		bool		is_owned = false;

		if (!OidIsValid(get_relname_relid(name, m->opts.target_nsp)))
			continue;
		foreach(lc2, owned)
			if (strcmp(lfirst(lc2), name) == 0)
				is_owned = true;
		if (!m->opts.replace)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("table %s already exists", qualified(m, name)),
					 errdetail("Nothing was written."),
					 errhint("Use if_exists => 'replace' to rebuild the tables an earlier migration created, or another target_schema.")));
		if (!is_owned)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("table %s already exists and was not created by migrate_sqlite",
							qualified(m, name)),
					 errdetail("if_exists => 'replace' only replaces tables that an earlier migration into this schema created. Nothing was written."),
					 errhint("Drop or rename the table, or migrate into another target_schema.")));
		*drop = lappend(*drop, name);
	}
}

/*
 * One transaction holds a lock on every table, index and sequence it
 * creates: stop now, with a hint, when they cannot fit in the lock table.
 */
static void
check_lock_capacity(Migration *m)
{
	ListCell   *lc;
	int64		needed = 16;
	int64		capacity;

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		/* table, its TOAST table and index, staging table, keys, sequence */
		needed += 6 + list_length(t->indexes) + list_length(t->fkeys);
	}
	needed += list_length(m->others);
	capacity = (int64) max_locks_per_xact * (MaxBackends + max_prepared_xacts);
	if (needed > capacity / 2)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("this migration needs about " INT64_FORMAT " locks, more than the lock table can safely give one transaction",
						needed),
				 errdetail("The lock table holds max_locks_per_transaction (%d) × (max_connections + other backends + max_prepared_transactions) = " INT64_FORMAT " locks. Nothing was written.",
						   max_locks_per_xact, capacity),
				 errhint("Raise max_locks_per_transaction (a restart is needed), or migrate the tables in groups with \"tables\".")));
}

/* ---------------------------------------------------------------------
 * Running it
 * ---------------------------------------------------------------------
 */

static int64
spi_count(const char *sql)
{
	bool		isnull;
	Datum		d;

	/* not read_only: it must see the rows this migration inserted */
	if (spi_run(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run: %s", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Add a translated CHECK constraint (NOT VALID when rows violate it), or
 * create a translated view.  One that PostgreSQL refuses (its types do not
 * match, say) is reported, never a failed migration: the attempt runs in a
 * subtransaction.
 */
static void
run_guarded_step(Migration *m, MigStep *s)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		int64		bad = 0;
		char	   *sql = s->sql;

		if (s->kind == STEP_CHECK)
		{
			bad = spi_count(s->probe);
			if (bad > 0)
				sql = psprintf("%s NOT VALID", s->sql);
		}
		if (spi_run(sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", sql);
		if (s->kind == STEP_VIEW && s->probe && spi_run(s->probe, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", s->probe);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		s->sql = sql;
		if (bad > 0)
		{
			ereport(WARNING,
					(errmsg_plural("%s created NOT VALID: " INT64_FORMAT " row violates it",
								   "%s created NOT VALID: " INT64_FORMAT " rows violate it",
								   (unsigned long) bad, s->what, bad),
					 errhint("SQLite did not enforce it. Fix the rows, then run ALTER TABLE ... VALIDATE CONSTRAINT.")));
			add_note(&s->table->notes, "%s created NOT VALID: " INT64_FORMAT " %s it",
					 s->what, bad, bad == 1 ? "row violates" : "rows violate");
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		/* the SPI connection survives the rolled-back subtransaction */
		if (s->kind == STEP_REPLACE)
			ereport(ERROR,
					(errcode(edata->sqlerrcode),
					 errmsg("cannot replace the tables of an earlier migration: %s",
							edata->message),
					 edata->detail ? errdetail("%s", edata->detail) : 0,
					 errhint("Drop or change the objects that depend on them (migrate_sqlite never drops with CASCADE), then run the migration again. Nothing was written.")));
		if (s->kind == STEP_VIEW)
		{
			s->other->status = "view skipped";
			s->other->detail = psprintf("PostgreSQL refused the translated view: %s",
										edata->message);
			s->other->target = NULL;
		}
		else
			add_note(&s->table->notes, "%s not migrated: PostgreSQL refused it: %s",
					 s->what, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * Keep a generated column generated only if PostgreSQL's expression gives
 * every value SQLite holds; otherwise it becomes a plain column holding
 * SQLite's values.  Evaluated in a subtransaction: an error (an overflow,
 * say) also means a plain column.
 */
static void
run_generated_step(Migration *m, MigStep *s)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	MigColumn  *c = s->column;
	volatile int64 differ = -1;
	char	   *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		differ = spi_count(s->sql);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		failure = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;

	if (failure)
	{
		c->gen_ok = false;
		add_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: computing it failed: %s",
				 failure);
	}
	else if (differ > 0)
	{
		c->gen_ok = false;
		add_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: PostgreSQL computes other values in " INT64_FORMAT " %s",
				 differ, differ == 1 ? "row" : "rows");
	}
	else
		add_note(&c->notes, "%sgenerated column: PostgreSQL computes it (STORED%s), the same values as SQLite's", NOTE_KEPT,
				 c->hidden == 2 ? "; VIRTUAL in SQLite" : "");
}

/*
 * Create a table.  If PostgreSQL refuses a generated column's expression
 * (it must be immutable, say), the table is created with plain columns
 * instead, and that is reported.
 */
static void
run_create_step(Migration *m, MigStep *s)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	MigTable   *t = s->table;
	bool		any_generated = false;
	int			i;

	for (i = 0; i < t->ncols; i++)
		any_generated |= t->cols[i].gen_ok;
	s->sql = create_table_sql(m, t);
	if (!any_generated)
	{
		if (spi_run(s->sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", s->sql);
		return;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		if (spi_run(s->sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", s->sql);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		for (i = 0; i < t->ncols; i++)
		{
			if (!t->cols[i].gen_ok)
				continue;
			t->cols[i].gen_ok = false;
			add_note(&t->cols[i].notes, "generated column migrated as a plain column holding SQLite's values: PostgreSQL refused the expression: %s",
					 edata->message);
		}
		FreeErrorData(edata);
		s->sql = create_table_sql(m, t);
		if (spi_run(s->sql, false, 0) < 0)
			elog(ERROR, "SPI_execute failed: %s", s->sql);
	}
	PG_END_TRY();
}

/* Run every step; check each copy's count against SQLite's. */
static void
run_steps(Migration *m)
{
	ListCell   *lc;

	foreach(lc, m->steps)
	{
		MigStep    *s = lfirst(lc);
		int			rc;

		CHECK_FOR_INTERRUPTS();
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("migrate_sqlite: %s%s%s", s->phase,
										s->table ? " " : "",
										s->table ? qualified(m, s->table->pg_name) : ""));
		switch (s->kind)
		{
			case STEP_SQL:
				rc = spi_run(s->sql, false, 0);
				if (rc < 0)
					elog(ERROR, "SPI_execute failed (%d): %s", rc, s->sql);
				break;
			case STEP_COPY:
				{
					TimestampTz start = GetCurrentTimestamp();
					long		secs;
					int			usecs;
					double		elapsed;
					Oid			relid = get_relname_relid(s->table->pg_name, m->opts.target_nsp);

					/* the generated columns kept are computed, not copied */
					s->sql = insert_sql(m, s->table);

					pgstat_progress_start_command(PROGRESS_COMMAND_COPY, relid);
					pgstat_progress_update_param(PROGRESS_COPY_COMMAND, PROGRESS_COPY_COMMAND_FROM);
					pgstat_progress_update_param(PROGRESS_COPY_TYPE, PROGRESS_COPY_TYPE_FILE);
					sqlite_copy_progress = true;
					PG_TRY();
					{
						rc = spi_run(s->sql, false, 0);
					}
					PG_FINALLY();
					{
						sqlite_copy_progress = false;
					}
					PG_END_TRY();
					if (rc != SPI_OK_INSERT)
						elog(ERROR, "SPI_execute failed (%d): %s", rc, s->sql);
					s->table->target_rows = (int64) SPI_processed;
					pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED,
												 s->table->target_rows);
					pgstat_progress_end_command();

					if (s->table->target_rows != s->table->source_rows &&
						!s->table->quarantine)
						ereport(ERROR,
								(errcode(ERRCODE_DATA_EXCEPTION),
								 errmsg("copied " INT64_FORMAT " rows into %s, but SQLite table \"%s\" has " INT64_FORMAT,
										s->table->target_rows, qualified(m, s->table->pg_name),
										s->table->sqlite_name, s->table->source_rows),
								 errdetail("Both counts come from the same SQLite snapshot. Nothing was kept.")));
					TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
					elapsed = secs + usecs / 1000000.0;
					ereport(NOTICE,
							(errmsg_plural("copied " INT64_FORMAT " row into %s in %.2f s (%.0f rows/s)",
										   "copied " INT64_FORMAT " rows into %s in %.2f s (%.0f rows/s)",
										   (unsigned long) s->table->target_rows,
									s->table->target_rows, qualified(m, s->table->pg_name),
									elapsed, elapsed > 0 ? s->table->target_rows / elapsed : 0.0)));
					break;
				}
			case STEP_REJECTS:
				rc = spi_run(s->sql, false, 0);
				if (rc != SPI_OK_INSERT)
					elog(ERROR, "SPI_execute failed (%d): %s", rc, s->sql);
				s->table->rejected_rows = (int64) SPI_processed;
				if (s->table->target_rows + s->table->rejected_rows != s->table->source_rows)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("copied " INT64_FORMAT " rows into %s and " INT64_FORMAT " into %s, but SQLite table \"%s\" has " INT64_FORMAT,
									s->table->target_rows, qualified(m, s->table->pg_name),
									s->table->rejected_rows, qualified(m, s->table->rejects),
									s->table->sqlite_name, s->table->source_rows),
							 errdetail("All counts come from the same SQLite snapshot. Nothing was kept.")));
				add_note(&s->table->notes, INT64_FORMAT " %s moved, whole and unchanged, to %s",
						 s->table->rejected_rows,
						 s->table->rejected_rows == 1 ? "row" : "rows",
						 qualified(m, s->table->rejects));
				ereport(NOTICE,
						(errmsg_plural("moved " INT64_FORMAT " row of SQLite table \"%s\" to %s",
									   "moved " INT64_FORMAT " rows of SQLite table \"%s\" to %s",
									   (unsigned long) s->table->rejected_rows,
								s->table->rejected_rows, s->table->sqlite_name,
								qualified(m, s->table->rejects))));
				break;
			case STEP_CHECK:
			case STEP_VIEW:
			case STEP_INDEX:
			case STEP_REPLACE:
				run_guarded_step(m, s);
				break;
			case STEP_GENERATED:
				run_generated_step(m, s);
				break;
			case STEP_CREATE:
				run_create_step(m, s);
				break;
			case STEP_FKEY:
				{
					int64		bad = spi_count(s->probe);

					if (bad > 0)
					{
						s->sql = psprintf("%s NOT VALID", s->sql);
						ereport(WARNING,
								(errmsg_plural("%s created NOT VALID: " INT64_FORMAT " row violates it",
											   "%s created NOT VALID: " INT64_FORMAT " rows violate it",
											   (unsigned long) bad, s->what, bad),
								 errhint("SQLite did not enforce it. Fix the rows, then run ALTER TABLE ... VALIDATE CONSTRAINT.")));
						add_note(&s->table->notes, "%s created NOT VALID: " INT64_FORMAT " rows violate it",
								 s->what, bad);
					}
					rc = spi_run(s->sql, false, 0);
					if (rc < 0)
						elog(ERROR, "SPI_execute failed (%d): %s", rc, s->sql);
					break;
				}
		}
	}
}

/* Record the run in the extension's history table. */
static void
record_history(Migration *m, Oid func_nsp)
{
	StringInfoData tables;
	StringInfoData report;
	ListCell   *lc;
	Oid			argtypes[7] = {TIMESTAMPTZOID, TEXTOID, INT8OID, NAMEOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		args[7];
	char	   *sql;

	initStringInfo(&tables);
	initStringInfo(&report);
	appendStringInfoString(&tables, "{\"tables\": [");
	appendStringInfoChar(&report, '[');
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		appendStringInfo(&tables, "%s", foreach_current_index(lc) ? ", " : "");
		escape_json(&tables, t->pg_name);
		if (t->rejects)
		{
			appendStringInfoString(&tables, ", ");
			escape_json(&tables, t->rejects);
		}
		appendStringInfo(&report, "%s{\"source_table\": ", foreach_current_index(lc) ? ", " : "");
		escape_json(&report, t->sqlite_name);
		appendStringInfo(&report, ", \"target_table\": ");
		escape_json(&report, qualified(m, t->pg_name));
		appendStringInfo(&report, ", \"source_rows\": " INT64_FORMAT ", \"target_rows\": " INT64_FORMAT
						 ", \"rejected_rows\": " INT64_FORMAT ", \"detail\": ",
						 t->source_rows, t->target_rows, t->rejected_rows);
		{
			bool		changed;
			char	   *detail = table_detail(t, &changed);

			if (detail)
				escape_json(&report, detail);
			else
				appendStringInfoString(&report, "null");
			appendStringInfo(&report, ", \"status\": \"%s\"}",
							 t->quarantine ? "quarantined rows" :
							 changed ? "migrated with changes" : "migrated");
		}
	}
	appendStringInfoString(&tables, "], \"views\": [");
	{
		bool		first = true;

		foreach(lc, m->others)
		{
			MigOther   *o = lfirst(lc);

			if (strcmp(o->status, "view created") != 0)
				continue;
			if (!first)
				appendStringInfoString(&tables, ", ");
			escape_json(&tables, o->target);
			first = false;
		}
	}
	appendStringInfoString(&tables, "]}");
	appendStringInfoChar(&report, ']');

	args[0] = TimestampTzGetDatum(m->started);
	args[1] = CStringGetTextDatum(m->opts.database);
	args[2] = Int64GetDatum(m->file_size);
	args[3] = DirectFunctionCall1(namein, CStringGetDatum(m->opts.target_schema));
	args[4] = DirectFunctionCall1(jsonb_in, CStringGetDatum(tables.data));
	args[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(report.data));
	args[6] = DirectFunctionCall1(jsonb_in, CStringGetDatum(m->opts.options_json));
	/*
	 * The history is written by a SECURITY DEFINER function that only a
	 * running migration may call, so nobody can plant rows that a later
	 * if_exists => 'replace' would trust.
	 */
	sql = psprintf("SELECT %s.sqlite_fdw_mig_record_history($1, $2, $3, $4, $5, $6, $7)",
				   quote_identifier(get_namespace_name(func_nsp)));
	recording_allowed = true;
	PG_TRY();
	{
		if (spi_run_args(sql, 7, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not record the migration");
	}
	PG_FINALLY();
	{
		recording_allowed = false;
	}
	PG_END_TRY();
}


PG_FUNCTION_INFO_V1(sqlite_fdw_mig_record_history);

/*
 * sqlite_fdw_mig_record_history(started_at, database, file_size,
 *								 target_schema, objects, report, options)
 * Insert a row into the history as the extension's owner (the function is
 * SECURITY DEFINER), recording the calling role.  Refused unless
 * migrate_sqlite is the caller.
 */
Datum
sqlite_fdw_mig_record_history(PG_FUNCTION_ARGS)
{
	Oid			argtypes[8] = {TIMESTAMPTZOID, TEXTOID, INT8OID, NAMEOID, JSONBOID,
	JSONBOID, JSONBOID, NAMEOID};
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int			i;

	if (!recording_allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only migrate_sqlite may record a migration")));
	for (i = 0; i < 7; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
	}
	args[7] = CStringGetDatum(GetUserNameFromId(GetSessionUserId(), false));
	args[7] = DirectFunctionCall1(namein, args[7]);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(psprintf("INSERT INTO %s.sqlite_migration_history "
									   "(started_at, finished_at, database, file_size, target_schema, "
									   "objects, report, options, migrated_by) "
									   "VALUES ($1, pg_catalog.clock_timestamp(), $2, $3, $4, $5, $6, $7, $8)",
									   quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)))),
							  8, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the migration");
	SPI_finish();
	PG_RETURN_VOID();
}

/* The report: one row per table, view, trigger and virtual table. */
static void
emit_report(Migration *m, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		bool		changed;
		char	   *detail = table_detail(t, &changed);

		values[0] = CStringGetTextDatum(t->sqlite_name);
		values[1] = CStringGetTextDatum(qualified(m, t->pg_name));
		values[2] = Int64GetDatum(t->source_rows);
		values[3] = Int64GetDatum(t->target_rows);
		values[4] = CStringGetTextDatum(t->quarantine ? "quarantined rows" :
										changed ? "migrated with changes" : "migrated");
		if (detail)
			values[5] = CStringGetTextDatum(detail);
		else
			nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	foreach(lc, m->others)
	{
		MigOther   *o = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, true, true, false, false};

		values[0] = CStringGetTextDatum(o->source);
		if (o->target)
			values[1] = CStringGetTextDatum(o->target);
		else
			nulls[1] = true;
		values[4] = CStringGetTextDatum(o->status);
		if (o->detail)
			values[5] = CStringGetTextDatum(o->detail);
		else
			nulls[5] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * Everything the report says about a table: its notes, then its columns'.
 * *changed is set when any of them is a change (not merely informative).
 */
static char *
table_detail(MigTable *t, bool *changed)
{
	StringInfoData buf;
	ListCell   *lc;
	int			i;

	*changed = false;
	initStringInfo(&buf);
	foreach(lc, t->notes)
	{
		char	   *n = lfirst(lc);

		if (n[0] == NOTE_KEPT[0])
			n++;
		else
			*changed = true;
		appendStringInfo(&buf, "%s%s", buf.len ? "; " : "", n);
	}
	for (i = 0; i < t->ncols; i++)
	{
		foreach(lc, t->cols[i].notes)
		{
			char	   *n = lfirst(lc);

			if (n[0] == NOTE_KEPT[0])
				n++;
			else
				*changed = true;
			appendStringInfo(&buf, "%scolumn %s: %s", buf.len ? "; " : "",
							 quote_identifier(t->cols[i].pg_name), n);
		}
	}
	return buf.len ? buf.data : NULL;
}


static void
add_note(List **notes, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	*notes = lappend(*notes, buf.data);
}

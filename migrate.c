/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		  The migration functions migrate_sqlite() and migrate_sqlite_plan():
 *		  their options and privileges, the staging server, and, from the
 *		  analysis (analyse.c), the statements that create the tables, copy
 *		  the rows through this extension's foreign tables, check the counts,
 *		  and add keys, indexes, checks, foreign keys, sequences and views;
 *		  running them, recording the run and returning the report.
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


PG_FUNCTION_INFO_V1(migrate_sqlite);
PG_FUNCTION_INFO_V1(migrate_sqlite_plan);

static void parse_options(FunctionCallInfo fcinfo, MigOptions *opts);
static void check_privileges(MigOptions *opts);
static void create_staging_server(Migration *m);
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

/* Set only while migrate_sqlite records its run. */
static bool recording_allowed = false;

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

/* ---------------------------------------------------------------------
 * Names
 * ---------------------------------------------------------------------
 */

/* ---------------------------------------------------------------------
 * Profile and types
 * ---------------------------------------------------------------------
 */

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



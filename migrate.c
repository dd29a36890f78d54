/*-------------------------------------------------------------------------
 *
 * migrate.c
 *		  The migration functions migrate_sqlite() and migrate_sqlite_plan():
 *		  their options and privileges, the staging server, running the
 *		  statements (plan.c) built from the analysis (analyse.c) with their
 *		  count checks and guarded steps, recording the run in the history,
 *		  and the report.
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
#include "storage/fd.h"
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



PG_FUNCTION_INFO_V1(migrate_sqlite);
PG_FUNCTION_INFO_V1(migrate_sqlite_plan);
PG_FUNCTION_INFO_V1(migrate_sqlite_lo);
PG_FUNCTION_INFO_V1(migrate_sqlite_plan_lo);

static Datum run_migration(FunctionCallInfo fcinfo, bool large_object);
static Datum run_plan(FunctionCallInfo fcinfo, bool large_object);
static void parse_options(FunctionCallInfo fcinfo, MigOptions *opts,
						  bool large_object);
static void check_privileges(MigOptions *opts);
static void create_staging_server(Migration *m);
static void take_snapshot(Migration *m, SqliteConn *src);
static void run_generated_step(Migration *m, MigStep *s);
static void run_create_step(Migration *m, MigStep *s);
static void run_key_step(Migration *m, MigStep *s);
/* The extension's schema, where its history table and types are. */
Oid			sqlite_ext_nsp = InvalidOid;
static void run_steps(Migration *m);
static void run_guarded_step(Migration *m, MigStep *s);
static void record_history(Migration *m, Oid func_nsp);
static void emit_report(Migration *m, FunctionCallInfo fcinfo);
static void emit_plan(Migration *m, FunctionCallInfo fcinfo);
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
	return run_migration(fcinfo, false);
}

/*
 * migrate_sqlite_lo(large_object, <the same options>): the same, reading the
 * file from a large object (lovfs.c).
 */
Datum
migrate_sqlite_lo(PG_FUNCTION_ARGS)
{
	return run_migration(fcinfo, true);
}

static Datum
run_migration(FunctionCallInfo fcinfo, bool large_object)
{
	Migration	m;
	int			nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;

	memset(&m, 0, sizeof(m));
	m.started = GetCurrentTimestamp();
	sqlite_ext_nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	parse_options(fcinfo, &m.opts, large_object);
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
	mig_read_catalog(&m);
	mig_assign_names(&m);
	{
		ListCell   *lc;

		foreach(lc, m.tables)
		{
			mig_profile_table(&m, lfirst(lc));
			mig_choose_types(&m, lfirst(lc));
		}
	}
	mig_check_locks(&m);
	mig_build_steps(&m);
	run_steps(&m);
	record_history(&m, get_func_namespace(fcinfo->flinfo->fn_oid));
	if (m.snapshot > 0)
		FileClose(m.snapshot);	/* removes the copy */

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
	return run_plan(fcinfo, false);
}

/* migrate_sqlite_plan_lo(large_object, <the same options>) */
Datum
migrate_sqlite_plan_lo(PG_FUNCTION_ARGS)
{
	return run_plan(fcinfo, true);
}

static Datum
run_plan(FunctionCallInfo fcinfo, bool large_object)
{
	Migration	m;
	int			nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ListCell   *lc;

	memset(&m, 0, sizeof(m));
	m.started = GetCurrentTimestamp();
	m.plan = true;
	sqlite_ext_nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	parse_options(fcinfo, &m.opts, large_object);
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
		mig_read_catalog(&m);
		mig_assign_names(&m);
		foreach(lc, m.tables)
		{
			mig_profile_table(&m, lfirst(lc));
			mig_choose_types(&m, lfirst(lc));
		}
		mig_check_locks(&m);
		mig_build_steps(&m);
		if (m.snapshot > 0)
			FileClose(m.snapshot);	/* removes the copy */
		/* the staging server is rolled back: close its file now */
		sqlite_release_connection(m.conn);

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
			values[2] = CStringGetTextDatum(mig_qualified(mp, s->table->pg_name));
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
		values[2] = CStringGetTextDatum(mig_qualified(mp, t->pg_name));
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
int
sqlite_spi_run(const char *sql, bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute(sql, read_only, count);

	MemoryContextSwitchTo(cxt);
	return rc;
}

int
sqlite_spi_run_args(const char *sql, int nargs, Oid *argtypes, Datum *values,
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
parse_options(FunctionCallInfo fcinfo, MigOptions *opts, bool large_object)
{
	char	   *if_exists;
	char	   *on_mismatch;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", large_object ? "large_object" : "database")));
	if (large_object)
	{
		opts->large_object = PG_GETARG_OID(0);
		opts->database = psprintf("large object %u", opts->large_object);
	}
	else
		opts->database = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!large_object && opts->database[0] != '/')
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

	/* a large object's own ACL is checked when it is opened (lovfs.c) */
	if (!OidIsValid(opts->large_object))
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
	if (OidIsValid(m->opts.large_object))
	{
		/*
		 * A large object is read in this transaction's snapshot, which
		 * nothing can change: no private copy is needed.
		 */
		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE SERVER %s FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (large_object '%u')",
						 quote_identifier(m->server), m->opts.large_object);
		if (sqlite_spi_run(sql.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not create the staging server");
		m->conn = sqlite_get_connection(GetForeignServerByName(m->server, false));
		m->file_size = sqlite_file_size(m->conn);
		return;
	}
	m->file_size = (stat(m->opts.database, &st) == 0) ? (int64) st.st_size : -1;

	/*
	 * In rollback-journal mode a read transaction held for the whole
	 * migration would lock the application's writers out: read a private
	 * copy taken under a short shared lock instead.  In WAL mode readers
	 * never block writers, and the file itself is read.
	 */
	m->read_path = m->opts.database;
	{
		SqliteConn *src = sqlite_open_private(m->opts.database,
											  SQLITE_DEFAULT_BUSY_TIMEOUT);

		take_snapshot(m, src);
		sqlite_close_private(src);
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE SERVER %s FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database %s)",
					 quote_identifier(m->server), quote_literal_cstr(m->read_path));
	if (sqlite_spi_run(sql.data, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not create the staging server");
	m->conn = sqlite_get_connection(GetForeignServerByName(m->server, false));
}

/*
 * Unless the file is in WAL mode, copy it into a temporary file of the
 * server's (counted against temp_file_limit, removed at the end of the
 * transaction, on error, and after a crash) while holding SQLite's shared
 * lock, which writers wait for, only as long as the copy takes.  The
 * migration then reads the copy: one consistent snapshot that never blocks
 * the application.  The journal mode is read under the lock, where it
 * cannot change (switching it needs an exclusive lock): a file in WAL mode
 * is read in place, since a copy would leave its -wal behind.
 */
static void
take_snapshot(Migration *m, SqliteConn *src)
{
	SqliteStmt *st;
	File		copy;
	int64		offset = 0;
	int64		size;
	char	   *buf;
	TimestampTz locked;
	long		secs;
	int			usecs;

	/* a read in a transaction takes the shared lock and keeps it */
	sqlite_exec(src, "BEGIN");
	st = sqlite_prepare(src, "SELECT count(*) FROM sqlite_schema");
	(void) sqlite_step(st);
	sqlite_finalize(st);
	locked = GetCurrentTimestamp();

	if (sqlite_file_is_wal(src))
	{
		sqlite_exec(src, "ROLLBACK");
		return;
	}
	copy = OpenTemporaryFile(false);
	buf = palloc(65536);

	/*
	 * Through SQLite's own descriptor: closing one of ours would release
	 * the shared lock, and any other lock this process holds on the file.
	 */
	size = sqlite_file_size(src);
	while (offset < size)
	{
		int			n = (int) Min((int64) 65536, size - offset);

		CHECK_FOR_INTERRUPTS();
		if (!sqlite_file_read(src, buf, n, offset))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("SQLite database \"%s\" became shorter while it was copied",
							m->opts.database),
					 errdetail("Something wrote to the file without SQLite's locks."),
					 errhint("Stop whatever writes to the file outside SQLite, then run the migration again.")));
		if (FileWrite(copy, buf, n, offset, PG_WAIT_EXTENSION) != n)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write a snapshot of SQLite database \"%s\": %m",
							m->opts.database)));
		offset += n;
	}

	sqlite_exec(src, "ROLLBACK");
	TimestampDifference(locked, GetCurrentTimestamp(), &secs, &usecs);

	/* temporary files are named relative to the data directory */
	m->read_path = make_absolute_path(FilePathName(copy));
	m->snapshot = copy;
	m->snapshot_bytes = (int64) offset;
	m->lock_ms = secs * 1000.0 + usecs / 1000.0;
	{
		MigOther   *o = palloc0(sizeof(MigOther));

		const char *base = strrchr(m->opts.database, '/');

		o->source = pstrdup(base ? base + 1 : m->opts.database);
		o->status = "snapshot taken";
		o->detail = sqlite_report_timings ?
			psprintf("the file is in rollback-journal mode: a private copy of " INT64_FORMAT " bytes was taken under a shared lock held for %.0f ms, and the migration read the copy, so the application's writers were never blocked longer than that",
					 m->snapshot_bytes, m->lock_ms) :
			pstrdup("the file is in rollback-journal mode: a private copy was taken under a short shared lock, and the migration read the copy, so the application's writers were blocked only while it was taken");
		m->others = lappend(m->others, o);
	}
	ereport(NOTICE,
			(errmsg("read a private snapshot of \"%s\" (" INT64_FORMAT " bytes); the file was locked for %.0f ms",
					m->opts.database, m->snapshot_bytes, m->lock_ms)));
}


/* ---------------------------------------------------------------------
 * The plan
 * ---------------------------------------------------------------------
 */

char *
mig_qualified(Migration *m, const char *name)
{
	return quote_qualified_identifier(m->opts.target_schema, name);
}

/* ---------------------------------------------------------------------
 * Running it
 * ---------------------------------------------------------------------
 */

int64
sqlite_spi_count(const char *sql)
{
	bool		isnull;
	Datum		d;

	/* not read_only: it must see the rows this migration inserted */
	if (sqlite_spi_run(sql, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run: %s", sql);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * Run fn(arg) in a subtransaction.  Returns NULL when it succeeded, or the
 * error it raised, after rolling the subtransaction back (a step that
 * PostgreSQL refuses is then reported instead of failing the migration).
 * The caller's memory context and resource owner are kept; an open SPI
 * connection survives.
 */
ErrorData *
sqlite_try(void (*fn) (void *arg), void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return edata;
}

/* What a guarded step found, for run_guarded_step. */
typedef struct GuardedRun
{
	MigStep    *step;
	int64		bad;			/* CHECK: rows that violate it */
	char	   *sql;			/* the statement run */
	int64		count;			/* GENERATED: rows whose values differ */
} GuardedRun;

static void
guarded_body(void *arg)
{
	GuardedRun *g = (GuardedRun *) arg;
	MigStep    *s = g->step;

	g->sql = s->sql;
	if (s->kind == STEP_CHECK)
	{
		g->bad = sqlite_spi_count(s->probe);
		if (g->bad > 0)
			g->sql = psprintf("%s NOT VALID", s->sql);
	}
	if (sqlite_spi_run(g->sql, false, 0) < 0)
		elog(ERROR, "SPI_execute failed: %s", g->sql);
	if (s->kind == STEP_VIEW && s->probe && sqlite_spi_run(s->probe, false, 0) < 0)
		elog(ERROR, "SPI_execute failed: %s", s->probe);
}

/*
 * Add a translated CHECK constraint (NOT VALID when rows violate it),
 * create a translated view or expression index, or drop what a rerun
 * replaces.  A step that PostgreSQL refuses is reported, never a failed
 * migration, except the replacement, whose failure is explained.
 */
static void
run_guarded_step(Migration *m, MigStep *s)
{
	GuardedRun	g = {s, 0, NULL, 0};
	ErrorData  *edata = sqlite_try(guarded_body, &g);

	if (edata == NULL)
	{
		s->sql = g.sql;
		if (g.bad > 0)
		{
			ereport(WARNING,
					(errmsg_plural("%s created NOT VALID: " INT64_FORMAT " row violates it",
								   "%s created NOT VALID: " INT64_FORMAT " rows violate it",
								   (unsigned long) g.bad, s->what, g.bad),
					 errhint("SQLite did not enforce it. Fix the rows, then run ALTER TABLE ... VALIDATE CONSTRAINT.")));
			mig_note(&s->table->notes, "%s created NOT VALID: " INT64_FORMAT " %s it",
					 s->what, g.bad, g.bad == 1 ? "row violates" : "rows violate");
		}
		return;
	}
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
		mig_note(&s->table->notes, "%s not migrated: PostgreSQL refused it: %s",
				 s->what, edata->message);
	FreeErrorData(edata);
}

static void
generated_body(void *arg)
{
	GuardedRun *g = (GuardedRun *) arg;

	g->count = sqlite_spi_count(g->step->sql);
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
	GuardedRun	g = {s, 0, NULL, 0};
	MigColumn  *c = s->column;
	ErrorData  *edata = sqlite_try(generated_body, &g);

	if (edata)
	{
		c->gen_ok = false;
		mig_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: computing it failed: %s",
				 edata->message);
		FreeErrorData(edata);
	}
	else if (g.count > 0)
	{
		c->gen_ok = false;
		mig_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: PostgreSQL computes other values in " INT64_FORMAT " %s",
				 g.count, g.count == 1 ? "row" : "rows");
	}
	else
		mig_note(&c->notes, "%sgenerated column: PostgreSQL computes it (STORED%s), the same values as SQLite's", NOTE_KEPT,
				 c->hidden == 2 ? "; VIRTUAL in SQLite" : "");
}

static void
create_body(void *arg)
{
	MigStep    *s = (MigStep *) arg;

	if (sqlite_spi_run(s->sql, false, 0) < 0)
		elog(ERROR, "SPI_execute failed: %s", s->sql);
}

/*
 * Create a table.  If PostgreSQL refuses a generated column's expression
 * (it must be immutable, say), the table is created with plain columns
 * instead, and that is reported.
 */
static void
run_create_step(Migration *m, MigStep *s)
{
	MigTable   *t = s->table;
	bool		any_generated = false;
	ErrorData  *edata;
	int			i;

	for (i = 0; i < t->ncols; i++)
		any_generated |= t->cols[i].gen_ok;
	s->sql = mig_create_table_sql(m, t);
	if (!any_generated)
	{
		create_body(s);
		return;
	}
	edata = sqlite_try(create_body, s);
	if (edata == NULL)
		return;
	for (i = 0; i < t->ncols; i++)
	{
		if (!t->cols[i].gen_ok)
			continue;
		t->cols[i].gen_ok = false;
		mig_note(&t->cols[i].notes, "generated column migrated as a plain column holding SQLite's values: PostgreSQL refused the expression: %s",
				 edata->message);
	}
	FreeErrorData(edata);
	s->sql = mig_create_table_sql(m, t);
	create_body(s);
}

/*
 * Add a key SQLite enforced.  Rows that repeat it mean SQLite did not see
 * its own index's duplicates: the file is damaged, and the error says so.
 */
static void
run_key_step(Migration *m, MigStep *s)
{
	ErrorData  *edata = sqlite_try(create_body, s);

	if (edata == NULL)
		return;
	if (edata->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("SQLite table \"%s\" repeats a key that SQLite enforces",
						s->table->sqlite_name),
				 edata->detail ? errdetail("%s", edata->detail) : 0,
				 errhint("The file is probably damaged: check it with sqlite3 FILE \"PRAGMA integrity_check\". Nothing was written.")));
	ReThrowError(edata);
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
										s->table ? mig_qualified(m, s->table->pg_name) : ""));
		switch (s->kind)
		{
			case STEP_SQL:
				rc = sqlite_spi_run(s->sql, false, 0);
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
					bool		frozen;

					if (!OidIsValid(relid))
						elog(ERROR, "table %s was not created", mig_qualified(m, s->table->pg_name));

					/* the equivalent statement, for the plan's record */
					s->sql = mig_insert_sql(m, s->table);

					pgstat_progress_start_command(PROGRESS_COMMAND_COPY, relid);
					pgstat_progress_update_param(PROGRESS_COPY_COMMAND, PROGRESS_COPY_COMMAND_FROM);
					pgstat_progress_update_param(PROGRESS_COPY_TYPE, PROGRESS_COPY_TYPE_FILE);
					sqlite_copy_progress = true;
					PG_TRY();
					{
						s->table->target_rows = mig_bulk_copy(m, s->table, relid, &frozen);
					}
					PG_FINALLY();
					{
						sqlite_copy_progress = false;
					}
					PG_END_TRY();
					if (!frozen && s->table->target_rows > 0)
						mig_note(&s->table->notes, NOTE_KEPT "rows written unfrozen: this transaction holds an older snapshot or an open cursor, so the first VACUUM of %s will freeze them",
								 mig_qualified(m, s->table->pg_name));
					pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED,
												 s->table->target_rows);
					pgstat_progress_end_command();

					if (s->table->target_rows != s->table->source_rows &&
						!s->table->quarantine)
						ereport(ERROR,
								(errcode(ERRCODE_DATA_EXCEPTION),
								 errmsg("copied " INT64_FORMAT " rows into %s, but SQLite table \"%s\" has " INT64_FORMAT,
										s->table->target_rows, mig_qualified(m, s->table->pg_name),
										s->table->sqlite_name, s->table->source_rows),
								 errdetail("Both counts come from the same SQLite snapshot. Nothing was kept.")));
					TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
					elapsed = secs + usecs / 1000000.0;
					ereport(NOTICE,
							(errmsg_plural("copied " INT64_FORMAT " row into %s in %.2f s (%.0f rows/s)",
										   "copied " INT64_FORMAT " rows into %s in %.2f s (%.0f rows/s)",
										   (unsigned long) s->table->target_rows,
									s->table->target_rows, mig_qualified(m, s->table->pg_name),
									elapsed, elapsed > 0 ? s->table->target_rows / elapsed : 0.0)));
					break;
				}
			case STEP_REJECTS:
				rc = sqlite_spi_run(s->sql, false, 0);
				if (rc != SPI_OK_INSERT)
					elog(ERROR, "SPI_execute failed (%d): %s", rc, s->sql);
				s->table->rejected_rows = (int64) SPI_processed;
				if (s->table->target_rows + s->table->rejected_rows != s->table->source_rows)
					ereport(ERROR,
							(errcode(ERRCODE_DATA_EXCEPTION),
							 errmsg("copied " INT64_FORMAT " rows into %s and " INT64_FORMAT " into %s, but SQLite table \"%s\" has " INT64_FORMAT,
									s->table->target_rows, mig_qualified(m, s->table->pg_name),
									s->table->rejected_rows, mig_qualified(m, s->table->rejects),
									s->table->sqlite_name, s->table->source_rows),
							 errdetail("All counts come from the same SQLite snapshot. Nothing was kept.")));
				mig_note(&s->table->notes, INT64_FORMAT " %s moved, whole and unchanged, to %s",
						 s->table->rejected_rows,
						 s->table->rejected_rows == 1 ? "row" : "rows",
						 mig_qualified(m, s->table->rejects));
				ereport(NOTICE,
						(errmsg_plural("moved " INT64_FORMAT " row of SQLite table \"%s\" to %s",
									   "moved " INT64_FORMAT " rows of SQLite table \"%s\" to %s",
									   (unsigned long) s->table->rejected_rows,
								s->table->rejected_rows, s->table->sqlite_name,
								mig_qualified(m, s->table->rejects))));
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
			case STEP_KEY:
				run_key_step(m, s);
				break;
			case STEP_CREATE:
				run_create_step(m, s);
				break;
			case STEP_FKEY:
				{
					/*
					 * Validated while it is added; only when that finds
					 * orphans are they counted, and the key added NOT VALID.
					 */
					ErrorData  *edata = sqlite_try(create_body, s);
					int64		bad;

					if (edata == NULL)
						break;
					if (edata->sqlerrcode != ERRCODE_FOREIGN_KEY_VIOLATION)
						ReThrowError(edata);
					FreeErrorData(edata);
					bad = sqlite_spi_count(s->probe);
					s->sql = psprintf("%s NOT VALID", s->sql);
					ereport(WARNING,
							(errmsg_plural("%s created NOT VALID: " INT64_FORMAT " row violates it",
										   "%s created NOT VALID: " INT64_FORMAT " rows violate it",
										   (unsigned long) bad, s->what, bad),
							 errhint("SQLite did not enforce it. Fix the rows, then run ALTER TABLE ... VALIDATE CONSTRAINT.")));
					mig_note(&s->table->notes, "%s created NOT VALID: " INT64_FORMAT " %s it",
							 s->what, bad, bad == 1 ? "row violates" : "rows violate");
					rc = sqlite_spi_run(s->sql, false, 0);
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
		escape_json(&report, mig_qualified(m, t->pg_name));
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
		if (sqlite_spi_run_args(sql, 7, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
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
		values[1] = CStringGetTextDatum(mig_qualified(m, t->pg_name));
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



/*-------------------------------------------------------------------------
 *
 * sqlite_fdw_mig.h
 *		  Declarations shared by the files of sqlite_fdw_mig, grouped by the
 *		  file that defines them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SQLITE_FDW_MIG_H
#define SQLITE_FDW_MIG_H

#include <sqlite3.h>

#include "foreign/foreign.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
#include "utils/snapshot.h"
#include "nodes/plannodes.h"
#include "commands/explain.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

/*
 * What numbers stored in a date/time column mean.  SQLite has no date type:
 * an integer or real in such a column is ambiguous, so reading one is an
 * error unless the column's datetime_unit option names its meaning.
 */
typedef enum SqliteDatetimeUnit
{
	SQLITE_DT_NONE = 0,			/* numbers are an error */
	SQLITE_DT_UNIXEPOCH,		/* seconds since 1970-01-01 00:00:00 UTC */
	SQLITE_DT_UNIXEPOCH_MS,		/* milliseconds since the same */
	SQLITE_DT_JULIANDAY			/* Julian day number, as SQLite's julianday() */
} SqliteDatetimeUnit;

/*
 * Which rows a scan returns: all, or (for a migration's quarantine) only
 * those whose every value fits the check types, or only the others.
 */
typedef enum SqliteRowsMode
{
	SQLITE_ROWS_ALL = 0,
	SQLITE_ROWS_MATCHING,
	SQLITE_ROWS_MISMATCHED
} SqliteRowsMode;

/* ---------------------------------------------------------------------
 * in option.c
 * ---------------------------------------------------------------------
 */

/* Server-level settings, resolved from the catalog. */
typedef struct SqliteServerOptions
{
	char	   *database;		/* absolute path of the SQLite file, or NULL */
	Oid			large_object;	/* or the large object holding it */
	int			busy_timeout;	/* milliseconds to wait for a lock */
} SqliteServerOptions;

#define SQLITE_DEFAULT_BUSY_TIMEOUT 5000

extern void sqlite_get_server_options(ForeignServer *server,
									  SqliteServerOptions *opts);
extern char *sqlite_table_name(Oid relid);
extern char *sqlite_column_name(Oid relid, AttrNumber attnum);
extern SqliteDatetimeUnit sqlite_column_datetime_unit(Oid relid,
													  AttrNumber attnum);
extern SqliteDatetimeUnit sqlite_parse_datetime_unit(const char *value);
extern void sqlite_check_read_privilege(const char *what);
extern void sqlite_check_write_privilege(const char *what);
extern bool sqlite_table_updatable(Oid relid);
extern bool sqlite_server_may_write(Oid serverid);
extern void sqlite_check_server_writable(Oid serverid);
extern int	sqlite_table_batch_size(Oid relid);
extern bool sqlite_column_is_key(Oid relid, AttrNumber attnum);
extern AttrNumber sqlite_column_attnum(Relation rel, const char *utf8_name);
extern SqliteRowsMode sqlite_parse_rows_mode(const char *value);
extern SqliteRowsMode sqlite_table_rows_mode(Oid relid);
extern char *sqlite_column_check_type(Oid relid, AttrNumber attnum);

/* ---------------------------------------------------------------------
 * in connection.c
 * ---------------------------------------------------------------------
 */

typedef struct SqliteConn SqliteConn;

/*
 * A prepared SQLite statement whose lifetime is tied to a memory context:
 * it is finalized by sqlite_finalize(), by the reset or deletion of the
 * context it was prepared in (error cleanup), or at transaction end,
 * whichever comes first.
 */
typedef struct SqliteStmt
{
	sqlite3_stmt *stmt;			/* NULL once finalized */
	SqliteConn *conn;
	const char *sql;			/* the text, for error context */
	dlist_node	node;			/* in the connection's list of statements */
	MemoryContextCallback cb;
} SqliteStmt;

extern SqliteConn *sqlite_get_connection(ForeignServer *server);
extern SqliteConn *sqlite_get_write_connection(ForeignServer *server);
extern SqliteConn *sqlite_open_private(const char *path, int busy_timeout);
extern void sqlite_close_private(SqliteConn *conn);
extern bool sqlite_file_is_wal(SqliteConn *conn);
extern bool sqlite_file_is_utf8(SqliteConn *conn);
extern int64 sqlite_file_size(SqliteConn *conn);
extern bool sqlite_file_read(SqliteConn *conn, void *buf, int len, int64 offset);
extern void sqlite_exec(SqliteConn *conn, const char *sql);
extern sqlite3 *sqlite_conn_handle(SqliteConn *conn);
extern void sqlite_release_connection(SqliteConn *conn);
extern const char *sqlite_conn_path(SqliteConn *conn);
extern SqliteStmt *sqlite_prepare(SqliteConn *conn, const char *sql);
extern int	sqlite_step(SqliteStmt *st);
extern void sqlite_reset(SqliteStmt *st);
extern void sqlite_finalize(SqliteStmt *st);
extern void sqlite_report(SqliteConn *conn, int rc, const char *sql) pg_attribute_noreturn();
extern void sqlite_report_write(SqliteConn *conn, int rc, const char *sql,
								const char *table) pg_attribute_noreturn();
extern void sqlite_busy_reset(SqliteConn *conn);
extern void sqlite_defer_foreign_keys(SqliteConn *conn);
extern char *sqlite_build_uri(const char *path);
extern char *sqlite_build_uri_mode(const char *path, bool write);
extern void sqlite_set_memory_limit(int kilobytes);

/*
 * A SQL function every connection has: 1 when each value is of the storage
 * class its column's type reads exactly (connection.c).
 */
#define SQLITE_VALUES_OK_FUNC "sqlite_fdw_mig_values_ok"

/* ---------------------------------------------------------------------
 * in typemap.c
 * ---------------------------------------------------------------------
 */

/* How a column's SQLite values become Datums of its PostgreSQL type. */
typedef enum SqliteConvKind
{
	CONV_INT2,
	CONV_INT4,
	CONV_INT8,
	CONV_FLOAT4,
	CONV_FLOAT8,
	CONV_NUMERIC,
	CONV_BOOL,
	CONV_TEXT,					/* text, and varchar/bpchar with length check */
	CONV_BYTEA,
	CONV_DATE,
	CONV_TIME,
	CONV_TIMESTAMP,
	CONV_TIMESTAMPTZ,
	CONV_UUID,
	CONV_RAW,					/* sqlite_value: storage class and raw value */
	CONV_INPUT					/* anything else, through its input function */
} SqliteConvKind;

typedef struct SqliteColumnConv
{
	Oid			typid;			/* the column's declared type (maybe domain) */
	int32		typmod;
	Oid			basetypid;		/* after looking through domains */
	int32		basetypmod;
	SqliteConvKind kind;
	SqliteDatetimeUnit dtunit;
	int32		maxchars;		/* varchar/bpchar length limit, or -1 */
	bool		is_domain;
	void	   *domain_extra;	/* domain_check() cache */
	FmgrInfo	infunc;			/* for CONV_INPUT and numeric typmods */
	Oid			ioparam;
	TupleDesc	rawdesc;		/* CONV_RAW: the sqlite_value row type */
	MemoryContext mcxt;			/* long-lived context for caches */
} SqliteColumnConv;

/* SQLite date/time text, split into fields (sqlite_parse_datetime). */
typedef struct SqliteDateTime
{
	bool		has_date;
	bool		has_time;
	bool		has_tz;
	int			year;
	int			month;
	int			day;
	int			hour;
	int			minute;
	int			second;
	int64		usec;			/* fraction of the second */
	int			tz_seconds;		/* offset east of UTC */
} SqliteDateTime;

extern bool sqlite_parse_datetime(const char *s, int len, SqliteDateTime *dt);
extern void sqlite_conv_init(SqliteColumnConv *conv, Oid typid, int32 typmod,
							 SqliteDatetimeUnit dtunit, MemoryContext mcxt);
extern Datum sqlite_conv_value(SqliteColumnConv *conv, sqlite3_stmt *stmt,
							   int col, bool *isnull);
extern char *sqlite_describe_value(sqlite3_stmt *stmt, int col);
extern char *sqlite_printable(const char *s, int len, int maxchars);
extern const char *sqlite_storage_class_name(int sqlite_type);
extern char *sqlite_map_declared_type(const char *decltype);
extern char *sqlite_real_to_text(double d, char *buf);

/* ---------------------------------------------------------------------
 * in sqlite_fdw_mig.c (planning of scans; shared with upper.c)
 * ---------------------------------------------------------------------
 */
/* What planning learns about a foreign table, kept in baserel->fdw_private. */
typedef struct SqliteRelInfo
{
	char	   *table;			/* SQLite table name */
	const char *rowid;			/* its rowid alias, or NULL */
	List	   *remote_conds;	/* RestrictInfos SQLite pre-filters on */
	bool		writes;			/* the statement writes to this server */
	bool		materialize;	/* read every row before the statement runs */
	AttrNumber	alias_attnum;	/* the INTEGER PRIMARY KEY column, or 0 */
	bool		is_table;		/* an ordinary SQLite table (not a view) */
	List	   *lookups;		/* SqliteLookup whose column is an attnum */
	List	   *lookup_attnums; /* ... and that attnum (IntList) */
	bool		utf8;			/* the file's text is UTF-8 */
} SqliteRelInfo;

extern void sqlite_bind_values(SqliteConn *conn, SqliteStmt *st, List *param_exprs,
							   ExprContext *econtext);
extern void sqlite_add_limit_paths(PlannerInfo *root, RelOptInfo *input_rel,
								   RelOptInfo *final_rel,
								   FinalPathExtraData *extra);

/* ---------------------------------------------------------------------
 * in deparse.c
 * ---------------------------------------------------------------------
 */
extern bool sqlite_is_pushable_clause(PlannerInfo *root, RelOptInfo *baserel,
									  Expr *clause);
extern void sqlite_deparse_select(StringInfo buf, PlannerInfo *root,
								  RelOptInfo *baserel, Relation rel,
								  const char *tablename, const char *rowid_name,
								  List *remote_conds, bool all_columns,
								  AttrNumber alias_attnum, bool is_table,
								  List **retrieved_attrs, List **params_list);
extern void sqlite_deparse_where(StringInfo buf, Relation rel, Index relid,
								 List *remote_conds, AttrNumber alias_attnum,
								 bool is_table, List **params_list);
extern bool sqlite_clause_is_exact(Expr *clause, Index relid);
extern char sqlite_exact_class(Relation rel, AttrNumber attnum);
extern AttrNumber sqlite_clause_lookup_attnum(RelOptInfo *baserel,
											  Expr *clause);
extern void sqlite_append_ident(StringInfo buf, const char *name);
extern void sqlite_append_ident_utf8(StringInfo buf, const char *utf8);

/* ---------------------------------------------------------------------
 * in lovfs.c
 * ---------------------------------------------------------------------
 */
extern void sqlite_lo_vfs_register(void);
extern char *sqlite_lo_open_uri(Oid loid, const char *label,
								Snapshot *snapshot);
extern void sqlite_lo_open_done(void);
extern void sqlite_lo_rethrow(void);
extern void sqlite_lo_xact_end(bool isCommit);
extern void sqlite_lo_forget_error(void);
extern void sqlite_lo_set_aborting(bool aborting);
extern void sqlite_lo_check_access(Oid loid, Snapshot snapshot);

/* ---------------------------------------------------------------------
 * in upper.c
 * ---------------------------------------------------------------------
 */
extern void sqliteGetForeignUpperPaths(PlannerInfo *root,
									   UpperRelationKind stage,
									   RelOptInfo *input_rel,
									   RelOptInfo *output_rel, void *extra);
extern ForeignScan *sqlite_upper_plan(PlannerInfo *root, RelOptInfo *rel,
									  ForeignPath *best_path, List *tlist,
									  Plan *outer_plan);
extern void sqlite_upper_begin(ForeignScanState *node, int eflags);
extern TupleTableSlot *sqlite_upper_iterate(ForeignScanState *node);
extern void sqlite_upper_rescan(ForeignScanState *node);
extern void sqlite_upper_end(ForeignScanState *node);
extern void sqlite_upper_explain(ForeignScanState *node, ExplainState *es);

/* ---------------------------------------------------------------------
 * in modify.c
 * ---------------------------------------------------------------------
 */
extern void sqlite_rowid_to_tid(int64 rowid, ItemPointer tid);
extern bool sqlite_statement_writes_server(PlannerInfo *root, Oid serverid);
extern bool sqlite_statement_writes(PlannerInfo *root, Oid serverid);
extern int	sqliteIsForeignRelUpdatable(Relation rel);
extern void sqliteAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
										  RangeTblEntry *target_rte,
										  Relation target_relation);
extern List *sqlitePlanForeignModify(PlannerInfo *root, ModifyTable *plan,
									 Index resultRelation, int subplan_index);
extern void sqliteBeginForeignModify(ModifyTableState *mtstate,
									 ResultRelInfo *rinfo, List *fdw_private,
									 int subplan_index, int eflags);
extern void sqliteBeginForeignInsert(ModifyTableState *mtstate,
									 ResultRelInfo *rinfo);
extern TupleTableSlot *sqliteExecForeignInsert(EState *estate,
											   ResultRelInfo *rinfo,
											   TupleTableSlot *slot,
											   TupleTableSlot *planSlot);
extern TupleTableSlot **sqliteExecForeignBatchInsert(EState *estate,
													 ResultRelInfo *rinfo,
													 TupleTableSlot **slots,
													 TupleTableSlot **planSlots,
													 int *numSlots);
extern int	sqliteGetForeignModifyBatchSize(ResultRelInfo *rinfo);
extern TupleTableSlot *sqliteExecForeignUpdate(EState *estate,
											   ResultRelInfo *rinfo,
											   TupleTableSlot *slot,
											   TupleTableSlot *planSlot);
extern TupleTableSlot *sqliteExecForeignDelete(EState *estate,
											   ResultRelInfo *rinfo,
											   TupleTableSlot *slot,
											   TupleTableSlot *planSlot);
extern void sqliteEndForeignModify(EState *estate, ResultRelInfo *rinfo);
extern void sqliteEndForeignInsert(EState *estate, ResultRelInfo *rinfo);
extern void sqliteExplainForeignModify(ModifyTableState *mtstate,
									   ResultRelInfo *rinfo, List *fdw_private,
									   int subplan_index,
									   ExplainState *es);
extern void sqliteExecForeignTruncate(List *rels, DropBehavior behavior,
									  bool restart_seqs);

/* ---------------------------------------------------------------------
 * in import.c
 * ---------------------------------------------------------------------
 */
extern List *sqliteImportForeignSchema(ImportForeignSchemaStmt *stmt,
									   Oid serverOid);
extern const char *sqlite_rowid_alias(SqliteConn *conn, const char *table,
									  bool *exists);
extern double sqlite_estimate_rows(SqliteConn *conn, const char *table,
								   const char *rowid);
extern char *sqlite_shorten_name(const char *name);

/* A column SQLite can look a value up by (sqlite_table_lookups). */
typedef struct SqliteLookup
{
	char	   *column;			/* SQLite name, UTF-8 */
	bool		unique;			/* at most one row per value */
	bool		rowid_alias;	/* the INTEGER PRIMARY KEY: always an integer */
	double		per_key;		/* rows per value, or -1 if unknown */
} SqliteLookup;

extern List *sqlite_table_lookups(SqliteConn *conn, const char *table,
								  bool has_rowid, bool *is_table);

/* ---------------------------------------------------------------------
 * in translate.c
 * ---------------------------------------------------------------------
 */

/* What a SQLite expression taken from the file is used as. */
typedef enum SqliteExprKind
{
	SQLITE_EXPR_DEFAULT,		/* column DEFAULT */
	SQLITE_EXPR_CHECK,			/* CHECK constraint */
	SQLITE_EXPR_GENERATED,		/* generated column expression */
	SQLITE_EXPR_INDEX,			/* index key expression */
	SQLITE_EXPR_WHERE			/* partial index predicate */
} SqliteExprKind;

/* A SQLite column name and the (unquoted) PostgreSQL name it became. */
typedef struct SqliteNameMap
{
	char	   *sqlite_name;
	char	   *pg_name;
	Oid			pg_type;		/* the column's PostgreSQL type */
} SqliteNameMap;

/* A CHECK constraint or generated column found in a CREATE TABLE text. */
typedef struct SqliteTableExpr
{
	char	   *name;			/* CONSTRAINT name, or NULL */
	char	   *column;			/* column it belongs to, or NULL (table level) */
	char	   *expr;			/* expression text as in the file */
	bool		stored;			/* generated column: STORED (else VIRTUAL) */
} SqliteTableExpr;

extern char *sqlite_translate_expr(const char *expr, SqliteExprKind kind,
								   Oid target_type, List *colmap,
								   char **reason);
extern char *sqlite_translate_view(const char *create_view_sql,
								   List *tablemap, char **reason);
extern List *sqlite_extract_checks(const char *create_table_sql);
extern List *sqlite_extract_generated(const char *create_table_sql);
extern void sqlite_extract_index_parts(const char *sql, List **items,
									   char **where);

/* A foreign key clause found in a CREATE TABLE text. */
typedef struct SqliteFKeyText
{
	char	   *parent;			/* referenced table, as written */
	List	   *from;			/* child column names (char *) */
	bool		deferrable;
	bool		initially_deferred;
} SqliteFKeyText;

extern List *sqlite_extract_fkeys(const char *create_table_sql);

/* A SQLite table that a view may use, and where it went. */
typedef struct SqliteTableMap
{
	char	   *sqlite_name;
	char	   *pg_schema;		/* unquoted */
	char	   *pg_name;		/* unquoted */
	List	   *colmap;			/* SqliteNameMap of its columns */
} SqliteTableMap;

/* ---------------------------------------------------------------------
 * in profile.c
 * ---------------------------------------------------------------------
 */

/* What the values of one SQLite column turned out to be. */
typedef struct SqliteColumnProfile
{
	int64		n_null;
	int64		n_int;
	int64		n_real;
	int64		n_text;			/* valid UTF-8 without NUL */
	int64		n_text_bad;		/* invalid UTF-8 or NUL */
	int64		n_blob;
	int64		int_min;		/* over INTEGER values and integral text */
	int64		int_max;
	bool		real_integral;	/* every REAL is integral and within int64 */
	bool		big_int;		/* an INTEGER beyond 2^53 */
	bool		nonfinite;		/* a REAL or text infinity/NaN */
	int64		max_chars;		/* longest text, in characters */
	int			max_scale;		/* digits after the point, numbers */
	int			max_int_digits; /* digits before the point, numbers */
	bool		dt_time;		/* date/time text with a time of day */
	bool		dt_offset;		/* date/time text with a non-zero offset */
	bool		json_lossy;		/* JSON that jsonb would change */
	int64		n_mismatch;		/* values the intended type cannot hold */
	bool		example_has_rowid;
	int64		example_rowid;	/* the first of them */
	char	   *example;		/* and its description */
	MemoryContext cxt;			/* where the example is kept */
} SqliteColumnProfile;

extern void sqlite_profile_init(SqliteColumnProfile *prof);
extern void sqlite_profile_value(SqliteColumnProfile *prof,
								 SqliteColumnConv *intended, sqlite3_stmt *stmt,
								 int col, bool has_rowid);
extern bool sqlite_numeric_digits(const char *s, int *int_digits, int *scale);
extern bool sqlite_value_fits(SqliteColumnConv *conv, sqlite3_stmt *stmt, int col);

/* ---------------------------------------------------------------------
 * in analyse.c: the model of a migration, shared with migrate.c
 * ---------------------------------------------------------------------
 */

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
	char	   *database;		/* the path, or "large object N" */
	Oid			large_object;	/* the file's large object, or InvalidOid */
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
	char	   *read_path;		/* the file read: the source or a snapshot */
	int64		snapshot_bytes; /* size of the private snapshot, if any */
	double		lock_ms;		/* how long taking it locked the source */
	int			snapshot;		/* its temporary File, or 0 */
} Migration;

/* Marks a note that says what was kept, not what changed. */
#define NOTE_KEPT "\x01"

extern void mig_read_catalog(Migration *m);
extern void mig_assign_names(Migration *m);
extern void mig_profile_table(Migration *m, MigTable *t);
extern void mig_choose_types(Migration *m, MigTable *t);
extern char *mig_unique_name(Migration *m, const char *want, const char *suffix);
extern char *mig_pg_name(Migration *m, const char *sqlite_name);
extern char *mig_server_text(const char *utf8);
extern int	mig_find_column(MigTable *t, const char *sqlite_name);
extern MigTable *mig_find_table(Migration *m, const char *sqlite_name);
extern void mig_note(List **notes, const char *fmt,...) pg_attribute_printf(2, 3);

/* ---------------------------------------------------------------------
 * in plan.c
 * ---------------------------------------------------------------------
 */
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
	STEP_CREATE,				/* create a table (built when run) */
	STEP_KEY					/* add a key SQLite enforced: a duplicate means
								 * a damaged file */
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

extern void mig_build_steps(Migration *m);
extern void mig_check_locks(Migration *m);
extern void mig_add_step(Migration *m, StepKind kind, const char *phase,
					 MigTable *t, char *sql);
extern char *mig_create_table_sql(Migration *m, MigTable *t);
extern char *mig_insert_sql(Migration *m, MigTable *t);

/* copy.c */
extern int64 mig_bulk_copy(Migration *m, MigTable *t, Oid relid, bool *frozen);

/* ---------------------------------------------------------------------
 * in migrate.c
 * ---------------------------------------------------------------------
 */
extern bool sqlite_copy_progress;

/* in sqlite_fdw_mig.c */
extern bool sqlite_report_timings;
extern bool sqlite_enable_pushdown;

/* sqlite_fdw_mig.aggregate_pushdown */
typedef enum SqliteAggPushdown
{
	SQLITE_AGG_PUSHDOWN_COST,	/* when estimated cheaper */
	SQLITE_AGG_PUSHDOWN_ALWAYS, /* whenever exact */
	SQLITE_AGG_PUSHDOWN_OFF
} SqliteAggPushdown;
extern int	sqlite_aggregate_pushdown;
extern Oid	sqlite_ext_nsp;
extern char *mig_qualified(Migration *m, const char *name);
extern int	sqlite_spi_run(const char *sql, bool read_only, long count);
extern int	sqlite_spi_run_args(const char *sql, int nargs, Oid *argtypes,
								Datum *values, const char *nulls,
								bool read_only, long count);
extern int64 sqlite_spi_count(const char *sql);
extern ErrorData *sqlite_try(void (*fn) (void *arg), void *arg);

#endif							/* SQLITE_FDW_MIG_H */

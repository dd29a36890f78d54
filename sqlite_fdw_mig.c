/*-------------------------------------------------------------------------
 *
 * sqlite_fdw_mig.c
 *		  Module magic, settings, the FDW handler, planning and scan
 *		  callbacks, EXPLAIN and ANALYZE of sqlite_fdw_mig.
 *
 * A scan prepares one SQLite statement that fetches the rowid (for error
 * messages) and only the columns the query needs, steps it once per row and
 * converts each value straight to a Datum (typemap.c) in per-tuple memory.
 * Conditions SQLite can evaluate without changing the result are sent in
 * its WHERE clause as a pre-filter (deparse.c); PostgreSQL still checks
 * every condition.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "catalog/pg_opfamily.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parse_type.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/tuplestore.h"

#include "sqlite_fdw_mig.h"

PG_MODULE_MAGIC;

/* sqlite_fdw_mig.sqlite_memory_limit, in kilobytes */
static int	sqlite_memory_limit_kb = 256 * 1024;

/* sqlite_fdw_mig.report_timings */
bool		sqlite_report_timings = true;
bool		sqlite_enable_pushdown = true;

/* sqlite_fdw_mig.aggregate_pushdown */
int			sqlite_aggregate_pushdown = SQLITE_AGG_PUSHDOWN_COST;

static const struct config_enum_entry aggregate_pushdown_options[] = {
	{"cost", SQLITE_AGG_PUSHDOWN_COST, false},
	{"always", SQLITE_AGG_PUSHDOWN_ALWAYS, false},
	{"off", SQLITE_AGG_PUSHDOWN_OFF, false},
	{NULL, 0, false}
};


/*
 * Is this ForeignScan an aggregate computed by SQLite (upper.c)?  A scan
 * with LIMIT/OFFSET pushed down has scanrelid 0 too, but the fdw_private of
 * an ordinary scan plus ScanPrivateLimitRti, the only String that ends one
 * (an aggregate's ends with an Integer): a test cheap enough for every row.
 */
#define IsLimitScan(node) \
	(((ForeignScan *) (node)->ss.ps.plan)->scan.scanrelid == 0 && \
	 IsA(llast(((ForeignScan *) (node)->ss.ps.plan)->fdw_private), String))
#define LIMIT_SCAN_MARKER "limit"

#define IsUpperScan(node) \
	(((ForeignScan *) (node)->ss.ps.plan)->scan.scanrelid == 0 && \
	 !IsLimitScan(node))

/* The slots of ForeignScan.fdw_private. */
enum SqliteScanPrivate
{
	ScanPrivateSql,				/* SELECT sent to SQLite (String) */
	ScanPrivateRetrievedAttrs,	/* attnums of its columns 2..n (IntList) */
	ScanPrivateHasRowid,		/* whether column 1 is the rowid (Integer) */
	ScanPrivateRowsMode,		/* SqliteRowsMode (Integer) */
	ScanPrivateMaterialize,		/* read every row before the statement runs
								 * (Integer) */
	ScanPrivateWrite,			/* the statement writes to this file: take
								 * the write lock (Integer) */
	ScanPrivateLimitRti			/* with LIMIT/OFFSET pushed: LIMIT_SCAN_MARKER
								 * (String) */
};

/* The execution state of a scan (or of ANALYZE's sampling read). */
typedef struct SqliteScanState
{
	Relation	rel;
	const char *table;			/* SQLite table, for messages */
	SqliteConn *conn;
	SqliteStmt *stmt;
	char	   *sql;
	bool		has_rowid;
	int			ncols;			/* columns after the rowid */
	AttrNumber *attnums;		/* attnum of each of them */
	SqliteColumnConv *convs;	/* conversion of each of them */
	SqliteRowsMode rows_mode;	/* which rows to return */
	SqliteColumnConv *checks;	/* the check of each column (rows_mode) */
	int			current;		/* column being converted, or -1 */
	List	   *param_exprs;	/* ExprStates of the values to bind */
	bool		params_bound;
	int64		rows;			/* rows returned, for progress reports */
	bool		materialize;	/* the statement writes to this file */
	bool		limit;			/* LIMIT and OFFSET are the last two values */
	Tuplestorestate *store;		/* then: every row, and its rowid last */
	TupleDesc	storedesc;
	TupleTableSlot *storeslot;
	bool		stored;			/* the store is filled */
	MemoryContext scancxt;		/* the scan's own context */
} SqliteScanState;

void		_PG_init(void);

PG_FUNCTION_INFO_V1(sqlite_fdw_mig_handler);
PG_FUNCTION_INFO_V1(sqlite_fdw_mig_sqlite_version);

static void sqliteGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
									Oid foreigntableid);
static void sqliteGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								  Oid foreigntableid);
static ForeignScan *sqliteGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
										 Oid foreigntableid, ForeignPath *best_path,
										 List *tlist, List *scan_clauses,
										 Plan *outer_plan);
static void sqliteBeginForeignScan(ForeignScanState *node, int eflags);
static TupleTableSlot *sqliteIterateForeignScan(ForeignScanState *node);
static void sqliteReScanForeignScan(ForeignScanState *node);
static void sqliteEndForeignScan(ForeignScanState *node);
static void sqliteExplainForeignScan(ForeignScanState *node, ExplainState *es);
static bool sqliteAnalyzeForeignTable(Relation relation,
									  AcquireSampleRowsFunc *func,
									  BlockNumber *totalpages);
static int	sqlite_acquire_sample_rows(Relation relation, int elevel,
									   HeapTuple *rows, int targrows,
									   double *totalrows, double *totaldeadrows);

static ForeignServer *server_of(Oid relid);
static ForeignScan *limit_plan(PlannerInfo *root, ForeignPath *best_path,
							   List *tlist);
static bool limit_value_ok(Node *n);
static void scan_setup(SqliteScanState *ss, Relation rel, const char *sql,
					   bool has_rowid, List *retrieved_attrs,
					   SqliteRowsMode rows_mode, bool write);
static bool scan_next(SqliteScanState *ss, TupleTableSlot *slot);
static void scan_fill_store(SqliteScanState *ss, TupleTableSlot *slot);
static bool contains_exec_param(Node *node, void *context);
static bool push_is_integer(Oid typid);
static bool ec_member_is_column(PlannerInfo *root, RelOptInfo *rel,
								EquivalenceClass *ec, EquivalenceMember *em,
								void *arg);
static void add_lookup_paths(PlannerInfo *root, RelOptInfo *baserel,
							 SqliteRelInfo *info);
static bool row_wanted(SqliteScanState *ss);
static void scan_convert_row(SqliteScanState *ss, Datum *values, bool *nulls);
static void scan_error_callback(void *arg);
static void bind_params(SqliteScanState *ss, ExprContext *econtext);
static void assign_memory_limit(int newval, void *extra);

void
_PG_init(void)
{
	int			rc = sqlite3_initialize();

	if (rc != SQLITE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize SQLite: %s", sqlite3_errstr(rc))));

	DefineCustomIntVariable("sqlite_fdw_mig.sqlite_memory_limit",
							"Most memory SQLite may allocate in one backend.",
							"SQLite's memory is outside PostgreSQL's accounting; past this limit "
							"a SQLite call fails with an out-of-memory error.",
							&sqlite_memory_limit_kb,
							256 * 1024, 1024, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, assign_memory_limit, NULL);
	DefineCustomBoolVariable("sqlite_fdw_mig.report_timings",
							 "Whether migration reports show how long a lock was held.",
							 "Off gives reports that are the same on every run, for tests.",
							 &sqlite_report_timings,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("sqlite_fdw_mig.enable_pushdown",
							 "Whether conditions may be sent to SQLite.",
							 "Off evaluates every condition in PostgreSQL; results are the same either way.",
							 &sqlite_enable_pushdown,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("sqlite_fdw_mig.aggregate_pushdown",
							 "When aggregates may be computed by SQLite.",
							 "cost: when the planner estimates it cheaper; always: whenever the "
							 "result is the same; off: never.  Only with enable_pushdown on.",
							 &sqlite_aggregate_pushdown,
							 SQLITE_AGG_PUSHDOWN_COST,
							 aggregate_pushdown_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("sqlite_fdw_mig");
	sqlite_set_memory_limit(sqlite_memory_limit_kb);
	sqlite_lo_vfs_register();
}

static void
assign_memory_limit(int newval, void *extra)
{
	sqlite_set_memory_limit(newval);
}

/* The version of the SQLite library in use. */
Datum
sqlite_fdw_mig_sqlite_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(sqlite3_libversion()));
}

/* The FDW handler: the callbacks of sqlite_fdw_mig. */
Datum
sqlite_fdw_mig_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = sqliteGetForeignRelSize;
	routine->GetForeignPaths = sqliteGetForeignPaths;
	routine->GetForeignPlan = sqliteGetForeignPlan;
	routine->BeginForeignScan = sqliteBeginForeignScan;
	routine->IterateForeignScan = sqliteIterateForeignScan;
	routine->ReScanForeignScan = sqliteReScanForeignScan;
	routine->EndForeignScan = sqliteEndForeignScan;
	routine->ExplainForeignScan = sqliteExplainForeignScan;
	routine->AnalyzeForeignTable = sqliteAnalyzeForeignTable;
	routine->ImportForeignSchema = sqliteImportForeignSchema;
	routine->GetForeignUpperPaths = sqliteGetForeignUpperPaths;

	/* writes: modify.c */
	routine->AddForeignUpdateTargets = sqliteAddForeignUpdateTargets;
	routine->PlanForeignModify = sqlitePlanForeignModify;
	routine->BeginForeignModify = sqliteBeginForeignModify;
	routine->ExecForeignInsert = sqliteExecForeignInsert;
	routine->ExecForeignBatchInsert = sqliteExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = sqliteGetForeignModifyBatchSize;
	routine->ExecForeignUpdate = sqliteExecForeignUpdate;
	routine->ExecForeignDelete = sqliteExecForeignDelete;
	routine->EndForeignModify = sqliteEndForeignModify;
	routine->BeginForeignInsert = sqliteBeginForeignInsert;
	routine->EndForeignInsert = sqliteEndForeignInsert;
	routine->IsForeignRelUpdatable = sqliteIsForeignRelUpdatable;
	routine->ExplainForeignModify = sqliteExplainForeignModify;
	routine->ExecForeignTruncate = sqliteExecForeignTruncate;

	PG_RETURN_POINTER(routine);
}

static ForeignServer *
server_of(Oid relid)
{
	return GetForeignServer(GetForeignTable(relid)->serverid);
}

/*
 * Estimate the rows of the scan.  The table's size comes from ANALYZE when
 * it has run, else from SQLite (sqlite_stat1, or the largest rowid, which
 * costs one index probe).  Also checks that the SQLite table exists, so a
 * wrong "table" option is reported at once.
 */
static void
sqliteGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
						Oid foreigntableid)
{
	SqliteRelInfo *info = palloc0(sizeof(SqliteRelInfo));
	SqliteConn *conn;
	bool		exists;
	ListCell   *lc;
	Selectivity sel;

	baserel->fdw_private = info;
	info->table = sqlite_table_name(foreigntableid);

	info->writes = sqlite_statement_writes_server(root,
												   GetForeignTable(foreigntableid)->serverid);
	info->materialize = sqlite_statement_writes(root,
												 GetForeignTable(foreigntableid)->serverid);
	conn = info->writes ?
		sqlite_get_write_connection(server_of(foreigntableid)) :
		sqlite_get_connection(server_of(foreigntableid));
	info->rowid = sqlite_rowid_alias(conn, info->table, &exists);
	if (!exists)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("SQLite table \"%s\" does not exist in \"%s\"",
						info->table, sqlite_conn_path(conn)),
				 errhint("Check the option \"table\" of foreign table \"%s\".",
						 get_rel_name(foreigntableid))));

	info->utf8 = sqlite_file_is_utf8(conn);

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		/*
		 * A statement that writes reads each table once, before writing: a
		 * condition on a value that changes per rescan stays local.
		 */
		if (sqlite_enable_pushdown &&
			!(info->materialize && contains_exec_param((Node *) ri->clause, NULL)) &&
			sqlite_is_pushable_clause(root, baserel, ri->clause))
			info->remote_conds = lappend(info->remote_conds, ri);
	}

	if (baserel->tuples < 0)
		baserel->tuples = sqlite_estimate_rows(conn, info->table, info->rowid);

	/* the columns SQLite can look values up by, for parameterized scans */
	{
		Relation	rel = table_open(foreigntableid, NoLock);

		foreach(lc, sqlite_table_lookups(conn, info->table, info->rowid != NULL,
										 &info->is_table))
		{
			SqliteLookup *lk = lfirst(lc);
			AttrNumber	attnum = sqlite_column_attnum(rel, lk->column);

			if (attnum == InvalidAttrNumber)
				continue;
			if (lk->rowid_alias &&
				push_is_integer(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid))
				info->alias_attnum = attnum;
			info->lookups = lappend(info->lookups, lk);
			info->lookup_attnums = lappend_int(info->lookup_attnums, attnum);
		}
		table_close(rel, NoLock);
	}

	sel = clauselist_selectivity(root,
								 extract_actual_clauses(baserel->baserestrictinfo, false),
								 baserel->relid, JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(baserel->tuples * sel);
}

/* One path: a scan of the whole table, pre-filtered by SQLite. */
static void
sqliteGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
					  Oid foreigntableid)
{
	SqliteRelInfo *info = baserel->fdw_private;
	Cost		startup_cost = 10;
	Cost		run_cost;

	/* reading a row in SQLite costs about what a heap tuple costs */
	run_cost = baserel->tuples * (seq_page_cost / 50.0 + cpu_tuple_cost);
	/* rows SQLite filters out are never converted */
	if (info->remote_conds == NIL)
		run_cost += baserel->tuples * cpu_operator_cost *
			list_length(baserel->baserestrictinfo);
	else
		run_cost += baserel->rows * cpu_operator_cost *
			list_length(baserel->baserestrictinfo);
	run_cost += baserel->rows * cpu_tuple_cost;

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
									 startup_cost, startup_cost + run_cost,
									 NIL, baserel->lateral_relids, NULL, NIL));

	if (sqlite_enable_pushdown && !info->materialize && info->lookups != NIL)
		add_lookup_paths(root, baserel, info);

	/*
	 * Rows in the order of the INTEGER PRIMARY KEY, when the query wants
	 * them so: SQLite walks its b-tree in that order (and backwards), so
	 * ORDER BY id DESC LIMIT 10 reads ten rows.  The column never holds NULL
	 * or anything but an integer, so the orders agree exactly.
	 */
	if (sqlite_enable_pushdown && info->alias_attnum != InvalidAttrNumber &&
		root->query_pathkeys != NIL)
	{
		PathKey    *pk = linitial(root->query_pathkeys);
		ListCell   *lc;
		bool		found = false;

		foreach(lc, pk->pk_eclass->ec_members)
		{
			EquivalenceMember *em = lfirst(lc);
			AttrNumber	attnum = info->alias_attnum;

			if (ec_member_is_column(root, baserel, pk->pk_eclass, em, &attnum))
				found = true;
		}
		if (found && !pk->pk_eclass->ec_has_volatile &&
			pk->pk_opfamily == INTEGER_BTREE_FAM_OID &&
			(pk->pk_strategy == BTLessStrategyNumber ||
			 pk->pk_strategy == BTGreaterStrategyNumber))
			add_path(baserel, (Path *)
					 create_foreignscan_path(root, baserel, NULL, baserel->rows,
											 startup_cost, startup_cost + run_cost,
											 list_make1(pk), baserel->lateral_relids, NULL,
											 list_make1(makeInteger(pk->pk_strategy == BTGreaterStrategyNumber))));
	}
}

/* Is an integer type (the INTEGER PRIMARY KEY may skip the guard)? */
static bool
push_is_integer(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

/* EquivalenceMember callback: is "em" column *arg of "rel"? */
static bool
ec_member_is_column(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
					EquivalenceMember *em, void *arg)
{
	Expr	   *e = em->em_expr;

	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e && IsA(e, Var) && (Index) ((Var *) e)->varno == rel->relid &&
		((Var *) e)->varlevelsup == 0 &&
		((Var *) e)->varattno == *(AttrNumber *) arg;
}

/*
 * Parameterized paths: for each join clause "column = outer value" on a
 * column SQLite can look up (the rowid, the first column of an index), a
 * scan that finds the matching rows by that lookup for each outer row, so
 * a join from a few local rows to a large SQLite table reads only those.
 */
static void
add_lookup_paths(PlannerInfo *root, RelOptInfo *baserel, SqliteRelInfo *info)
{
	List	   *clauses = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	ListCell   *lc3;

	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		if (!ri->pseudoconstant && join_clause_is_movable_to(ri, baserel))
			clauses = lappend(clauses, ri);
	}
	if (baserel->has_eclass_joins)
	{
		foreach(lc, info->lookup_attnums)
		{
			AttrNumber	attnum = lfirst_int(lc);

			clauses = list_concat(clauses,
								  generate_implied_equalities_for_column(root, baserel,
																		 ec_member_is_column,
																		 &attnum,
																		 baserel->lateral_referencers));
		}
	}

	foreach(lc, clauses)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);
		AttrNumber	attnum = sqlite_clause_lookup_attnum(baserel, ri->clause);
		SqliteLookup *lk = NULL;
		Relids		required_outer;
		ParamPathInfo *ppi;
		double		rows;
		Cost		run_cost;

		if (attnum == InvalidAttrNumber)
			continue;
		forboth(lc2, info->lookups, lc3, info->lookup_attnums)
		{
			if (lfirst_int(lc3) == attnum &&
				(lk == NULL || ((SqliteLookup *) lfirst(lc2))->unique))
				lk = lfirst(lc2);
		}
		if (lk == NULL)
			continue;
		required_outer = bms_union(bms_difference(ri->clause_relids, baserel->relids),
								   baserel->lateral_relids);
		if (bms_is_empty(required_outer) ||
			bms_overlap(required_outer, baserel->relids))
			continue;

		ppi = get_baserel_parampathinfo(root, baserel, required_outer);
		rows = ppi->ppi_rows;
		if (lk->unique)
			rows = Min(rows, 1.0);
		else if (lk->per_key > 0)
			rows = Min(rows, lk->per_key);
		rows = clamp_row_est(rows);

		/* one descent of SQLite's b-tree, then the matching rows */
		run_cost = cpu_operator_cost * 2 * log2(baserel->tuples + 2) +
			rows * (seq_page_cost / 50.0 + 2 * cpu_tuple_cost) +
			rows * cpu_operator_cost * list_length(baserel->baserestrictinfo);

		add_path(baserel, (Path *)
				 create_foreignscan_path(root, baserel, NULL, rows,
										 0, run_cost,
										 NIL, required_outer, NULL, NIL));
	}
}

/*
 * Build the scan: the SELECT for SQLite and the values to bind; every
 * condition stays in the plan's qual, because the pushed WHERE is only a
 * pre-filter (see deparse.c).
 */
static ForeignScan *
sqliteGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
					 Oid foreigntableid, ForeignPath *best_path,
					 List *tlist, List *scan_clauses, Plan *outer_plan)
{
	SqliteRelInfo *info = baserel->fdw_private;
	StringInfoData sql;
	List	   *retrieved_attrs;
	List	   *params_list;
	Relation	rel;
	SqliteRowsMode rows_mode;
	List	   *remote_conds;
	ListCell   *lc;

	/* LIMIT/OFFSET on one scan (below), or an aggregate (upper.c) */
	if (IS_UPPER_REL(baserel) && best_path->fdw_private != NIL &&
		IsA(linitial(best_path->fdw_private), Integer))
		return limit_plan(root, best_path, tlist);
	if (IS_UPPER_REL(baserel))
		return sqlite_upper_plan(root, baserel, best_path, tlist, outer_plan);

	remote_conds = list_copy(info->remote_conds);

	/* a parameterized scan also sends its join clauses (with outer values) */
	if (best_path->path.param_info)
	{
		foreach(lc, scan_clauses)
		{
			RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

			if (!list_member_ptr(baserel->baserestrictinfo, ri) &&
				sqlite_clause_lookup_attnum(baserel, ri->clause) != InvalidAttrNumber)
				remote_conds = lappend(remote_conds, ri);
		}
	}
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	initStringInfo(&sql);
	rel = table_open(foreigntableid, NoLock);
	rows_mode = sqlite_table_rows_mode(foreigntableid);
	/* sorting rows by whether they fit needs every column */
	sqlite_deparse_select(&sql, root, baserel, rel, info->table, info->rowid,
						  remote_conds, rows_mode != SQLITE_ROWS_ALL,
						  info->alias_attnum, info->is_table,
						  &retrieved_attrs, &params_list);
	table_close(rel, NoLock);

	/* the ordered path: by the INTEGER PRIMARY KEY */
	if (best_path->fdw_private != NIL)
	{
		appendStringInfoString(&sql, " ORDER BY ");
		sqlite_append_ident(&sql, sqlite_column_name(foreigntableid, info->alias_attnum));
		appendStringInfoString(&sql,
							   intVal(linitial(best_path->fdw_private)) ? " DESC" : " ASC");
	}

	return make_foreignscan(tlist, scan_clauses, baserel->relid, params_list,
							lappend(list_make5(makeString(sql.data), retrieved_attrs,
											   makeInteger(info->rowid != NULL),
											   makeInteger(rows_mode),
											   makeInteger(info->materialize)),
									makeInteger(info->writes)),
							NIL, NIL, outer_plan);
}

/*
 * GetForeignUpperPaths, UPPERREL_FINAL: LIMIT and OFFSET sent to SQLite, for
 * a query that reads one foreign table, unordered or in the order of its
 * INTEGER PRIMARY KEY.  A scan steps SQLite one row at a time, so a LIMIT
 * alone already stops SQLite's reading; what this saves is converting the
 * rows OFFSET skips ("page 1000 of 20 rows" reads 20 rows' values, not
 * 20,020).  SQLite must count exactly the rows PostgreSQL would, so every
 * condition must be one SQLite evaluates exactly: none, IS [NOT] NULL, or
 * comparisons on the INTEGER PRIMARY KEY, which holds only integers.  (The
 * other pushed conditions are pre-filters that let rows of other storage
 * classes through; see deparse.c.)
 */
void
sqlite_add_limit_paths(PlannerInfo *root, RelOptInfo *input_rel,
					   RelOptInfo *final_rel, FinalPathExtraData *extra)
{
	Query	   *parse = root->parse;
	RelOptInfo *base;
	SqliteRelInfo *info;
	ForeignPath *scan = NULL;
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	int			relid;
	int			x;
	double		skipped;
	double		returned;
	Cost		read_cost = seq_page_cost / 50.0;
	Cost		startup_cost;
	Cost		total_cost;

	if (!sqlite_enable_pushdown || !extra->limit_needed ||
		final_rel->fdw_private != NULL)
		return;
	if (parse->commandType != CMD_SELECT || parse->rowMarks != NIL ||
		parse->hasTargetSRFs || parse->hasAggs || parse->hasWindowFuncs ||
		parse->groupClause != NIL || parse->groupingSets != NIL ||
		parse->distinctClause != NIL || parse->havingQual != NULL ||
		parse->setOperations != NULL || parse->limitOption != LIMIT_OPTION_COUNT)
		return;
	if (!limit_value_ok(parse->limitCount) || !limit_value_ok(parse->limitOffset))
		return;
	if (bms_membership(root->all_baserels) != BMS_SINGLETON)
		return;
	relid = bms_singleton_member(root->all_baserels);
	base = find_base_rel(root, relid);
	if (base->reloptkind != RELOPT_BASEREL || base->fdw_private == NULL)
		return;
	info = (SqliteRelInfo *) base->fdw_private;
	if (info->writes || info->materialize ||
		sqlite_table_rows_mode(planner_rt_fetch(relid, root)->relid) != SQLITE_ROWS_ALL)
		return;

	/*
	 * A volatile function in the select list runs once per row PostgreSQL's
	 * Limit reads, skipped ones included: it must stay there.
	 */
	if (contain_volatile_functions((Node *) root->upper_targets[UPPERREL_FINAL]->exprs))
		return;

	/*
	 * Every condition in SQLite, and exact there: IS [NOT] NULL on any
	 * column, comparisons on the INTEGER PRIMARY KEY only.
	 */
	if (list_length(info->remote_conds) != list_length(base->baserestrictinfo))
		return;
	foreach(lc, info->remote_conds)
	{
		Expr	   *clause = lfirst_node(RestrictInfo, lc)->clause;

		if (IsA(clause, NullTest))
			continue;
		attrs = NULL;
		pull_varattnos((Node *) clause, relid, &attrs);
		x = -1;
		while ((x = bms_next_member(attrs, x)) >= 0)
		{
			if (info->alias_attnum == InvalidAttrNumber ||
				x + FirstLowInvalidHeapAttributeNumber != info->alias_attnum)
				return;
		}
	}
	/* ordinary columns only: the scan tuple is the table's columns */
	attrs = NULL;
	pull_varattnos((Node *) base->reltarget->exprs, relid, &attrs);
	x = -1;
	while ((x = bms_next_member(attrs, x)) >= 0)
	{
		if (x + FirstLowInvalidHeapAttributeNumber <= 0)
			return;
	}

	/* the scan that gives the order asked for (or none) */
	foreach(lc, base->pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		/* the select list's expressions: computed by our scan */
		if (IsA(p, ProjectionPath))
			p = ((ProjectionPath *) p)->subpath;
		if (!IsA(p, ForeignPath) || p->param_info != NULL)
			continue;
		if (root->sort_pathkeys == NIL ?
			((ForeignPath *) p)->fdw_private == NIL :
			((ForeignPath *) p)->fdw_private != NIL &&
			pathkeys_contained_in(root->sort_pathkeys, p->pathkeys))
			scan = (ForeignPath *) p;
	}
	if (scan == NULL)
		return;

	/*
	 * Rows OFFSET skips are read by SQLite but never converted; those
	 * returned cost what the scan's rows cost.
	 */
	/* unknown values (parameters) count as a tenth, as for a Limit node */
	skipped = extra->offset_est > 0 ? (double) extra->offset_est :
		extra->offset_est < 0 ? scan->path.rows * 0.10 : 0;
	skipped = Min(skipped, scan->path.rows);
	returned = scan->path.rows - skipped;
	if (extra->count_est != 0)
		returned = Min(returned, extra->count_est > 0 ? (double) extra->count_est :
					   scan->path.rows * 0.10);
	returned = clamp_row_est(returned);
	startup_cost = scan->path.startup_cost + skipped * read_cost;
	total_cost = startup_cost + returned * (read_cost + 2 * cpu_tuple_cost);

	final_rel->fdw_private = info;
	add_path(final_rel, (Path *)
			 create_foreign_upper_path(root, final_rel,
									   root->upper_targets[UPPERREL_FINAL],
									   returned, startup_cost, total_cost,
									   scan->path.pathkeys, NULL,
									   list_make4(makeInteger(relid),
												  scan->fdw_private,
												  parse->limitCount,
												  parse->limitOffset)));
}

/* A LIMIT or OFFSET value SQLite can be given: none, a constant, a parameter. */
static bool
limit_value_ok(Node *n)
{
	if (n == NULL)
		return true;
	if (exprType(n) != INT8OID)
		return false;
	return IsA(n, Const) || IsA(n, Param);
}

/*
 * GetForeignPlan for the path above: the table's scan with " LIMIT ? OFFSET
 * ?" (bound as the last two values; NULL means no limit, no offset), as a
 * ForeignScan of no relation whose scan tuple is the table's columns.
 */
static ForeignScan *
limit_plan(PlannerInfo *root, ForeignPath *best_path, List *tlist)
{
	List	   *priv = best_path->fdw_private;
	int			relid = intVal(linitial(priv));
	List	   *order = (List *) lsecond(priv);
	Node	   *count = (Node *) lthird(priv);
	Node	   *offset = (Node *) lfourth(priv);
	RelOptInfo *base = find_base_rel(root, relid);
	SqliteRelInfo *info = (SqliteRelInfo *) base->fdw_private;
	Oid			foreigntableid = planner_rt_fetch(relid, root)->relid;
	Relation	rel;
	TupleDesc	desc;
	StringInfoData sql;
	List	   *retrieved_attrs;
	List	   *params_list;
	List	   *scan_tlist = NIL;
	int			i;

	initStringInfo(&sql);
	rel = table_open(foreigntableid, NoLock);
	sqlite_deparse_select(&sql, root, base, rel, info->table, info->rowid,
						  info->remote_conds, false, info->alias_attnum,
						  info->is_table, &retrieved_attrs, &params_list);
	if (order != NIL)
	{
		appendStringInfoString(&sql, " ORDER BY ");
		sqlite_append_ident(&sql, sqlite_column_name(foreigntableid, info->alias_attnum));
		appendStringInfoString(&sql, intVal(linitial(order)) ? " DESC" : " ASC");
	}
	params_list = lappend(params_list, count ? count :
						  (Node *) makeNullConst(INT8OID, -1, InvalidOid));
	params_list = lappend(params_list, offset ? offset :
						  (Node *) makeNullConst(INT8OID, -1, InvalidOid));
	appendStringInfo(&sql, " LIMIT coalesce(?%d, -1) OFFSET coalesce(?%d, 0)",
					 list_length(params_list) - 1, list_length(params_list));

	/* the scan tuple: every column, in order (NULL for a dropped one) */
	desc = RelationGetDescr(rel);
	for (i = 1; i <= desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i - 1);
		Expr	   *e = att->attisdropped ?
			(Expr *) makeNullConst(INT4OID, -1, InvalidOid) :
			(Expr *) makeVar(relid, i, att->atttypid, att->atttypmod,
							 att->attcollation, 0);

		scan_tlist = lappend(scan_tlist, makeTargetEntry(e, i, NULL, false));
	}
	table_close(rel, NoLock);

	return make_foreignscan(tlist,
							extract_actual_clauses(base->baserestrictinfo, false),
							0, params_list,
							lappend(lappend(list_make5(makeString(sql.data), retrieved_attrs,
													   makeInteger(info->rowid != NULL),
													   makeInteger(SQLITE_ROWS_ALL),
													   makeInteger(false)),
											makeInteger(false)),
									makeString(LIMIT_SCAN_MARKER)),
							scan_tlist, NIL, NULL);
}

/* Does "node" hold a PARAM_EXEC Param (a value set per rescan)? */
static bool
contains_exec_param(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		return true;
	return expression_tree_walker(node, contains_exec_param, context);
}

/*
 * Prepare "sql" for a scan of "rel" and set up the conversion of its
 * columns.  Everything is allocated in the current memory context, whose
 * reset also finalizes the statement.
 */
static void
scan_setup(SqliteScanState *ss, Relation rel, const char *sql, bool has_rowid,
		   List *retrieved_attrs, SqliteRowsMode rows_mode, bool write)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	ListCell   *lc;
	int			i = 0;

	ss->rel = rel;
	ss->table = sqlite_table_name(relid);
	ss->conn = write ? sqlite_get_write_connection(server_of(relid)) :
		sqlite_get_connection(server_of(relid));
	ss->sql = pstrdup(sql);
	ss->has_rowid = has_rowid;
	ss->ncols = list_length(retrieved_attrs);
	ss->attnums = palloc(sizeof(AttrNumber) * Max(ss->ncols, 1));
	ss->convs = palloc(sizeof(SqliteColumnConv) * Max(ss->ncols, 1));
	ss->current = -1;
	ss->rows_mode = rows_mode;
	if (rows_mode != SQLITE_ROWS_ALL)
		ss->checks = palloc(sizeof(SqliteColumnConv) * Max(ss->ncols, 1));

	foreach(lc, retrieved_attrs)
	{
		AttrNumber	attnum = lfirst_int(lc);
		Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);

		ss->attnums[i] = attnum;
		sqlite_conv_init(&ss->convs[i], att->atttypid, att->atttypmod,
						 sqlite_column_datetime_unit(relid, attnum),
						 CurrentMemoryContext);
		if (rows_mode != SQLITE_ROWS_ALL)
		{
			char	   *check = sqlite_column_check_type(relid, attnum);

			if (check)
			{
				Oid			typid;
				int32		typmod;

				parseTypeString(check, &typid, &typmod, false);
				sqlite_conv_init(&ss->checks[i], typid, typmod,
								 sqlite_column_datetime_unit(relid, attnum),
								 CurrentMemoryContext);
			}
			else
				ss->checks[i] = ss->convs[i];
		}
		i++;
	}

	ss->stmt = sqlite_prepare(ss->conn, sql);
	if (sqlite3_column_count(ss->stmt->stmt) != ss->ncols + 1)
		elog(ERROR, "SQLite statement returns %d columns, expected %d",
			 sqlite3_column_count(ss->stmt->stmt), ss->ncols + 1);
}

static void
sqliteBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	SqliteScanState *ss;

	if (IsUpperScan(node))
	{
		sqlite_upper_begin(node, eflags);
		return;
	}
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	ss = palloc0(sizeof(SqliteScanState));
	node->fdw_state = ss;
	scan_setup(ss, IsLimitScan(node) ?
			   ExecOpenScanRelation(node->ss.ps.state,
									bms_singleton_member(fsplan->fs_relids),
									eflags) :
			   node->ss.ss_currentRelation,
			   strVal(list_nth(fsplan->fdw_private, ScanPrivateSql)),
			   intVal(list_nth(fsplan->fdw_private, ScanPrivateHasRowid)) != 0,
			   (List *) list_nth(fsplan->fdw_private, ScanPrivateRetrievedAttrs),
			   (SqliteRowsMode) intVal(list_nth(fsplan->fdw_private, ScanPrivateRowsMode)),
			   intVal(list_nth(fsplan->fdw_private, ScanPrivateWrite)) != 0);
	ss->materialize = intVal(list_nth(fsplan->fdw_private, ScanPrivateMaterialize)) != 0;
	ss->limit = IsLimitScan(node);
	ss->scancxt = CurrentMemoryContext;
	ss->param_exprs = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	ss->params_bound = false;

	/*
	 * A statement that may write to the file reads all its rows now, before
	 * any node of the plan runs (only values fixed for the whole statement
	 * are pushed to SQLite then).
	 */
	if (ss->materialize)
	{
		bind_params(ss, node->ss.ps.ps_ExprContext);
		scan_fill_store(ss, node->ss.ss_ScanTupleSlot);
	}
}

/*
 * Bind the values of the pushed conditions of a scan.
 */
static void
bind_params(SqliteScanState *ss, ExprContext *econtext)
{
	/* LIMIT and OFFSET, the last two values: PostgreSQL's checks */
	if (ss->limit)
	{
		int			n = list_length(ss->param_exprs);
		bool		isnull;
		Datum		v = ExecEvalExpr(list_nth(ss->param_exprs, n - 1),
									 econtext, &isnull);

		/* in the order PostgreSQL's Limit node checks them */
		if (!isnull && DatumGetInt64(v) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE),
					 errmsg("OFFSET must not be negative")));
		v = ExecEvalExpr(list_nth(ss->param_exprs, n - 2), econtext, &isnull);
		if (!isnull && DatumGetInt64(v) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_ROW_COUNT_IN_LIMIT_CLAUSE),
					 errmsg("LIMIT must not be negative")));
	}
	sqlite_bind_values(ss->conn, ss->stmt, ss->param_exprs, econtext);
	ss->params_bound = true;
}

/*
 * Evaluate "param_exprs" (ExprStates) and bind them as ?1, ?2, ... of "st".
 * A NaN is bound as NULL (SQLite cannot hold NaN); the SQL lets every row
 * through for a NULL float parameter, and PostgreSQL's own check decides.
 */
void
sqlite_bind_values(SqliteConn *conn, SqliteStmt *st, List *param_exprs,
				   ExprContext *econtext)
{
	ListCell   *lc;
	int			i = 1;

	foreach(lc, param_exprs)
	{
		ExprState  *es = (ExprState *) lfirst(lc);
		Oid			typid = exprType((Node *) es->expr);
		bool		isnull;
		Datum		value = ExecEvalExpr(es, econtext, &isnull);
		sqlite3_stmt *stmt = st->stmt;
		int			rc;
		if (isnull)
			rc = sqlite3_bind_null(stmt, i);
		else
		{
			switch (typid)
			{
				case INT2OID:
					rc = sqlite3_bind_int64(stmt, i, DatumGetInt16(value));
					break;
				case INT4OID:
					rc = sqlite3_bind_int64(stmt, i, DatumGetInt32(value));
					break;
				case INT8OID:
					rc = sqlite3_bind_int64(stmt, i, DatumGetInt64(value));
					break;
				case FLOAT4OID:
				case FLOAT8OID:
					{
						double		d = typid == FLOAT4OID ?
							(double) DatumGetFloat4(value) : DatumGetFloat8(value);

						rc = isnan(d) ? sqlite3_bind_null(stmt, i) :
							sqlite3_bind_double(stmt, i, d);
						break;
					}
				case TEXTOID:
				case VARCHAROID:
					{
						text	   *t = DatumGetTextPP(value);
						char	   *s = pg_server_to_any(VARDATA_ANY(t),
														 VARSIZE_ANY_EXHDR(t),
														 PG_UTF8);
						int			len = (s == VARDATA_ANY(t)) ?
							VARSIZE_ANY_EXHDR(t) : strlen(s);

						rc = sqlite3_bind_text(stmt, i, s, len, SQLITE_TRANSIENT);
						break;
					}
				default:
					elog(ERROR, "cannot bind a value of type %u", typid);
					rc = SQLITE_ERROR;	/* keep compiler quiet */
			}
		}
		if (rc != SQLITE_OK)
			sqlite_report(conn, rc, st->sql);
		i++;
	}
}

/*
 * Convert the current row's columns into values/nulls (indexed by attnum -
 * 1), with an error context that names the column, the rowid and the value.
 */
static void
scan_convert_row(SqliteScanState *ss, Datum *values, bool *nulls)
{
	ErrorContextCallback errcallback;
	int			i;

	errcallback.callback = scan_error_callback;
	errcallback.arg = ss;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (i = 0; i < ss->ncols; i++)
	{
		AttrNumber	attnum = ss->attnums[i];

		ss->current = i;
		values[attnum - 1] = sqlite_conv_value(&ss->convs[i], ss->stmt->stmt,
											   i + 1, &nulls[attnum - 1]);
	}
	ss->current = -1;
	error_context_stack = errcallback.previous;
}

static void
scan_error_callback(void *arg)
{
	SqliteScanState *ss = (SqliteScanState *) arg;
	AttrNumber	attnum;
	char	   *value;

	if (ss->current < 0 || ss->stmt == NULL || ss->stmt->stmt == NULL)
		return;
	attnum = ss->attnums[ss->current];
	value = sqlite_describe_value(ss->stmt->stmt, ss->current + 1);
	if (ss->has_rowid)
		errcontext("column \"%s\" of foreign table \"%s\" (SQLite table \"%s\", rowid " INT64_FORMAT "): value %s",
				   NameStr(TupleDescAttr(RelationGetDescr(ss->rel), attnum - 1)->attname),
				   RelationGetRelationName(ss->rel), ss->table,
				   (int64) sqlite3_column_int64(ss->stmt->stmt, 0), value);
	else
		errcontext("column \"%s\" of foreign table \"%s\" (SQLite table \"%s\"): value %s",
				   NameStr(TupleDescAttr(RelationGetDescr(ss->rel), attnum - 1)->attname),
				   RelationGetRelationName(ss->rel), ss->table, value);
}

static TupleTableSlot *
sqliteIterateForeignScan(ForeignScanState *node)
{
	SqliteScanState *ss = (SqliteScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (IsUpperScan(node))
		return sqlite_upper_iterate(node);
	ExecClearTuple(slot);
	if (!ss->params_bound)
		bind_params(ss, node->ss.ps.ps_ExprContext);

	if (ss->materialize)
	{
		/* read the whole table before the statement writes to the file */
		if (!ss->stored)
			scan_fill_store(ss, slot);
		if (!tuplestore_gettupleslot(ss->store, true, false, ss->storeslot))
			return slot;
		{
			int			natts = slot->tts_tupleDescriptor->natts;
			bool		isnull;
			Datum		rowid;

			slot_getallattrs(ss->storeslot);
			memcpy(slot->tts_values, ss->storeslot->tts_values, natts * sizeof(Datum));
			memcpy(slot->tts_isnull, ss->storeslot->tts_isnull, natts * sizeof(bool));
			ExecStoreVirtualTuple(slot);
			rowid = slot_getattr(ss->storeslot, natts + 1, &isnull);
			if (!isnull)
				sqlite_rowid_to_tid(DatumGetInt64(rowid), &slot->tts_tid);
		}
		return slot;
	}

	if (!scan_next(ss, slot))
		return slot;

	/* a migration's copy shows in pg_stat_progress_copy */
	if (sqlite_copy_progress && ++ss->rows % 1024 == 0)
		pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, ss->rows);
	return slot;
}

/*
 * Step to the next wanted row and store it, converted, in "slot" (cleared);
 * false at the end.  A rowid table's rowid goes into the slot's ctid, which
 * UPDATE and DELETE use to find the row again.
 */
static bool
scan_next(SqliteScanState *ss, TupleTableSlot *slot)
{
	do
	{
		CHECK_FOR_INTERRUPTS();
		if (sqlite_step(ss->stmt) == SQLITE_DONE)
			return false;
	} while (ss->rows_mode != SQLITE_ROWS_ALL && !row_wanted(ss));

	/* the executor runs us in per-tuple memory, reset for every row */
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	scan_convert_row(ss, slot->tts_values, slot->tts_isnull);
	ExecStoreVirtualTuple(slot);
	if (ss->has_rowid)
		sqlite_rowid_to_tid(sqlite3_column_int64(ss->stmt->stmt, 0), &slot->tts_tid);
	return true;
}

/*
 * Read every row of the scan into a tuplestore (work_mem, then a temporary
 * file), with the rowid as an extra last column.  A statement that writes to
 * the file reads this way: SQLite would otherwise show a scan the rows the
 * same statement inserts or moves, as PostgreSQL never does.
 */
static void
scan_fill_store(SqliteScanState *ss, TupleTableSlot *slot)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	int			natts = desc->natts;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	Datum	   *values;
	bool	   *nulls;

	if (ss->store == NULL)
	{
		int			i;

		oldcxt = MemoryContextSwitchTo(ss->scancxt);
		ss->storedesc = CreateTemplateTupleDesc(natts + 1);
		for (i = 0; i < natts; i++)
			TupleDescCopyEntry(ss->storedesc, i + 1, desc, i + 1);
		TupleDescInitEntry(ss->storedesc, natts + 1, "rowid", INT8OID, -1, 0);
		ss->store = tuplestore_begin_heap(false, false, work_mem);
		ss->storeslot = MakeSingleTupleTableSlot(ss->storedesc, &TTSOpsMinimalTuple);
		MemoryContextSwitchTo(oldcxt);
	}
	values = palloc(sizeof(Datum) * (natts + 1));
	nulls = palloc(sizeof(bool) * (natts + 1));
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "sqlite_fdw_mig store row",
								   ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContextReset(rowcxt);
		oldcxt = MemoryContextSwitchTo(rowcxt);
		if (!scan_next(ss, slot))
		{
			MemoryContextSwitchTo(oldcxt);
			break;
		}
		memcpy(values, slot->tts_values, natts * sizeof(Datum));
		memcpy(nulls, slot->tts_isnull, natts * sizeof(bool));
		nulls[natts] = !ss->has_rowid;
		values[natts] = ss->has_rowid ?
			Int64GetDatum(sqlite3_column_int64(ss->stmt->stmt, 0)) : (Datum) 0;
		MemoryContextSwitchTo(oldcxt);
		tuplestore_putvalues(ss->store, ss->storedesc, values, nulls);
	}
	MemoryContextDelete(rowcxt);
	ExecClearTuple(slot);
	ss->stored = true;
}

/*
 * With rows 'matching', is every value of the current row one its column's
 * check type holds?  With 'mismatched', is some value not?
 */
static bool
row_wanted(SqliteScanState *ss)
{
	bool		fits = true;
	int			i;

	for (i = 0; i < ss->ncols && fits; i++)
		fits = sqlite_value_fits(&ss->checks[i], ss->stmt->stmt, i + 1);
	return (ss->rows_mode == SQLITE_ROWS_MATCHING) == fits;
}

static void
sqliteReScanForeignScan(ForeignScanState *node)
{
	SqliteScanState *ss = (SqliteScanState *) node->fdw_state;

	if (IsUpperScan(node))
	{
		sqlite_upper_rescan(node);
		return;
	}
	/* a stored scan has no rescan-dependent conditions: read it again */
	if (ss->materialize && ss->stored)
	{
		tuplestore_rescan(ss->store);
		return;
	}
	sqlite_reset(ss->stmt);
	ss->params_bound = false;
}

static void
sqliteEndForeignScan(ForeignScanState *node)
{
	SqliteScanState *ss = (SqliteScanState *) node->fdw_state;

	if (IsUpperScan(node))
	{
		sqlite_upper_end(node);
		return;
	}
	if (ss && ss->stmt)
		sqlite_finalize(ss->stmt);
	if (ss && ss->store)
	{
		ExecDropSingleTupleTableSlot(ss->storeslot);
		tuplestore_end(ss->store);
		ss->store = NULL;
	}
}

/* EXPLAIN VERBOSE shows the statement sent to SQLite. */
static void
sqliteExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	if (IsUpperScan(node))
	{
		sqlite_upper_explain(node, es);
		return;
	}
	if (IsLimitScan(node))
	{
		RangeTblEntry *rte = exec_rt_fetch(bms_singleton_member(fsplan->fs_relids),
										   node->ss.ps.state);

		ExplainPropertyText("Relations",
							psprintf("Limit on (%s)", get_rel_name(rte->relid)), es);
	}
	if (es->verbose)
		ExplainPropertyText("SQLite query",
							strVal(list_nth(fsplan->fdw_private, ScanPrivateSql)),
							es);
}

static bool
sqliteAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
						  BlockNumber *totalpages)
{
	SqliteServerOptions opts;
	struct stat st;

	sqlite_get_server_options(server_of(RelationGetRelid(relation)), &opts);
	*func = sqlite_acquire_sample_rows;
	*totalpages = 1;
	if (opts.database != NULL && stat(opts.database, &st) == 0 &&
		st.st_size > BLCKSZ)
		*totalpages = (BlockNumber) Min(st.st_size / BLCKSZ, (off_t) MaxBlockNumber);
	return true;
}

/*
 * ANALYZE: read every row and keep a random sample of targrows of them
 * (Vitter's reservoir algorithm, as file_fdw does).
 */
static int
sqlite_acquire_sample_rows(Relation relation, int elevel, HeapTuple *rows,
						   int targrows, double *totalrows,
						   double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(relation);
	Oid			relid = RelationGetRelid(relation);
	MemoryContext scancxt;
	MemoryContext tupcxt;
	MemoryContext oldcxt;
	SqliteScanState ss;
	StringInfoData sql;
	List	   *attrs = NIL;
	Datum	   *values;
	bool	   *nulls;
	ReservoirStateData rstate;
	double		rowstoskip = -1;
	int			numrows = 0;
	int			i;
	bool		exists;
	const char *rowid;

	scancxt = AllocSetContextCreate(CurrentMemoryContext,
									"sqlite_fdw_mig analyze",
									ALLOCSET_DEFAULT_SIZES);
	tupcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "sqlite_fdw_mig analyze tuple",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(scancxt);

	/* SELECT rowid, every column */
	memset(&ss, 0, sizeof(ss));
	ss.conn = sqlite_get_connection(server_of(relid));
	rowid = sqlite_rowid_alias(ss.conn, sqlite_table_name(relid), &exists);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	if (rowid)
		sqlite_append_ident(&sql, rowid);
	else
		appendStringInfoString(&sql, "NULL");
	for (i = 1; i <= tupdesc->natts; i++)
	{
		if (TupleDescAttr(tupdesc, i - 1)->attisdropped)
			continue;
		appendStringInfoString(&sql, ", ");
		sqlite_append_ident(&sql, sqlite_column_name(relid, i));
		attrs = lappend_int(attrs, i);
	}
	appendStringInfoString(&sql, " FROM \"main\".");
	sqlite_append_ident(&sql, sqlite_table_name(relid));
	scan_setup(&ss, relation, sql.data, rowid != NULL, attrs, SQLITE_ROWS_ALL,
			   false);

	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	*totalrows = 0;
	*totaldeadrows = 0;
	reservoir_init_selection_state(&rstate, targrows);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		vacuum_delay_point();
		if (sqlite_step(ss.stmt) == SQLITE_DONE)
			break;

		MemoryContextReset(tupcxt);
		MemoryContextSwitchTo(tupcxt);
		memset(nulls, true, sizeof(bool) * tupdesc->natts);
		scan_convert_row(&ss, values, nulls);
		MemoryContextSwitchTo(oldcxt);

		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(tupdesc, values, nulls);
		else
		{
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, *totalrows, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));

				Assert(k >= 0 && k < targrows);
				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(tupdesc, values, nulls);
			}
			rowstoskip -= 1;
		}
		*totalrows += 1;
		MemoryContextSwitchTo(scancxt);
	}

	MemoryContextSwitchTo(oldcxt);
	sqlite_finalize(ss.stmt);
	MemoryContextDelete(tupcxt);
	MemoryContextDelete(scancxt);

	ereport(elevel,
			(errmsg("\"%s\": SQLite table \"%s\" has %.0f rows; %d rows in sample",
					RelationGetRelationName(relation), ss.table, *totalrows,
					numrows)));
	return numrows;
}

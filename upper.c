/*-------------------------------------------------------------------------
 *
 * upper.c
 *		  Push-down of aggregates: a grouped query on one foreign table
 *		  answered by SQLite (count, sum, avg, min, max; GROUP BY; HAVING
 *		  evaluated on the groups), checked to give exactly PostgreSQL's
 *		  result, with PostgreSQL's own plan kept as the fallback.
 *
 * SQLite's aggregates agree with PostgreSQL's only over values of the one
 * storage class a column's type reads as they are: integers in range for
 * int2/int4/int8, reals for float8, valid UTF-8 text for text.  SQLite files
 * may hold anything in any column, and the pushed WHERE is written to let
 * other classes through (deparse.c).  So the plan is a ForeignScan with
 *
 *	 - one SQLite query: SELECT <groups, aggregates>, <check> FROM t WHERE
 *	   ... GROUP BY ..., whose last column is the smallest answer, over every
 *	   row the WHERE keeps (over all groups, by a window), of a C function
 *	   (SQLITE_VALUES_OK_FUNC, connection.c) telling whether each column the
 *	   query reads is NULL or of its class;
 *	 - an outer plan: PostgreSQL's own aggregate over an ordinary scan (none
 *	   when the query reads no column, as count(*) does).
 *
 * The first row tells.  When the check is 1, every row the WHERE keeps
 * holds values SQLite compares, groups and sums exactly as PostgreSQL would,
 * and the WHERE drops no row PostgreSQL would keep, so the query's answer is
 * PostgreSQL's answer.  When it is 0, the outer plan runs instead and gives
 * PostgreSQL's answer (or its error, for a value the column's type cannot
 * hold).  Either way the result is the one the query gives without
 * push-down, and SQLite reads the rows once.
 *
 * What is pushed, and how each is kept exact:
 *	 - count(*), count(column): SQLite counts the same rows.
 *	 - sum of int2/int4: SQLite sums in 64 bits, as PostgreSQL does.
 *	 - sum of int8 is numeric in PostgreSQL; SQLite stops with an error when
 *	   a 64-bit sum overflows.  So SQLite sums the high and low 32 bits
 *	   apart (neither can overflow below 2^31 rows; a table of more rows
 *	   would make SQLite stop with an error) and PostgreSQL combines them
 *	   in numeric.
 *	 - min and max of float8 keep the first of equal values in SQLite and
 *	   the last in PostgreSQL: they differ only for -0.0 against 0.0, so
 *	   the check counts -0.0 as a value of another class.
 *	 - avg of an integer type is PostgreSQL's numeric sum / count (numeric_div),
 *	   computed here from SQLite's sum and count.
 *	 - min, max of integers and float8.
 *	 - GROUP BY plain columns of integer or text type (byte equality under a
 *	   deterministic collation, SQLite's BINARY collation).
 * Never pushed: sum and avg of float8 (SQLite's summation differs in the
 * last bits), min and max of text (SQLite compares the file's encoding),
 * DISTINCT, ORDER BY or FILTER inside an aggregate, grouping sets, and any
 * query whose WHERE is not wholly pushed.  HAVING is evaluated by
 * PostgreSQL on the groups.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/tlist.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "sqlite_fdw_mig.h"

/* What one column of the scan's tuple is made of. */
typedef enum AggItemKind
{
	ITEM_COLUMN,				/* a grouping column, or min/max of a column */
	ITEM_COUNT,					/* count: int8 */
	ITEM_SUM,					/* sum of int2/int4: int8 or NULL */
	ITEM_SUM_SPLIT,				/* sum of int8: two halves, combined in numeric */
	ITEM_AVG,					/* avg of int2/int4: sum and count */
	ITEM_AVG_SPLIT				/* avg of int8: the halves of the sum, and count */
} AggItemKind;

/* The SQLite columns each kind reads. */
static const int item_width[] = {1, 1, 1, 2, 2, 3};

/* An item at execution. */
typedef struct AggItem
{
	AggItemKind kind;
	int			col;			/* its first SQLite column (0-based) */
	SqliteColumnConv conv;		/* ITEM_COLUMN: the column's conversion */
} AggItem;

/* The slots of the upper ForeignScan's fdw_private. */
enum SqliteUpperPrivate
{
	UpperPrivateSql,			/* the aggregate query (String) */
	UpperPrivateHasCheck,		/* the query's last column is the check
								 * (Integer) */
	UpperPrivateItems,			/* per scan column: (kind, attnum) (List of
								 * IntList) */
	UpperPrivateRelid			/* the foreign table (Integer, an Oid) */
};

/* Execution state. */
typedef struct SqliteUpperState
{
	Relation	rel;
	SqliteConn *conn;
	SqliteStmt *agg;
	bool		has_check;		/* the last column is the check */
	int			nitems;
	AggItem    *items;
	int			ncols;			/* SQLite columns before the check */
	List	   *param_exprs;
	bool		started;		/* the first row has been checked */
	bool		done;			/* SQLite returned its last row */
	bool		fallback;		/* ... and sent us to the outer plan */
} SqliteUpperState;

/* Planning: the scan columns found so far. */
typedef struct UpperCtx
{
	Index		relid;
	List	   *group_vars;		/* the GROUP BY columns (Var) */
	List	   *exprs;			/* the scan tuple: Vars and Aggrefs */
	List	   *items;			/* (kind, attnum, is_max) of each */
	Bitmapset  *attrs;			/* every column read (attnum) */
} UpperCtx;

static Var *plain_var(Expr *e, Index relid);
static bool add_scan_expr(UpperCtx *ctx, Expr *e);
static bool classify_aggref(Aggref *a, Index relid, AggItemKind *kind,
							AttrNumber *attnum, bool *is_max);
static Path *copy_fallback_path(Path *p, PathTarget *target);
static void append_item_sql(StringInfo buf, Relation rel, AggItemKind kind,
							AttrNumber attnum, int minmax);

/* The Var of relation relid under relabeling, or NULL. */
static Var *
plain_var(Expr *e, Index relid)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e && IsA(e, Var) && (Index) ((Var *) e)->varno == relid &&
		((Var *) e)->varlevelsup == 0 && ((Var *) e)->varattno > 0)
		return (Var *) e;
	return NULL;
}

/*
 * Is "a" an aggregate SQLite computes exactly (see the file's comment)?  Its
 * kind, the column it reads (0 for count(*)) and whether it is max.
 */
static bool
classify_aggref(Aggref *a, Index relid, AggItemKind *kind, AttrNumber *attnum,
				bool *is_max)
{
	Var		   *var;
	Oid			typid;

	*is_max = false;
	*attnum = 0;
	if (a->aggsplit != AGGSPLIT_SIMPLE || a->aggdistinct != NIL ||
		a->aggorder != NIL || a->aggfilter != NULL || a->aggvariadic ||
		a->aggkind != AGGKIND_NORMAL || a->agglevelsup != 0)
		return false;
	if (a->aggfnoid == F_COUNT_)
	{
		*kind = ITEM_COUNT;
		return true;
	}
	if (list_length(a->args) != 1)
		return false;
	var = plain_var(((TargetEntry *) linitial(a->args))->expr, relid);
	if (var == NULL)
		return false;
	*attnum = var->varattno;
	typid = var->vartype;

	switch (a->aggfnoid)
	{
		case F_COUNT_ANY:
			*kind = ITEM_COUNT;
			return true;
		case F_SUM_INT2:
		case F_SUM_INT4:
			*kind = ITEM_SUM;
			return typid == INT2OID || typid == INT4OID;
		case F_SUM_INT8:
			*kind = ITEM_SUM_SPLIT;
			return typid == INT8OID;
		case F_AVG_INT2:
		case F_AVG_INT4:
			*kind = ITEM_AVG;
			return typid == INT2OID || typid == INT4OID;
		case F_AVG_INT8:
			*kind = ITEM_AVG_SPLIT;
			return typid == INT8OID;
		case F_MAX_INT2:
		case F_MAX_INT4:
		case F_MAX_INT8:
		case F_MAX_FLOAT8:
			*is_max = true;
			/* FALLTHROUGH */
		case F_MIN_INT2:
		case F_MIN_INT4:
		case F_MIN_INT8:
		case F_MIN_FLOAT8:
			*kind = ITEM_COLUMN;
			return typid == INT2OID || typid == INT4OID ||
				typid == INT8OID || typid == FLOAT8OID;
		default:
			return false;
	}
}

/*
 * Add a Var or Aggref (or those inside an expression) to the scan tuple;
 * false if one cannot be computed by SQLite.
 */
static bool
add_scan_expr(UpperCtx *ctx, Expr *e)
{
	AggItemKind kind;
	AttrNumber	attnum;
	bool		is_max = false;
	ListCell   *lc;

	if (!IsA(e, Var) && !IsA(e, Aggref))
	{
		List	   *parts = pull_var_clause((Node *) e, PVC_INCLUDE_AGGREGATES |
											PVC_RECURSE_PLACEHOLDERS);

		foreach(lc, parts)
		{
			/* GROUPING() comes back as itself: not for SQLite */
			if (!IsA(lfirst(lc), Var) && !IsA(lfirst(lc), Aggref))
				return false;
			if (!add_scan_expr(ctx, lfirst(lc)))
				return false;
		}
		return true;
	}
	if (list_member(ctx->exprs, e))
		return true;

	if (IsA(e, Var))
	{
		Var		   *var = (Var *) e;
		bool		grouped = false;

		foreach(lc, ctx->group_vars)
		{
			Var		   *g = lfirst(lc);

			if (g->varno == var->varno && g->varattno == var->varattno &&
				var->varlevelsup == 0)
				grouped = true;
		}
		if (!grouped)
			return false;
		kind = ITEM_COLUMN;
		attnum = var->varattno;
	}
	else if (!classify_aggref((Aggref *) e, ctx->relid, &kind, &attnum, &is_max))
		return false;

	ctx->exprs = lappend(ctx->exprs, e);
	ctx->items = lappend(ctx->items,
						 list_make3_int(kind, attnum, (IsA(e, Var) ? -1 : is_max)));
	if (attnum > 0)
		ctx->attrs = bms_add_member(ctx->attrs, attnum);
	return true;
}

/*
 * A copy of the local plan's top path, producing "target": add_path() may
 * free the original when our path beats it.
 */
static Path *
copy_fallback_path(Path *p, PathTarget *target)
{
	Path	   *copy;

	/*
	 * HAVING is the ForeignScan's own qual, applied to whichever plan ran:
	 * the copy must not apply it a second time.
	 */
	if (IsA(p, AggPath))
	{
		copy = (Path *) makeNode(AggPath);
		memcpy(copy, p, sizeof(AggPath));
		((AggPath *) copy)->qual = NIL;
	}
	else
	{
		copy = (Path *) makeNode(GroupPath);
		memcpy(copy, p, sizeof(GroupPath));
		((GroupPath *) copy)->qual = NIL;
	}
	copy->pathtarget = target;
	return copy;
}

/*
 * Append the SQLite columns of one item; "minmax" is -1 for a grouping
 * column, 0 for min and 1 for max.
 */
static void
append_item_sql(StringInfo buf, Relation rel, AggItemKind kind,
				AttrNumber attnum, int minmax)
{
	StringInfoData col;

	initStringInfo(&col);
	if (attnum > 0)
		sqlite_append_ident(&col, sqlite_column_name(RelationGetRelid(rel), attnum));
	switch (kind)
	{
		case ITEM_COLUMN:
			if (minmax < 0)
				appendStringInfoString(buf, col.data);
			else
				appendStringInfo(buf, "%s(%s)", minmax ? "max" : "min", col.data);
			break;
		case ITEM_COUNT:
			appendStringInfo(buf, "count(%s)", attnum > 0 ? col.data : "*");
			break;
		case ITEM_SUM:
			appendStringInfo(buf, "sum(%s)", col.data);
			break;
		case ITEM_SUM_SPLIT:
			appendStringInfo(buf, "sum(%s >> 32), sum(%s & 4294967295)",
							 col.data, col.data);
			break;
		case ITEM_AVG:
			appendStringInfo(buf, "sum(%s), count(%s)", col.data, col.data);
			break;
		case ITEM_AVG_SPLIT:
			appendStringInfo(buf, "sum(%s >> 32), sum(%s & 4294967295), count(%s)",
							 col.data, col.data, col.data);
			break;
	}
}

/*
 * GetForeignUpperPaths: for UPPERREL_GROUP_AGG over one of our foreign
 * tables, a ForeignScan that lets SQLite aggregate, with PostgreSQL's
 * cheapest plan as its fallback.
 */
void
sqliteGetForeignUpperPaths(PlannerInfo *root, UpperRelationKind stage,
						   RelOptInfo *input_rel, RelOptInfo *output_rel,
						   void *extra)
{
	GroupPathExtraData *gextra = (GroupPathExtraData *) extra;
	Query	   *parse = root->parse;
	SqliteRelInfo *info;
	RangeTblEntry *rte;
	Relation	rel;
	UpperCtx	ctx;
	Path	   *local = NULL;
	PathTarget *target;
	StringInfoData sql;
	StringInfoData spec;
	StringInfoData cols;
	List	   *params = NIL;
	ListCell   *lc;
	int			x;
	bool		ok = true;
	double		rows;
	Cost		run_cost;
	Cost		startup_cost;
	Cost		total_cost;

	if (stage == UPPERREL_FINAL)
	{
		sqlite_add_limit_paths(root, input_rel, output_rel,
							   (FinalPathExtraData *) extra);
		return;
	}
	if (stage != UPPERREL_GROUP_AGG || !sqlite_enable_pushdown ||
		sqlite_aggregate_pushdown == SQLITE_AGG_PUSHDOWN_OFF ||
		output_rel->fdw_private != NULL)
		return;
	if (input_rel->reloptkind != RELOPT_BASEREL || input_rel->fdw_private == NULL)
		return;
	if (gextra->patype != PARTITIONWISE_AGGREGATE_NONE)
		return;
	/* the query uses window functions (3.25) and a DIRECTONLY function (3.30) */
	if (sqlite3_libversion_number() < 3030000)
		return;
	info = (SqliteRelInfo *) input_rel->fdw_private;
	/* a statement that writes reads first (sqlite_fdw_mig.c): leave it so */
	if (info->writes || info->materialize)
		return;
	if (parse->groupingSets != NIL || parse->hasTargetSRFs)
		return;
	/* the whole WHERE must be in SQLite's, and exact */
	if (list_length(info->remote_conds) != list_length(input_rel->baserestrictinfo))
		return;
	foreach(lc, info->remote_conds)
	{
		if (!sqlite_clause_is_exact(lfirst_node(RestrictInfo, lc)->clause,
									input_rel->relid))
			return;
	}
	rte = planner_rt_fetch(input_rel->relid, root);
	if (sqlite_table_rows_mode(rte->relid) != SQLITE_ROWS_ALL)
		return;

	/* PostgreSQL's cheapest plan of the grouping, kept as the fallback */
	foreach(lc, output_rel->pathlist)
	{
		Path	   *p = (Path *) lfirst(lc);

		if (((IsA(p, AggPath) && ((AggPath *) p)->aggsplit == AGGSPLIT_SIMPLE) ||
			 IsA(p, GroupPath)) &&
			(local == NULL || p->total_cost < local->total_cost))
			local = p;
	}
	if (local == NULL)
		return;

	memset(&ctx, 0, sizeof(ctx));
	ctx.relid = input_rel->relid;

	/* GROUP BY: plain columns, compared as SQLite's BINARY collation does */
	foreach(lc, parse->groupClause)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);
		Expr	   *e = (Expr *) get_sortgroupclause_expr(sgc, root->processed_tlist);
		Var		   *var = IsA(e, Var) ? plain_var(e, ctx.relid) : NULL;
		TypeCacheEntry *tce;

		if (var == NULL)
			return;
		if (var->vartype != INT2OID && var->vartype != INT4OID &&
			var->vartype != INT8OID && var->vartype != TEXTOID &&
			var->vartype != VARCHAROID)
			return;
		tce = lookup_type_cache(var->vartype, TYPECACHE_EQ_OPR);
		if (var->vartype == VARCHAROID)
			tce = lookup_type_cache(TEXTOID, TYPECACHE_EQ_OPR);
		if (sgc->eqop != tce->eq_opr)
			return;
		if (OidIsValid(var->varcollid) &&
			!get_collation_isdeterministic(var->varcollid))
			return;
		ctx.group_vars = lappend(ctx.group_vars, var);
		ctx.attrs = bms_add_member(ctx.attrs, var->varattno);
	}

	/* the scan tuple: what the target list and HAVING need */
	foreach(lc, output_rel->reltarget->exprs)
	{
		if (!add_scan_expr(&ctx, lfirst(lc)))
			return;
	}
	foreach(lc, (List *) gextra->havingQual)
	{
		if (!add_scan_expr(&ctx, lfirst(lc)))
			return;
	}
	{
		Bitmapset  *where_attrs = NULL;

		foreach(lc, info->remote_conds)
			pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause,
						   ctx.relid, &where_attrs);
		x = -1;
		while ((x = bms_next_member(where_attrs, x)) >= 0)
		{
			if (x + FirstLowInvalidHeapAttributeNumber <= 0)
				return;			/* a system column or the whole row */
			ctx.attrs = bms_add_member(ctx.attrs,
									   x + FirstLowInvalidHeapAttributeNumber);
		}
	}

	rel = table_open(rte->relid, NoLock);

	/*
	 * The check, a call of SQLITE_VALUES_OK_FUNC on every column the query
	 * reads.  The INTEGER PRIMARY KEY of a bigint column needs none: it
	 * only ever holds 64-bit integers.
	 */
	initStringInfo(&spec);
	initStringInfo(&cols);
	x = -1;
	while ((x = bms_next_member(ctx.attrs, x)) >= 0)
	{
		char		cls = sqlite_exact_class(rel, (AttrNumber) x);

		if (cls == 0)
			ok = false;
		/* text equality and grouping compare bytes: those of UTF-8 only */
		if (cls == 't' && !info->utf8)
			ok = false;
		if (cls == '8' && x == info->alias_attnum)
			continue;
		appendStringInfoChar(&spec, cls);
		appendStringInfoString(&cols, ", ");
		sqlite_append_ident(&cols, sqlite_column_name(rte->relid, x));
	}
	if (!ok)
	{
		table_close(rel, NoLock);
		return;
	}

	/*
	 * SELECT <items>[, <check>] FROM t WHERE ... GROUP BY ...: the check is
	 * the smallest answer of the function over the rows (NULL for none),
	 * over all the groups with GROUP BY (a window over the groups, so SQLite
	 * computes every group before it returns the first).
	 */
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, ctx.items)
	{
		List	   *item = lfirst(lc);

		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&sql, ", ");
		append_item_sql(&sql, rel, (AggItemKind) linitial_int(item),
						(AttrNumber) lsecond_int(item), lthird_int(item));
	}
	if (ctx.items == NIL)
		appendStringInfoString(&sql, "NULL");
	if (spec.len > 0)
		appendStringInfo(&sql, ctx.group_vars ?
						 ", min(min(" SQLITE_VALUES_OK_FUNC "('%s'%s))) OVER ()" :
						 ", min(" SQLITE_VALUES_OK_FUNC "('%s'%s))",
						 spec.data, cols.data);
	appendStringInfoString(&sql, " FROM \"main\".");
	sqlite_append_ident(&sql, info->table);
	sqlite_deparse_where(&sql, rel, ctx.relid, info->remote_conds,
						 info->alias_attnum, info->is_table, &params);
	foreach(lc, ctx.group_vars)
	{
		Var		   *var = lfirst(lc);

		appendStringInfoString(&sql, foreach_current_index(lc) == 0 ?
							   " GROUP BY " : ", ");
		sqlite_append_ident(&sql, sqlite_column_name(rte->relid, var->varattno));
		appendStringInfoString(&sql, " COLLATE BINARY");
	}
	table_close(rel, NoLock);

	/* the fallback produces the scan tuple, in the same order */
	target = create_empty_pathtarget();
	foreach(lc, ctx.exprs)
		add_column_to_pathtarget(target, lfirst(lc), 0);
	set_pathtarget_cost_width(root, target);

	/*
	 * Costs, in the units of the ordinary scan (sqlite_fdw_mig.c), which
	 * charges seq_page_cost / 50 for SQLite reading a row and cpu_tuple_cost
	 * for converting it.  SQLite converts nothing, but its virtual machine
	 * takes about cpu_operator_cost for each guarded condition, aggregate and
	 * the check per row, and it sorts for GROUP BY where PostgreSQL hashes.
	 * Measured with bench/aggregates.sql (README, "Aggregates"): count(*)
	 * of a million rows 7.4 ms against 80 ms (SQLite counts b-tree cells
	 * without reading a column); count(*) of an index range 8.8 against
	 * 17 ms; sum, avg, min and max of 500,000 rows 92 against 99 ms;
	 * count(*) with an unindexed condition 66 against 81 ms; but GROUP BY
	 * of a million rows into ten groups 1,313 against 525 ms.
	 */
	rows = local->rows;
	if (bms_is_empty(ctx.attrs))
		run_cost = (info->remote_conds ? input_rel->rows : input_rel->tuples) *
			cpu_operator_cost * 0.4;
	else
	{
		run_cost = input_rel->tuples * (seq_page_cost / 50.0) +
			input_rel->rows * cpu_operator_cost *
			(list_length(ctx.items) + 1 + list_length(info->remote_conds));
		if (ctx.group_vars != NIL)
			run_cost += input_rel->rows * 2.0 * cpu_operator_cost *
				log2(input_rel->rows + 2.0);
	}
	startup_cost = 10 + run_cost;
	total_cost = startup_cost + rows * cpu_tuple_cost;
	if (sqlite_aggregate_pushdown == SQLITE_AGG_PUSHDOWN_ALWAYS)
		startup_cost = total_cost = 0;

	output_rel->fdw_private = info;
	add_path(output_rel, (Path *)
			 create_foreign_upper_path(root, output_rel, output_rel->reltarget,
									   rows, startup_cost, total_cost, NIL,
									   spec.len > 0 ?
									   copy_fallback_path(local, target) : NULL,
									   list_make5(makeString(sql.data),
												  makeInteger(spec.len > 0),
												  ctx.items, ctx.exprs,
												  list_make2(gextra->havingQual,
															 params))));
}

/* GetForeignPlan for the ForeignPath made above. */
ForeignScan *
sqlite_upper_plan(PlannerInfo *root, RelOptInfo *rel, ForeignPath *best_path,
				  List *tlist, Plan *outer_plan)
{
	List	   *priv = best_path->fdw_private;
	List	   *exprs = (List *) list_nth(priv, 3);
	List	   *having = (List *) linitial(list_nth(priv, 4));
	List	   *params = (List *) lsecond(list_nth(priv, 4));
	List	   *scan_tlist = NIL;
	List	   *items = NIL;
	ListCell   *lc;
	RangeTblEntry *rte;
	int			relid = bms_singleton_member(root->all_baserels);

	rte = planner_rt_fetch(relid, root);
	foreach(lc, exprs)
		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry(lfirst(lc), foreach_current_index(lc) + 1,
											 NULL, false));
	/* (kind, attnum) per column */
	foreach(lc, (List *) list_nth(priv, 2))
	{
		List	   *item = lfirst(lc);

		items = lappend(items, list_make2_int(linitial_int(item), lsecond_int(item)));
	}

	return make_foreignscan(tlist, having, 0, params,
							list_make4(list_nth(priv, 0), list_nth(priv, 1),
									   items, makeInteger((int) rte->relid)),
							scan_tlist, NIL, outer_plan);
}

/* BeginForeignScan of an aggregate pushed down. */
void
sqlite_upper_begin(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	SqliteUpperState *us;
	Oid			relid = (Oid) intVal(list_nth(fsplan->fdw_private, UpperPrivateRelid));
	TupleDesc	tupdesc;
	ListCell   *lc;
	int			col = 0;
	int			i = 0;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	us = palloc0(sizeof(SqliteUpperState));
	node->fdw_state = us;
	us->rel = ExecOpenScanRelation(node->ss.ps.state,
								   bms_singleton_member(fsplan->fs_relids), eflags);
	Assert(RelationGetRelid(us->rel) == relid);
	tupdesc = RelationGetDescr(us->rel);
	us->conn = sqlite_get_connection(GetForeignServer(GetForeignTable(relid)->serverid));
	us->nitems = list_length((List *) list_nth(fsplan->fdw_private, UpperPrivateItems));
	us->items = palloc0(sizeof(AggItem) * Max(us->nitems, 1));
	foreach(lc, (List *) list_nth(fsplan->fdw_private, UpperPrivateItems))
	{
		List	   *item = lfirst(lc);
		AggItem    *it = &us->items[i++];
		AttrNumber	attnum = (AttrNumber) lsecond_int(item);

		it->kind = (AggItemKind) linitial_int(item);
		it->col = col;
		col += item_width[it->kind];
		if (it->kind == ITEM_COLUMN)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, attnum - 1);

			sqlite_conv_init(&it->conv, att->atttypid, att->atttypmod,
							 sqlite_column_datetime_unit(relid, attnum),
							 CurrentMemoryContext);
		}
	}
	us->agg = sqlite_prepare(us->conn,
							 strVal(list_nth(fsplan->fdw_private, UpperPrivateSql)));
	us->ncols = Max(col, 1);
	us->has_check = intVal(list_nth(fsplan->fdw_private, UpperPrivateHasCheck)) != 0;
	if (sqlite3_column_count(us->agg->stmt) != Max(col, 1) + us->has_check)
		elog(ERROR, "SQLite aggregate query returns %d columns, expected %d",
			 sqlite3_column_count(us->agg->stmt), Max(col, 1) + us->has_check);
	us->param_exprs = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
}

/* Combine the two halves of a 64-bit sum: hi * 2^32 + lo, in numeric. */
static Datum
split_sum(int64 hi, int64 lo)
{
	Datum		h = NumericGetDatum(int64_to_numeric(hi));
	Datum		m = NumericGetDatum(int64_to_numeric(INT64CONST(4294967296)));
	Datum		l = NumericGetDatum(int64_to_numeric(lo));

	return DirectFunctionCall2(numeric_add,
							   DirectFunctionCall2(numeric_mul, h, m), l);
}

/* IterateForeignScan of an aggregate pushed down. */
TupleTableSlot *
sqlite_upper_iterate(ForeignScanState *node)
{
	SqliteUpperState *us = (SqliteUpperState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	sqlite3_stmt *stmt;
	int			i;

	ExecClearTuple(slot);
	if (!us->started)
	{
		sqlite_bind_values(us->conn, us->agg, us->param_exprs,
						   node->ss.ps.ps_ExprContext);
		us->started = true;
		CHECK_FOR_INTERRUPTS();
		if (sqlite_step(us->agg) == SQLITE_DONE)
		{
			us->done = true;
			return slot;
		}
		/* 0: some row holds a value SQLite does not aggregate as PostgreSQL */
		if (us->has_check &&
			sqlite3_column_type(us->agg->stmt, us->ncols) != SQLITE_NULL &&
			sqlite3_column_int(us->agg->stmt, us->ncols) == 0)
		{
			us->fallback = true;
			sqlite_reset(us->agg);
		}
	}
	else if (!us->fallback)
	{
		/* stepping again after the end would run the query again */
		if (us->done)
			return slot;
		CHECK_FOR_INTERRUPTS();
		if (sqlite_step(us->agg) == SQLITE_DONE)
		{
			us->done = true;
			return slot;
		}
	}

	if (us->fallback)
	{
		TupleTableSlot *outer;
		MemoryContext oldcxt;

		/* plan nodes run in the query's memory, not our per-tuple one */
		oldcxt = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
		outer = ExecProcNode(outerPlanState(node));
		MemoryContextSwitchTo(oldcxt);
		if (TupIsNull(outer))
			return slot;
		return ExecCopySlot(slot, outer);
	}

	stmt = us->agg->stmt;

	/* the executor runs us in per-tuple memory */
	for (i = 0; i < us->nitems; i++)
	{
		AggItem    *it = &us->items[i];
		Datum	   *value = &slot->tts_values[i];
		bool	   *isnull = &slot->tts_isnull[i];
		int			c = it->col;

		*isnull = false;
		switch (it->kind)
		{
			case ITEM_COLUMN:
				*value = sqlite_conv_value(&it->conv, stmt, c, isnull);
				break;
			case ITEM_COUNT:
				*value = Int64GetDatum(sqlite3_column_int64(stmt, c));
				break;
			case ITEM_SUM:
				*isnull = sqlite3_column_type(stmt, c) == SQLITE_NULL;
				*value = Int64GetDatum(sqlite3_column_int64(stmt, c));
				break;
			case ITEM_SUM_SPLIT:
				*isnull = sqlite3_column_type(stmt, c) == SQLITE_NULL;
				if (!*isnull)
					*value = split_sum(sqlite3_column_int64(stmt, c),
									   sqlite3_column_int64(stmt, c + 1));
				break;
			case ITEM_AVG:
			case ITEM_AVG_SPLIT:
				{
					int			ccount = c + item_width[it->kind] - 1;
					int64		count = sqlite3_column_int64(stmt, ccount);
					Datum		sum;

					*isnull = (count == 0);
					if (*isnull)
						break;
					sum = it->kind == ITEM_AVG ?
						NumericGetDatum(int64_to_numeric(sqlite3_column_int64(stmt, c))) :
						split_sum(sqlite3_column_int64(stmt, c),
								  sqlite3_column_int64(stmt, c + 1));
					*value = DirectFunctionCall2(numeric_div, sum,
												 NumericGetDatum(int64_to_numeric(count)));
					break;
				}
		}
	}
	return ExecStoreVirtualTuple(slot);
}

/* ReScanForeignScan: check and aggregate again (the outer plan rescans itself). */
void
sqlite_upper_rescan(ForeignScanState *node)
{
	SqliteUpperState *us = (SqliteUpperState *) node->fdw_state;

	sqlite_reset(us->agg);
	us->started = false;
	us->done = false;
	us->fallback = false;
}

void
sqlite_upper_end(ForeignScanState *node)
{
	SqliteUpperState *us = (SqliteUpperState *) node->fdw_state;

	if (us == NULL)
		return;
	if (us->agg)
		sqlite_finalize(us->agg);
}

/* EXPLAIN: the aggregate query, and what the outer plan is for. */
void
sqlite_upper_explain(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	Oid			relid = (Oid) intVal(list_nth(fsplan->fdw_private, UpperPrivateRelid));

	ExplainPropertyText("Relations",
						psprintf("Aggregate on (%s)", get_rel_name(relid)), es);
	if (!es->verbose)
		return;
	ExplainPropertyText("SQLite query",
						strVal(list_nth(fsplan->fdw_private, UpperPrivateSql)), es);
	if (intVal(list_nth(fsplan->fdw_private, UpperPrivateHasCheck)))
		ExplainPropertyText("Fallback",
							"the outer plan, run only when the query's last column shows a value SQLite aggregates differently",
							es);
}

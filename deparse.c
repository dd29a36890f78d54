/*-------------------------------------------------------------------------
 *
 * deparse.c
 *		  The SQL sent to SQLite: the SELECT of a foreign scan, and the WHERE
 *		  conditions that may be evaluated by SQLite.
 *
 * A condition is pushed down only when SQLite can never make it drop a row
 * that PostgreSQL would keep.  SQLite files hold values of any storage class
 * in any column, and a value of an unexpected class may convert to a
 * PostgreSQL value that satisfies the condition even though SQLite's
 * comparison says otherwise (text '5' against integer 5).  So each pushed
 * comparison is guarded: rows whose storage class is not the one the
 * comparison is exact for always pass, and PostgreSQL re-checks every
 * condition on the rows SQLite returns.  The pushed WHERE is thus a filter
 * that is never stricter than the query; it only saves converting and
 * shipping rows SQLite can rule out.
 *
 * Constants and parameters are never pasted into the SQL: each becomes a
 * numbered parameter (?N) bound at execution.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "sqlite_fdw_mig.h"

/* The comparison families that may be pushed, by column type. */
typedef enum PushClass
{
	PUSH_NONE,
	PUSH_INT,					/* int2/int4/int8 column: all comparisons */
	PUSH_FLOAT,					/* float8 column: all comparisons */
	PUSH_TEXT					/* text/varchar column: = and <> only */
} PushClass;

typedef struct DeparseCtx
{
	StringInfo	buf;
	Relation	rel;
	Index		relid;			/* range table index of the scanned relation */
	AttrNumber	alias_attnum;	/* the INTEGER PRIMARY KEY column, or 0 */
	bool		is_table;		/* an ordinary table (not a view) */
	List	  **params;			/* expressions bound as ?1, ?2, ... */
} DeparseCtx;

static PushClass push_class_of_type(Oid typid);
static Var *strip_to_var(Expr *e, Index relid);
static bool is_value_operand(Expr *e, Index relid);
static bool pushable_opexpr(OpExpr *op, Index relid, bool text_ok, Var **var,
							Expr **value, bool *var_first);
static bool rel_text_ok(RelOptInfo *baserel);
static void deparse_clause(Expr *node, DeparseCtx *ctx, bool negate);
static void deparse_column(Var *var, DeparseCtx *ctx);
static int	add_param(Expr *value, DeparseCtx *ctx);

/*
 * Append a double-quoted SQLite identifier: "name" (in the database encoding)
 * converted to UTF-8, embedded quotes doubled by SQLite's "%w".
 */
void
sqlite_append_ident(StringInfo buf, const char *name)
{
	sqlite_append_ident_utf8(buf, pg_server_to_any(name, strlen(name), PG_UTF8));
}

/* The same for a name that is already UTF-8 (one read from SQLite). */
void
sqlite_append_ident_utf8(StringInfo buf, const char *utf8)
{
	char	   *q = sqlite3_mprintf("\"%w\"", utf8);

	if (q == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	appendStringInfoString(buf, q);
	sqlite3_free(q);
}

/* Which comparisons on a column of type typid may be pushed. */
static PushClass
push_class_of_type(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return PUSH_INT;
		case FLOAT8OID:
			return PUSH_FLOAT;
		case TEXTOID:
		case VARCHAROID:
			return PUSH_TEXT;
		default:
			return PUSH_NONE;
	}
}

/* The Var of the scanned relation under relabeling, or NULL. */
static Var *
strip_to_var(Expr *e, Index relid)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e && IsA(e, Var))
	{
		Var		   *v = (Var *) e;

		if ((Index) v->varno == relid && v->varlevelsup == 0 && v->varattno > 0)
			return v;
	}
	return NULL;
}

/*
 * A constant, a query parameter, or a column of another relation (a join
 * clause of a parameterized scan, which becomes a nestloop parameter):
 * something bound, never pasted.
 */
static bool
is_value_operand(Expr *e, Index relid)
{
	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	if (e == NULL)
		return false;
	if (IsA(e, Const))
		return true;
	if (IsA(e, Param))
	{
		Param	   *p = (Param *) e;

		return p->paramkind == PARAM_EXTERN || p->paramkind == PARAM_EXEC;
	}
	if (IsA(e, Var))
	{
		Var		   *v = (Var *) e;

		return (Index) v->varno != relid && v->varlevelsup == 0 &&
			v->varattno > 0;
	}
	return false;
}

/*
 * Is "op" a comparison "column op value" (either way round) with a built-in
 * operator whose SQLite meaning is the same for the column's storage class?
 * Text comparisons only if "text_ok" (the file's text is UTF-8).
 */
static bool
pushable_opexpr(OpExpr *op, Index relid, bool text_ok, Var **var, Expr **value,
				bool *var_first)
{
	HeapTuple	tup;
	Form_pg_operator form;
	const char *name;
	Expr	   *l,
			   *r;
	PushClass	cls;
	Oid			valtype;
	bool		ok;

	if (list_length(op->args) != 2 || op->opno >= FirstGenbkiObjectId)
		return false;
	l = linitial(op->args);
	r = lsecond(op->args);
	if ((*var = strip_to_var(l, relid)) != NULL && is_value_operand(r, relid))
	{
		*value = r;
		*var_first = true;
	}
	else if ((*var = strip_to_var(r, relid)) != NULL && is_value_operand(l, relid))
	{
		*value = l;
		*var_first = false;
	}
	else
		return false;

	cls = push_class_of_type((*var)->vartype);
	valtype = exprType((Node *) *value);
	if (cls == PUSH_NONE || (cls == PUSH_TEXT && !text_ok))
		return false;

	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(op->opno));
	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_operator) GETSTRUCT(tup);
	name = NameStr(form->oprname);
	ok = (strcmp(name, "=") == 0 || strcmp(name, "<>") == 0);
	if (cls != PUSH_TEXT)
		ok = ok || strcmp(name, "<") == 0 || strcmp(name, "<=") == 0 ||
			strcmp(name, ">") == 0 || strcmp(name, ">=") == 0;
	ReleaseSysCache(tup);
	if (!ok)
		return false;

	switch (cls)
	{
		case PUSH_INT:
			return valtype == INT2OID || valtype == INT4OID || valtype == INT8OID;
		case PUSH_FLOAT:
			return valtype == FLOAT8OID || valtype == FLOAT4OID;
		case PUSH_TEXT:
			/* byte equality is only equality under a deterministic collation */
			if (valtype != TEXTOID && valtype != VARCHAROID)
				return false;
			return OidIsValid(op->inputcollid) &&
				get_collation_isdeterministic(op->inputcollid);
		case PUSH_NONE:
			break;
	}
	return false;
}

/*
 * May text be compared in SQLite for "baserel"?  Only in a UTF-8 file: in a
 * UTF-16 file, text that differs in unpaired surrogates is different bytes
 * to SQLite but reads as the same text in PostgreSQL.
 */
static bool
rel_text_ok(RelOptInfo *baserel)
{
	SqliteRelInfo *info = (SqliteRelInfo *) baserel->fdw_private;

	return info != NULL && info->utf8;
}

/*
 * May "clause" (a restriction on baserel) be sent to SQLite?
 */
bool
sqlite_is_pushable_clause(PlannerInfo *root, RelOptInfo *baserel, Expr *clause)
{
	if (clause == NULL)
		return false;

	switch (nodeTag(clause))
	{
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) clause;
				ListCell   *lc;

				foreach(lc, b->args)
				{
					if (!sqlite_is_pushable_clause(root, baserel, lfirst(lc)))
						return false;
				}
				return true;
			}
		case T_NullTest:
			{
				NullTest   *nt = (NullTest *) clause;

				return !nt->argisrow &&
					strip_to_var(nt->arg, baserel->relid) != NULL;
			}
		case T_OpExpr:
			{
				Var		   *var;
				Expr	   *value;
				bool		var_first;

				return pushable_opexpr((OpExpr *) clause, baserel->relid,
									   rel_text_ok(baserel),
									   &var, &value, &var_first);
			}
		default:
			return false;
	}
}

/*
 * If "clause" is "column = expression of other relations" that may be sent
 * to SQLite (a join clause a parameterized scan can look up), return the
 * column's attnum, else 0.
 */
AttrNumber
sqlite_clause_lookup_attnum(RelOptInfo *baserel, Expr *clause)
{
	Var		   *var;
	Expr	   *value;
	bool		var_first;
	char	   *opname;

	if (clause == NULL || !IsA(clause, OpExpr))
		return InvalidAttrNumber;
	if (!pushable_opexpr((OpExpr *) clause, baserel->relid, rel_text_ok(baserel),
						 &var, &value, &var_first))
		return InvalidAttrNumber;
	opname = get_opname(((OpExpr *) clause)->opno);
	if (opname == NULL || strcmp(opname, "=") != 0)
		return InvalidAttrNumber;
	/* only these have an equality SQLite answers from an index */
	if (push_class_of_type(var->vartype) != PUSH_INT &&
		push_class_of_type(var->vartype) != PUSH_TEXT)
		return InvalidAttrNumber;
	/* the value must come from the outer side, not be a constant */
	if (!bms_is_empty(pull_varnos(NULL, (Node *) value)) &&
		!bms_is_member(baserel->relid, pull_varnos(NULL, (Node *) value)))
		return var->varattno;
	return InvalidAttrNumber;
}

/*
 * Build the SELECT for a scan of "rel" (SQLite table "tablename"): first the
 * rowid (or NULL when the table has none), then the columns the query needs
 * (every column when all_columns),
 * whose attribute numbers go to *retrieved_attrs, then the WHERE made of
 * "remote_conds" (RestrictInfos).  The expressions to bind as ?1, ?2, ... go
 * to *params_list.
 */
void
sqlite_deparse_select(StringInfo buf, PlannerInfo *root, RelOptInfo *baserel,
					  Relation rel, const char *tablename, const char *rowid_name,
					  List *remote_conds, bool all_columns,
					  AttrNumber alias_attnum, bool is_table,
					  List **retrieved_attrs, List **params_list)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Bitmapset  *attrs_used = NULL;
	bool		whole_row;
	int			i;
	ListCell   *lc;

	*retrieved_attrs = NIL;
	*params_list = NIL;

	/* the columns the target list and the local conditions need */
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs_used);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		pull_varattnos((Node *) ri->clause, baserel->relid, &attrs_used);
	}
	whole_row = all_columns ||
		bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs_used);

	appendStringInfoString(buf, "SELECT ");
	if (rowid_name)
		sqlite_append_ident(buf, rowid_name);
	else
		appendStringInfoString(buf, "NULL");

	for (i = 1; i <= tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i - 1);

		if (att->attisdropped)
			continue;
		if (!whole_row &&
			!bms_is_member(i - FirstLowInvalidHeapAttributeNumber, attrs_used))
			continue;
		appendStringInfoString(buf, ", ");
		sqlite_append_ident(buf, sqlite_column_name(RelationGetRelid(rel), i));
		*retrieved_attrs = lappend_int(*retrieved_attrs, i);
	}

	appendStringInfoString(buf, " FROM \"main\".");
	sqlite_append_ident(buf, tablename);

	sqlite_deparse_where(buf, rel, baserel->relid, remote_conds,
						 alias_attnum, is_table, params_list);
}

/*
 * Append " WHERE " and "remote_conds" (pushable RestrictInfos of relation
 * "relid"), if any; the values to bind are appended to *params_list.
 */
void
sqlite_deparse_where(StringInfo buf, Relation rel, Index relid,
					 List *remote_conds, AttrNumber alias_attnum,
					 bool is_table, List **params_list)
{
	DeparseCtx	ctx;
	ListCell   *lc;

	ctx.buf = buf;
	ctx.rel = rel;
	ctx.relid = relid;
	ctx.alias_attnum = alias_attnum;
	ctx.is_table = is_table;
	ctx.params = params_list;
	foreach(lc, remote_conds)
	{
		RestrictInfo *ri = lfirst_node(RestrictInfo, lc);

		appendStringInfoString(buf, foreach_current_index(lc) == 0 ? " WHERE " : " AND ");
		deparse_clause(ri->clause, &ctx, false);
	}
}

/*
 * Is pushed "clause" exact for rows whose columns hold only values of their
 * own storage class (see sqlite_exact_class)?  Every pushed form is,
 * except a float comparison with a value that may be NaN at execution: a
 * NaN is bound as NULL and lets every row through.  So a float comparison
 * counts only with a constant that is not NaN.  (Exact classes:
 * sqlite_exact_class.)
 */
bool
sqlite_clause_is_exact(Expr *clause, Index relid)
{
	switch (nodeTag(clause))
	{
		case T_BoolExpr:
			{
				ListCell   *lc;

				foreach(lc, ((BoolExpr *) clause)->args)
				{
					if (!sqlite_clause_is_exact(lfirst(lc), relid))
						return false;
				}
				return true;
			}
		case T_NullTest:
			return true;
		case T_OpExpr:
			{
				Var		   *var;
				Expr	   *value;
				bool		var_first;
				Const	   *c;

				if (!pushable_opexpr((OpExpr *) clause, relid, true, &var, &value,
									 &var_first))
					return false;
				if (push_class_of_type(var->vartype) != PUSH_FLOAT)
					return true;
				while (IsA(value, RelabelType))
					value = ((RelabelType *) value)->arg;
				if (!IsA(value, Const))
					return false;
				c = (Const *) value;
				/* bound as NULL, which the SQL reads as "every row" */
				if (c->constisnull)
					return false;
				if (c->consttype == FLOAT8OID)
					return !isnan(DatumGetFloat8(c->constvalue));
				if (c->consttype == FLOAT4OID)
					return !isnan(DatumGetFloat4(c->constvalue));
				return false;
			}
		default:
			return false;
	}
}

/*
 * The letter of SQLITE_VALUES_OK_FUNC's spec for column "attnum" of "rel":
 * the one storage class its PostgreSQL type reads exactly as SQLite compares
 * it, an integer in range for int2/int4/int8 ('2', '4', '8'), a real for
 * float8 ('r'), valid UTF-8 text for text in a UTF-8 database ('t'); or 0
 * for any other type.
 */
char
sqlite_exact_class(Relation rel, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

	switch (att->atttypid)
	{
		case INT2OID:
			return '2';
		case INT4OID:
			return '4';
		case INT8OID:
			return '8';
		case FLOAT8OID:
			return 'r';
		case TEXTOID:
		case VARCHAROID:
			if (att->atttypmod >= 0 || GetDatabaseEncoding() != PG_UTF8)
				return 0;
			return 't';
		default:
			return 0;
	}
}

/*
 * Append a pushable clause, negated if "negate" (NOT is pushed down to the
 * comparisons, so that each can keep its storage-class guard).
 */
static void
deparse_clause(Expr *node, DeparseCtx *ctx, bool negate)
{
	StringInfo	buf = ctx->buf;

	switch (nodeTag(node))
	{
		case T_BoolExpr:
			{
				BoolExpr   *b = (BoolExpr *) node;
				const char *op;
				ListCell   *lc;

				if (b->boolop == NOT_EXPR)
				{
					deparse_clause(linitial(b->args), ctx, !negate);
					return;
				}
				/* De Morgan: NOT (a AND b) = (NOT a OR NOT b) */
				if ((b->boolop == AND_EXPR) != negate)
					op = " AND ";
				else
					op = " OR ";
				appendStringInfoChar(buf, '(');
				foreach(lc, b->args)
				{
					if (foreach_current_index(lc) > 0)
						appendStringInfoString(buf, op);
					deparse_clause(lfirst(lc), ctx, negate);
				}
				appendStringInfoChar(buf, ')');
				return;
			}
		case T_NullTest:
			{
				NullTest   *nt = (NullTest *) node;
				bool		isnull = (nt->nulltesttype == IS_NULL) != negate;

				/* NULL is exact: SQLite NULL is PostgreSQL NULL and nothing else is */
				appendStringInfoChar(buf, '(');
				deparse_column(strip_to_var(nt->arg, ctx->relid), ctx);
				appendStringInfoString(buf, isnull ? " IS NULL)" : " IS NOT NULL)");
				return;
			}
		case T_OpExpr:
			{
				OpExpr	   *op = (OpExpr *) node;
				Var		   *var = NULL;
				Expr	   *value = NULL;
				bool		var_first = true;
				PushClass	cls;
				const char *opname;
				const char *guard;
				int			param;

				/* classification was done at planning; find the operands again */
				if (!pushable_opexpr(op, ctx->relid, true, &var, &value, &var_first))
					elog(ERROR, "clause is not pushable");
				cls = push_class_of_type(var->vartype);
				opname = get_opname(op->opno);
				guard = cls == PUSH_INT ? "'integer'" :
					cls == PUSH_FLOAT ? "'real'" : "'text'";
				param = add_param(value, ctx);

				/*
				 * The INTEGER PRIMARY KEY only ever holds integers: no guard,
				 * so SQLite finds the rows by rowid.
				 */
				if (var->varattno == ctx->alias_attnum && cls == PUSH_INT)
				{
					appendStringInfoString(buf, negate ? "(NOT (" : "((");
					if (var_first)
					{
						deparse_column(var, ctx);
						appendStringInfo(buf, " %s ?%d", opname, param);
					}
					else
					{
						appendStringInfo(buf, "?%d %s ", param, opname);
						deparse_column(var, ctx);
					}
					appendStringInfoString(buf, "))");
					return;
				}

				/*
				 * Equality, in a form SQLite can answer from an index: the
				 * rows equal to the value, plus the rows of other storage
				 * classes PostgreSQL may still read as equal, found as a range
				 * of the index's order (numbers, then text, then blobs): text
				 * and blobs for an integer column, numbers for a text column
				 * (a blob read as text is an error, which SQLite may spare).
				 */
				if (!negate && strcmp(opname, "=") == 0 && cls == PUSH_INT)
				{
					appendStringInfoString(buf, "(");
					deparse_column(var, ctx);
					appendStringInfo(buf, " COLLATE BINARY = ?%d OR ", param);
					deparse_column(var, ctx);
					appendStringInfoString(buf, " COLLATE BINARY >= '')");
					return;
				}

				/*
				 * Only in a table: a view's column of TEXT affinity may hold
				 * a REAL, which SQLite compares as its own text ('5.0') where
				 * PostgreSQL reads '5'.
				 */
				if (!negate && strcmp(opname, "=") == 0 && cls == PUSH_TEXT &&
					ctx->is_table)
				{
					appendStringInfoString(buf, "(");
					deparse_column(var, ctx);
					appendStringInfo(buf, " COLLATE BINARY = ?%d OR ", param);
					deparse_column(var, ctx);
					appendStringInfoString(buf, " COLLATE BINARY < '')");
					return;
				}

				appendStringInfoString(buf, "(typeof(");
				deparse_column(var, ctx);
				appendStringInfo(buf, ") NOT IN (%s, 'null') OR ", guard);
				/* a NaN parameter is bound as NULL: let every row through */
				if (cls == PUSH_FLOAT)
					appendStringInfo(buf, "?%d IS NULL OR ", param);
				if (negate)
					appendStringInfoString(buf, "NOT ");
				appendStringInfoChar(buf, '(');
				if (var_first)
				{
					deparse_column(var, ctx);
					if (cls == PUSH_TEXT)
						appendStringInfoString(buf, " COLLATE BINARY");
					appendStringInfo(buf, " %s ?%d", opname, param);
				}
				else
				{
					appendStringInfo(buf, "?%d %s ", param, opname);
					deparse_column(var, ctx);
					if (cls == PUSH_TEXT)
						appendStringInfoString(buf, " COLLATE BINARY");
				}
				appendStringInfoString(buf, "))");
				return;
			}
		default:
			elog(ERROR, "unexpected node type in pushed condition: %d",
				 (int) nodeTag(node));
	}
}

/* Append the SQLite name of a column. */
static void
deparse_column(Var *var, DeparseCtx *ctx)
{
	sqlite_append_ident(ctx->buf,
						sqlite_column_name(RelationGetRelid(ctx->rel),
										   var->varattno));
}

/* Register a value to bind and return its parameter number. */
static int
add_param(Expr *value, DeparseCtx *ctx)
{
	*ctx->params = lappend(*ctx->params, value);
	return list_length(*ctx->params);
}

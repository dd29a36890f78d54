/*-------------------------------------------------------------------------
 *
 * modify.c
 *		  Writes through foreign tables: INSERT (also batched, by COPY and by
 *		  partition routing), UPDATE and DELETE with RETURNING, and TRUNCATE;
 *		  how a row is found again (rowid or key columns), how a PostgreSQL
 *		  value is bound, and the check that SQLite stored every written
 *		  value exactly.
 *
 * Writes are opt-in (the option updatable, see option.c) and run in the
 * SQLite write transaction of the PostgreSQL transaction (connection.c).
 *
 * SQLite converts a value to the affinity of its column's declared type:
 * text '0123' written to an INTEGER column becomes 123, and a NUMERIC column
 * keeps 15 significant digits.  Every statement therefore returns the
 * columns it wrote (RETURNING), each is read back through the same
 * conversion a scan uses, and a value that does not read back equal stops
 * the statement with an ERROR, which rolls the SQLite change back with the
 * PostgreSQL transaction or subtransaction.
 *
 * A row of a rowid table is found by its rowid: by the INTEGER PRIMARY KEY
 * column when the foreign table has it, else through the row's ctid, which
 * the scan fills with the rowid (see sqlite_rowid_to_tid).  A WITHOUT ROWID
 * table is found by its primary key, and columns with the option key 'true'
 * (as in pgspider's sqlite_fdw) override both.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_collation.h"
#include "common/shortest_dec.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "sqlite_fdw_mig.h"

/* The slots of ModifyTable.fdw_private. */
enum SqliteModifyPrivate
{
	ModifyPrivateSql,			/* the statement (String) */
	ModifyPrivateWritten,		/* attnums of its bound values (IntList) */
	ModifyPrivateKeys,			/* attnums of the key columns, or NIL for
								 * the rowid (IntList) */
	ModifyPrivateReturned,		/* attnums of its RETURNING list (IntList) */
	ModifyPrivateFillSlot,		/* RETURNING or a trigger needs the stored
								 * row (Integer) */
	ModifyPrivateRowidKeyed		/* rows are found by rowid (Integer) */
};

/* One column of the RETURNING list. */
typedef struct ReturnedColumn
{
	AttrNumber	attnum;
	bool		written;		/* bound by the statement: check it */
	SqliteColumnConv conv;		/* read back as a scan would */
	FmgrInfo	eq;				/* the type's equality, if it has one */
	bool		has_eq;
} ReturnedColumn;

/* The execution state of a write to one foreign table. */
typedef struct SqliteModifyState
{
	Relation	rel;
	const char *table;			/* SQLite table, for messages */
	CmdType		op;
	SqliteConn *conn;
	SqliteStmt *stmt;
	char	   *sql;
	int			nwritten;
	AttrNumber *written;		/* attnums of the bound values */
	SqliteColumnConv *wconvs;	/* how each is bound */
	bool	   *wtext;			/* its SQLite column has TEXT affinity */
	bool	   *ktext;			/* the same for each key column */
	int			nkeys;			/* 0: the rowid */
	AttrNumber *keys;			/* attnums of the key columns */
	SqliteColumnConv *kconvs;
	AttrNumber *key_junk;		/* where the plan's rows carry them */
	AttrNumber	ctid_junk;		/* or the ctid */
	int			nreturned;
	ReturnedColumn *returned;
	bool	   *is_returned;	/* per attnum - 1: in the RETURNING list */
	bool		fill_slot;		/* RETURNING or a trigger needs the row */
	bool		rowid_keyed;	/* rows found by rowid (ctid or alias) */
	int			current;		/* returned column being checked, or -1 */
	MemoryContext rowcxt;		/* reset for every row */
} SqliteModifyState;

static List *row_keys(Relation rel, SqliteConn *conn, const char *table,
					  const char **rowid, bool *by_rowid);
static List *all_columns(Relation rel);
static char *build_statement(Relation rel, CmdType op, const char *table,
							 List *written, List *keys, const char *rowid,
							 List *returned, bool on_conflict_nothing);
static SqliteModifyState *begin_modify(Relation rel, CmdType op,
									   List *fdw_private, Plan *subplan);
static TupleTableSlot *exec_row(SqliteModifyState *ms, TupleTableSlot *slot,
								TupleTableSlot *planSlot);
static void bind_value(SqliteModifyState *ms, int idx, AttrNumber attnum,
					   SqliteColumnConv *conv, Datum value, bool isnull,
					   bool text_affinity);
static bool sqlite_text_affinity(const char *decltype);
static void bind_text(SqliteModifyState *ms, int idx, const char *s, int len);
static char *datetime_text(SqliteColumnConv *conv, Datum value, bool *ok);
static bool datetime_number(SqliteColumnConv *conv, Datum value,
							int64 *i, double *d);
static void check_returned(SqliteModifyState *ms, TupleTableSlot *slot,
						   Datum *values, bool *nulls);
static void refuse_value(SqliteModifyState *ms, AttrNumber attnum,
						 bool has_value, Datum value, const char *detail,
						 const char *hint) pg_attribute_noreturn();
static char *value_text(Relation rel, AttrNumber attnum, Datum value);
static bool same_float_sign(SqliteColumnConv *conv, Datum a, Datum b);

/* rowid <-> ctid: the rowid plus 2^47, in the 48 bits of an ItemPointer */
#define ROWID_BIAS	(INT64CONST(1) << 47)

/*
 * Encode "rowid" in "tid".  Rowids from -2^47 to 2^47 - 65537 fit; others
 * get an invalid block number, which a later UPDATE or DELETE reports.
 */
void
sqlite_rowid_to_tid(int64 rowid, ItemPointer tid)
{
	if (rowid >= -ROWID_BIAS && rowid < ROWID_BIAS - 65536)
	{
		uint64		u = (uint64) (rowid + ROWID_BIAS);

		ItemPointerSetBlockNumber(tid, (BlockNumber) (u >> 16));
		tid->ip_posid = (OffsetNumber) (u & 0xFFFF);
	}
	else
	{
		ItemPointerSetBlockNumber(tid, InvalidBlockNumber);
		tid->ip_posid = 0;
	}
}

/* Decode a rowid from "tid"; false if it did not fit. */
static bool
tid_to_rowid(ItemPointer tid, int64 *rowid)
{
	BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);

	if (blk == InvalidBlockNumber)
		return false;
	*rowid = (int64) (((uint64) blk << 16) | tid->ip_posid) - ROWID_BIAS;
	return true;
}

/*
 * May foreign table "relid" be written: updatable, and its server owned by
 * a role that may write files?  Planning opens the file for writing only
 * then.
 */
static bool
may_write_table(Oid relid)
{
	return sqlite_table_updatable(relid) &&
		sqlite_server_may_write(GetForeignTable(relid)->serverid);
}

/*
 * Is a target of "q" (or of a data-modifying WITH in it) a foreign table of
 * server "serverid"?  With "writable", only one that may be written counts;
 * without, a partitioned or inheritance parent, which may route rows to
 * one, counts too.
 */
static bool
query_targets_server(Query *q, Oid serverid, bool writable)
{
	ListCell   *lc;

	if ((q->commandType == CMD_INSERT || q->commandType == CMD_UPDATE ||
		 q->commandType == CMD_DELETE) && q->resultRelation > 0)
	{
		RangeTblEntry *rte = rt_fetch(q->resultRelation, q->rtable);

		if (rte->relkind == RELKIND_FOREIGN_TABLE)
		{
			if (GetForeignTable(rte->relid)->serverid == serverid &&
				(!writable || may_write_table(rte->relid)))
				return true;
		}
		else if (!writable &&
				 (rte->relkind == RELKIND_PARTITIONED_TABLE || rte->inh))
			return true;
	}
	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query) &&
			query_targets_server((Query *) cte->ctequery, serverid, writable))
			return true;
	}
	return false;
}

/* The statement being planned: the top query. */
static Query *
top_query(PlannerInfo *root)
{
	while (root->parent_root != NULL)
		root = root->parent_root;
	return root->parse;
}

/*
 * Does the statement being planned write to an updatable foreign table of
 * server "serverid"?  Its scans of that server then take the write lock at
 * once.
 */
bool
sqlite_statement_writes_server(PlannerInfo *root, Oid serverid)
{
	return query_targets_server(top_query(root), serverid, true);
}

/*
 * May the statement being planned write to the file of server "serverid"?
 * Its scans of that file then read all their rows before it runs: SQLite
 * would otherwise show a scan the rows the statement itself inserts or
 * moves.  (A trigger on a local table that writes to the file is not
 * foreseen.)
 */
bool
sqlite_statement_writes(PlannerInfo *root, Oid serverid)
{
	return query_targets_server(top_query(root), serverid, false) &&
		sqlite_server_may_write(serverid);
}

/* Which operations foreign table "rel" allows: all if updatable, else none. */
int
sqliteIsForeignRelUpdatable(Relation rel)
{
	if (!sqlite_table_updatable(RelationGetRelid(rel)))
		return 0;
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/*
 * The key columns of "rel" (attnums), or NIL with *rowid set to the name
 * that reaches the rowid.  Raises an ERROR when rows cannot be found again.
 */
static List *
row_keys(Relation rel, SqliteConn *conn, const char *table, const char **rowid,
		 bool *by_rowid)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *keys = NIL;
	List	   *pk_names = NIL;
	char	   *pk_type = NULL;
	bool		exists;
	SqliteStmt *st;
	ListCell   *lc;
	int			i;

	*rowid = NULL;
	*by_rowid = false;
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && sqlite_column_is_key(relid, att->attnum))
			keys = lappend_int(keys, att->attnum);
	}
	if (keys != NIL)
		return keys;

	st = sqlite_prepare(conn,
						"SELECT name, type FROM pragma_table_xinfo(?1) "
						"WHERE pk > 0 ORDER BY pk");
	sqlite3_bind_text(st->stmt, 1,
					  pg_server_to_any(table, strlen(table), PG_UTF8), -1,
					  SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		const char *name = (const char *) sqlite3_column_text(st->stmt, 0);
		const char *type = (const char *) sqlite3_column_text(st->stmt, 1);

		pk_names = lappend(pk_names, pstrdup(name ? name : ""));
		pk_type = pstrdup(type ? type : "");
	}
	sqlite_finalize(st);

	*rowid = sqlite_rowid_alias(conn, table, &exists);
	if (*rowid != NULL)
	{
		/* the INTEGER PRIMARY KEY is the rowid itself */
		if (list_length(pk_names) == 1 && pg_strcasecmp(pk_type, "INTEGER") == 0)
		{
			AttrNumber	attnum = sqlite_column_attnum(rel, linitial(pk_names));

			if (attnum != InvalidAttrNumber)
			{
				*rowid = NULL;
				*by_rowid = true;
				return list_make1_int(attnum);
			}
		}
		*by_rowid = true;
		return NIL;
	}

	if (pk_names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("cannot update or delete rows of foreign table \"%s\": SQLite table \"%s\" has neither a rowid nor a primary key",
						RelationGetRelationName(rel), table),
				 errhint("Mark the columns that identify a row with OPTIONS (key 'true').")));
	foreach(lc, pk_names)
	{
		AttrNumber	attnum = sqlite_column_attnum(rel, lfirst(lc));

		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("cannot update or delete rows of foreign table \"%s\": it lacks column \"%s\" of the primary key of SQLite table \"%s\"",
							RelationGetRelationName(rel),
							(char *) lfirst(lc), table),
					 errhint("Add the column to the foreign table, or mark the columns that identify a row with OPTIONS (key 'true').")));
		keys = lappend_int(keys, attnum);
	}
	return keys;
}

/* Every column of "rel" a write can send: not dropped, not generated. */
static List *
all_columns(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *cols = NIL;
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && !att->attgenerated)
			cols = lappend_int(cols, att->attnum);
	}
	return cols;
}

/*
 * Add the row identity an UPDATE or DELETE needs: the key columns, or the
 * ctid that carries the rowid.
 */
void
sqliteAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
							  RangeTblEntry *target_rte,
							  Relation target_relation)
{
	Oid			relid = RelationGetRelid(target_relation);
	SqliteConn *conn;
	const char *rowid;
	bool		by_rowid;
	List	   *keys = NIL;
	ListCell   *lc;

	/*
	 * A table that may not be written is refused when the executor starts;
	 * planning it must not open the file for writing.
	 */
	if (may_write_table(relid))
	{
		conn = sqlite_get_write_connection(GetForeignServer(GetForeignTable(relid)->serverid));
		keys = row_keys(target_relation, conn, sqlite_table_name(relid), &rowid,
						&by_rowid);
	}

	if (keys == NIL)
	{
		Var		   *var = makeVar(rtindex, SelfItemPointerAttributeNumber,
								  TIDOID, -1, InvalidOid, 0);

		add_row_identity_var(root, var, rtindex, "ctid");
		return;
	}
	foreach(lc, keys)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(target_relation),
											  lfirst_int(lc) - 1);
		Var		   *var = makeVar(rtindex, att->attnum, att->atttypid,
								  att->atttypmod, att->attcollation, 0);

		add_row_identity_var(root, var, rtindex,
							 psprintf("sqlite_key_%d", att->attnum));
	}
}

/*
 * Build the statement of an INSERT, UPDATE or DELETE.  Parameters ?1..?n
 * are the written values, then the keys (or the rowid).
 */
static char *
build_statement(Relation rel, CmdType op, const char *table, List *written,
				List *keys, const char *rowid, List *returned,
				bool on_conflict_nothing)
{
	Oid			relid = RelationGetRelid(rel);
	StringInfoData sql;
	ListCell   *lc;
	int			param = 1;
	bool		first = true;

	initStringInfo(&sql);
	switch (op)
	{
		case CMD_INSERT:
			appendStringInfoString(&sql, "INSERT INTO ");
			sqlite_append_ident(&sql, table);
			if (written == NIL)
			{
				if (on_conflict_nothing)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("INSERT ... DEFAULT VALUES ON CONFLICT DO NOTHING is not supported on foreign table \"%s\"",
									RelationGetRelationName(rel)),
							 errhint("Name at least one column.")));
				appendStringInfoString(&sql, " DEFAULT VALUES");
			}
			else
			{
				appendStringInfoChar(&sql, '(');
				foreach(lc, written)
				{
					if (!first)
						appendStringInfoString(&sql, ", ");
					sqlite_append_ident(&sql, sqlite_column_name(relid, lfirst_int(lc)));
					first = false;
				}
				appendStringInfoString(&sql, ") VALUES (");
				first = true;
				foreach(lc, written)
				{
					appendStringInfo(&sql, "%s?%d", first ? "" : ", ", param++);
					first = false;
				}
				appendStringInfoChar(&sql, ')');
				/* skips uniqueness conflicts only, never NOT NULL or CHECK */
				if (on_conflict_nothing)
					appendStringInfoString(&sql, " ON CONFLICT DO NOTHING");
			}
			break;
		case CMD_UPDATE:
			appendStringInfoString(&sql, "UPDATE ");
			sqlite_append_ident(&sql, table);
			appendStringInfoString(&sql, " SET ");
			foreach(lc, written)
			{
				if (!first)
					appendStringInfoString(&sql, ", ");
				sqlite_append_ident(&sql, sqlite_column_name(relid, lfirst_int(lc)));
				appendStringInfo(&sql, " = ?%d", param++);
				first = false;
			}
			break;
		case CMD_DELETE:
			appendStringInfoString(&sql, "DELETE FROM ");
			sqlite_append_ident(&sql, table);
			break;
		default:
			elog(ERROR, "unexpected operation %d", (int) op);
	}

	if (op != CMD_INSERT)
	{
		appendStringInfoString(&sql, " WHERE ");
		if (keys == NIL)
		{
			sqlite_append_ident_utf8(&sql, rowid);
			appendStringInfo(&sql, " = ?%d", param++);
		}
		else
		{
			first = true;
			foreach(lc, keys)
			{
				if (!first)
					appendStringInfoString(&sql, " AND ");
				sqlite_append_ident(&sql, sqlite_column_name(relid, lfirst_int(lc)));
				appendStringInfo(&sql, " = ?%d", param++);
				first = false;
			}
		}
	}

	if (returned != NIL)
	{
		appendStringInfoString(&sql, " RETURNING ");
		first = true;
		foreach(lc, returned)
		{
			if (!first)
				appendStringInfoString(&sql, ", ");
			sqlite_append_ident(&sql, sqlite_column_name(relid, lfirst_int(lc)));
			first = false;
		}
	}
	return sql.data;
}

/*
 * Plan a write: which columns it sends (for INSERT those the statement
 * names, so SQLite's defaults apply to the others, plus those with a
 * PostgreSQL default), how it finds rows, and what it reads back.
 */
List *
sqlitePlanForeignModify(PlannerInfo *root, ModifyTable *plan,
						Index resultRelation, int subplan_index)
{
	CmdType		op = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel;
	Oid			relid = rte->relid;
	char	   *table = sqlite_table_name(relid);
	List	   *written = NIL;
	List	   *keys = NIL;
	List	   *returned = NIL;
	const char *rowid = NULL;
	bool		by_rowid = false;
	bool		want_row;
	char	   *sql;

	/* refused when the executor starts (CheckValidResultRel, begin_modify) */
	if (!may_write_table(relid))
		return NIL;

	rel = table_open(relid, NoLock);

	if (plan->onConflictAction == ONCONFLICT_UPDATE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ON CONFLICT DO UPDATE is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel))));

	if (op == CMD_INSERT)
	{
		TupleDesc	tupdesc = RelationGetDescr(rel);
		int			i;

		for (i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);

			if (att->attisdropped || att->attgenerated)
				continue;
			/* a BEFORE ROW trigger may set any column */
			if (bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber,
							  rte->insertedCols) || att->atthasdef ||
				(rel->trigdesc && rel->trigdesc->trig_insert_before_row))
				written = lappend_int(written, att->attnum);
		}
	}
	else if (op == CMD_UPDATE && rel->trigdesc &&
			 rel->trigdesc->trig_update_before_row)
		written = all_columns(rel);
	else if (op == CMD_UPDATE)
	{
		RelOptInfo *baserel = find_base_rel(root, resultRelation);
		Bitmapset  *cols = get_rel_all_updated_cols(root, baserel);
		int			col = -1;

		while ((col = bms_next_member(cols, col)) >= 0)
		{
			AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;

			if (attnum <= InvalidAttrNumber)
				elog(ERROR, "system-column update is not supported");
			if (!TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attgenerated)
				written = lappend_int(written, attnum);
		}
	}

	if (op != CMD_INSERT)
	{
		SqliteConn *conn = sqlite_get_write_connection(GetForeignServer(GetForeignTable(relid)->serverid));

		keys = row_keys(rel, conn, table, &rowid, &by_rowid);
	}

	/* RETURNING and row triggers see the row as SQLite stored it */
	want_row = (plan->returningLists != NIL &&
				list_nth(plan->returningLists, subplan_index) != NIL) ||
		(plan->withCheckOptionLists != NIL &&
		 list_nth(plan->withCheckOptionLists, subplan_index) != NIL) ||
		(rel->trigdesc &&
		 ((op == CMD_INSERT && rel->trigdesc->trig_insert_after_row) ||
		  (op == CMD_UPDATE && rel->trigdesc->trig_update_after_row) ||
		  (op == CMD_DELETE && rel->trigdesc->trig_delete_after_row)));
	if (want_row)
		returned = all_columns(rel);
	else
		returned = list_copy(written);
	if (op == CMD_DELETE && !want_row)
		returned = NIL;

	sql = build_statement(rel, op, table, written, keys, rowid, returned,
						  plan->onConflictAction == ONCONFLICT_NOTHING);
	table_close(rel, NoLock);

	return lappend(list_make5(makeString(sql), written, keys, returned,
							  makeInteger(want_row)),
				   makeInteger(by_rowid));
}

/*
 * The attnums of "cols" (an IntList of columns of "rel") and the conversion
 * a scan uses for each; returns how many.
 */
static int
column_convs(Relation rel, List *cols, AttrNumber **attnums,
			 SqliteColumnConv **convs)
{
	int			n = list_length(cols);
	ListCell   *lc;
	int			i = 0;

	*attnums = palloc(sizeof(AttrNumber) * Max(n, 1));
	*convs = palloc(sizeof(SqliteColumnConv) * Max(n, 1));
	foreach(lc, cols)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), lfirst_int(lc) - 1);

		(*attnums)[i] = att->attnum;
		sqlite_conv_init(&(*convs)[i], att->atttypid, att->atttypmod,
						 sqlite_column_datetime_unit(RelationGetRelid(rel), att->attnum),
						 CurrentMemoryContext);
		i++;
	}
	return n;
}

/* The state of a write to "rel", from the plan's fdw_private. */
static SqliteModifyState *
begin_modify(Relation rel, CmdType op, List *fdw_private, Plan *subplan)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	tupdesc = RelationGetDescr(rel);
	SqliteModifyState *ms = palloc0(sizeof(SqliteModifyState));
	List	   *written;
	List	   *keys;
	List	   *returned;
	ListCell   *lc;
	int			i;

	if (!sqlite_table_updatable(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign table \"%s\" is not updatable",
						RelationGetRelationName(rel)),
				 errhint("A role with privileges of pg_write_server_files may set the option \"updatable\".")));

	sqlite_check_server_writable(GetForeignTable(relid)->serverid);
	if (fdw_private == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("foreign table \"%s\" was not updatable when the statement was planned",
						RelationGetRelationName(rel)),
				 errhint("Run the statement again.")));
	written = (List *) list_nth(fdw_private, ModifyPrivateWritten);
	keys = (List *) list_nth(fdw_private, ModifyPrivateKeys);
	returned = (List *) list_nth(fdw_private, ModifyPrivateReturned);

	ms->rel = rel;
	ms->op = op;
	ms->table = sqlite_table_name(relid);
	ms->sql = strVal(list_nth(fdw_private, ModifyPrivateSql));
	ms->current = -1;
	ms->rowcxt = AllocSetContextCreate(CurrentMemoryContext,
									   "sqlite_fdw_mig modify row",
									   ALLOCSET_DEFAULT_SIZES);

	ms->nwritten = column_convs(rel, written, &ms->written, &ms->wconvs);
	ms->nkeys = column_convs(rel, keys, &ms->keys, &ms->kconvs);
	ms->key_junk = palloc(sizeof(AttrNumber) * Max(ms->nkeys, 1));
	i = 0;
	foreach(lc, keys)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);

		if (subplan)
		{
			char	   *name = psprintf("sqlite_key_%d", att->attnum);

			ms->key_junk[i] = ExecFindJunkAttributeInTlist(subplan->targetlist, name);
			if (!AttributeNumberIsValid(ms->key_junk[i]))
				elog(ERROR, "could not find junk column %s", name);
		}
		i++;
	}
	if (op != CMD_INSERT && ms->nkeys == 0 && subplan)
	{
		ms->ctid_junk = ExecFindJunkAttributeInTlist(subplan->targetlist, "ctid");
		if (!AttributeNumberIsValid(ms->ctid_junk))
			elog(ERROR, "could not find junk ctid column");
	}

	ms->nreturned = list_length(returned);
	ms->returned = palloc0(sizeof(ReturnedColumn) * Max(ms->nreturned, 1));
	i = 0;
	foreach(lc, returned)
	{
		ReturnedColumn *rc = &ms->returned[i++];
		Form_pg_attribute att = TupleDescAttr(tupdesc, lfirst_int(lc) - 1);
		TypeCacheEntry *tce;

		rc->attnum = att->attnum;
		rc->written = list_member_int(written, att->attnum);
		sqlite_conv_init(&rc->conv, att->atttypid, att->atttypmod,
						 sqlite_column_datetime_unit(relid, att->attnum),
						 CurrentMemoryContext);
		tce = lookup_type_cache(rc->conv.basetypid, TYPECACHE_EQ_OPR_FINFO);
		if (OidIsValid(tce->eq_opr_finfo.fn_oid))
		{
			fmgr_info_copy(&rc->eq, &tce->eq_opr_finfo, CurrentMemoryContext);
			rc->has_eq = true;
		}
	}
	ms->fill_slot = intVal(list_nth(fdw_private, ModifyPrivateFillSlot)) != 0;
	ms->is_returned = palloc0(sizeof(bool) * Max(tupdesc->natts, 1));
	for (i = 0; i < ms->nreturned; i++)
		ms->is_returned[ms->returned[i].attnum - 1] = true;
	ms->rowid_keyed = intVal(list_nth(fdw_private, ModifyPrivateRowidKeyed)) != 0;

	ms->conn = sqlite_get_write_connection(GetForeignServer(GetForeignTable(relid)->serverid));

	/*
	 * Columns of TEXT affinity store a REAL as SQLite's 15-digit text: a
	 * float is bound to them as its shortest exact text instead.
	 */
	ms->wtext = palloc0(sizeof(bool) * Max(ms->nwritten, 1));
	ms->ktext = palloc0(sizeof(bool) * Max(ms->nkeys, 1));
	{
		SqliteStmt *st = sqlite_prepare(ms->conn,
										"SELECT name, type FROM pragma_table_xinfo(?1)");

		sqlite3_bind_text(st->stmt, 1,
						  pg_server_to_any(ms->table, strlen(ms->table), PG_UTF8),
						  -1, SQLITE_TRANSIENT);
		while (sqlite_step(st) == SQLITE_ROW)
		{
			const char *name = (const char *) sqlite3_column_text(st->stmt, 0);
			const char *type = (const char *) sqlite3_column_text(st->stmt, 1);
			AttrNumber	attnum = name ? sqlite_column_attnum(rel, name) : 0;

			for (i = 0; i < ms->nwritten; i++)
			{
				if (ms->written[i] == attnum)
					ms->wtext[i] = sqlite_text_affinity(type);
			}
			/* a key is bound as its values were written */
			for (i = 0; i < ms->nkeys; i++)
			{
				if (ms->keys[i] == attnum)
					ms->ktext[i] = sqlite_text_affinity(type);
			}
		}
		sqlite_finalize(st);
	}

	ms->stmt = sqlite_prepare(ms->conn, ms->sql);
	return ms;
}

void
sqliteBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
						 List *fdw_private, int subplan_index, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	rinfo->ri_FdwState =
		begin_modify(rinfo->ri_RelationDesc, mtstate->operation, fdw_private,
					 outerPlanState(mtstate)->plan);
}

/*
 * COPY into a foreign table, and rows routed to a foreign partition: every
 * column is sent.
 */
void
sqliteBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	Relation	rel = rinfo->ri_RelationDesc;
	List	   *written = all_columns(rel);
	List	   *returned;
	bool		want_row;
	bool		nothing = false;

	want_row = rinfo->ri_returningList != NIL ||
		rinfo->ri_WithCheckOptions != NIL ||
		(rel->trigdesc && rel->trigdesc->trig_insert_after_row);
	returned = want_row ? all_columns(rel) : list_copy(written);
	/* COPY passes a ModifyTableState without a plan */
	if (mtstate && mtstate->ps.plan && mtstate->operation == CMD_INSERT)
	{
		ModifyTable *plan = (ModifyTable *) mtstate->ps.plan;

		if (plan->onConflictAction == ONCONFLICT_UPDATE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("ON CONFLICT DO UPDATE is not supported on foreign table \"%s\"",
							RelationGetRelationName(rel))));
		nothing = plan->onConflictAction == ONCONFLICT_NOTHING;
	}

	rinfo->ri_FdwState =
		begin_modify(rel, CMD_INSERT,
					 lappend(list_make5(makeString(build_statement(rel, CMD_INSERT,
														   sqlite_table_name(RelationGetRelid(rel)),
														   written, NIL, NULL,
														   returned, nothing)),
								written, NIL, returned, makeInteger(want_row)),
							 makeInteger(false)),
					 NULL);
}

TupleTableSlot *
sqliteExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
						TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return exec_row((SqliteModifyState *) rinfo->ri_FdwState, slot, planSlot);
}

TupleTableSlot **
sqliteExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
							 TupleTableSlot **slots, TupleTableSlot **planSlots,
							 int *numSlots)
{
	SqliteModifyState *ms = (SqliteModifyState *) rinfo->ri_FdwState;
	int			n = 0;
	int			i;

	/*
	 * SQLite runs in this process, so a batch saves no round trips: the rows
	 * go through the one prepared statement, each checked.
	 */
	for (i = 0; i < *numSlots; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (exec_row(ms, slots[i], planSlots ? planSlots[i] : NULL) != NULL)
			slots[n++] = slots[i];
	}
	*numSlots = n;
	return slots;
}

int
sqliteGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	if (rinfo->ri_projectReturning != NULL ||
		(rinfo->ri_TrigDesc &&
		 (rinfo->ri_TrigDesc->trig_insert_before_row ||
		  rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	return sqlite_table_batch_size(RelationGetRelid(rinfo->ri_RelationDesc));
}

TupleTableSlot *
sqliteExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
						TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return exec_row((SqliteModifyState *) rinfo->ri_FdwState, slot, planSlot);
}

TupleTableSlot *
sqliteExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
						TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	return exec_row((SqliteModifyState *) rinfo->ri_FdwState, slot, planSlot);
}

void
sqliteEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	SqliteModifyState *ms = (SqliteModifyState *) rinfo->ri_FdwState;

	if (ms && ms->stmt)
		sqlite_finalize(ms->stmt);
}

void
sqliteEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	sqliteEndForeignModify(estate, rinfo);
}

/* EXPLAIN VERBOSE shows the statement sent to SQLite. */
void
sqliteExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
						   List *fdw_private, int subplan_index,
						   ExplainState *es)
{
	if (es->verbose && fdw_private != NIL)
		ExplainPropertyText("SQLite statement",
							strVal(list_nth(fdw_private, ModifyPrivateSql)), es);
}

/* The error context of a write: the table and, while checking, the column. */
static void
modify_error_callback(void *arg)
{
	SqliteModifyState *ms = (SqliteModifyState *) arg;

	errcontext("write to foreign table \"%s\" (SQLite table \"%s\")",
			   RelationGetRelationName(ms->rel), ms->table);
}

/*
 * Run the statement for one row.  Returns the slot, filled with the row as
 * SQLite stored it when RETURNING or a trigger needs it, or NULL for an
 * INSERT that ON CONFLICT DO NOTHING skipped.
 */
static TupleTableSlot *
exec_row(SqliteModifyState *ms, TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	MemoryContext oldcxt;
	ErrorContextCallback errcallback;
	sqlite3_stmt *stmt = ms->stmt->stmt;
	Datum	   *values = NULL;
	bool	   *nulls = NULL;
	int			param = 1;
	int			rc;
	int			rows = 0;
	int64		changes;
	int			i;

	MemoryContextReset(ms->rowcxt);
	oldcxt = MemoryContextSwitchTo(ms->rowcxt);
	errcallback.callback = modify_error_callback;
	errcallback.arg = ms;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	sqlite_reset(ms->stmt);

	if (ms->op != CMD_DELETE)
	{
		slot_getallattrs(slot);
		for (i = 0; i < ms->nwritten; i++)
		{
			AttrNumber	attnum = ms->written[i];

			bind_value(ms, param++, attnum, &ms->wconvs[i],
					   slot->tts_values[attnum - 1],
					   slot->tts_isnull[attnum - 1], ms->wtext[i]);
		}
	}
	if (ms->op != CMD_INSERT)
	{
		bool		isnull;

		if (ms->nkeys == 0)
		{
			Datum		d = ExecGetJunkAttribute(planSlot, ms->ctid_junk, &isnull);
			int64		rowid;

			if (isnull || !tid_to_rowid((ItemPointer) DatumGetPointer(d), &rowid))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("cannot update or delete this row of foreign table \"%s\": its rowid is beyond the range a foreign table can address",
								RelationGetRelationName(ms->rel)),
						 errdetail("Rowids from -2^47 to 2^47 can be addressed through the ctid."),
						 errhint("Add the SQLite table's INTEGER PRIMARY KEY column to the foreign table, or mark key columns with OPTIONS (key 'true').")));
			rc = sqlite3_bind_int64(stmt, param++, rowid);
			if (rc != SQLITE_OK)
				sqlite_report(ms->conn, rc, ms->sql);
		}
		else
		{
			for (i = 0; i < ms->nkeys; i++)
			{
				Datum		d = ExecGetJunkAttribute(planSlot, ms->key_junk[i], &isnull);

				bind_value(ms, param++, ms->keys[i], &ms->kconvs[i], d, isnull,
						   ms->ktext[i]);
			}
		}
	}

	if (ms->fill_slot)
	{
		values = palloc0(sizeof(Datum) * slot->tts_tupleDescriptor->natts);
		nulls = palloc(sizeof(bool) * slot->tts_tupleDescriptor->natts);
		memset(nulls, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	}

	sqlite_busy_reset(ms->conn);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
	{
		CHECK_FOR_INTERRUPTS();
		if (rows++ == 0)
			check_returned(ms, slot, values, nulls);
	}
	if (rc != SQLITE_DONE)
		sqlite_report_write(ms->conn, rc, ms->sql, ms->table);
	changes = sqlite3_changes64(sqlite_conn_handle(ms->conn));
	sqlite_reset(ms->stmt);

	error_context_stack = errcallback.previous;
	MemoryContextSwitchTo(oldcxt);

	if (ms->op == CMD_INSERT && changes == 0)
		return NULL;			/* ON CONFLICT DO NOTHING skipped it */

	/*
	 * A row found by its rowid and gone: this statement already deleted it
	 * (a join that finds it twice, a cascade), and PostgreSQL skips it.  A
	 * key that reads back differently from what SQLite stored could also
	 * find nothing, so keys of other columns stay an error.
	 */
	if (ms->op != CMD_INSERT && changes == 0 && ms->rowid_keyed)
		return NULL;
	if (ms->op != CMD_INSERT && changes != 1)
		ereport(ERROR,
				(errcode(changes == 0 ? ERRCODE_T_R_SERIALIZATION_FAILURE :
						 ERRCODE_CARDINALITY_VIOLATION),
				 changes == 0 ?
				 errmsg("row of foreign table \"%s\" was not found again in SQLite table \"%s\"",
						RelationGetRelationName(ms->rel), ms->table) :
				 errmsg("key of foreign table \"%s\" matched " INT64_FORMAT " rows of SQLite table \"%s\"",
						RelationGetRelationName(ms->rel), (int64) changes, ms->table),
				 changes == 0 ?
				 errdetail("A trigger or an earlier change in this statement removed it, or its key does not read back as stored.") :
				 errdetail("The columns marked key 'true' do not identify one row."),
				 changes == 0 ?
				 errhint("Nothing was changed. Check that the key columns read back as SQLite stores them, or identify rows by the rowid (the INTEGER PRIMARY KEY column).") :
				 errhint("Nothing was changed. Mark columns that identify one row with OPTIONS (key 'true').")));

	if (ms->fill_slot)
	{
		TupleDesc	desc = slot->tts_tupleDescriptor;

		oldcxt = MemoryContextSwitchTo(ms->rowcxt);
		if (ms->op != CMD_DELETE)
		{
			/* columns SQLite did not return keep their values */
			for (i = 0; i < desc->natts; i++)
			{
				/* copied: clearing the slot frees its own tuple */
				if (!ms->is_returned[i])
				{
					Form_pg_attribute att = TupleDescAttr(desc, i);

					nulls[i] = slot->tts_isnull[i];
					values[i] = (Datum) 0;
					if (!nulls[i])
						values[i] = datumCopy(slot->tts_values[i], att->attbyval,
											  att->attlen);
				}
			}
		}
		MemoryContextSwitchTo(oldcxt);
		ExecClearTuple(slot);
		memcpy(slot->tts_values, values, sizeof(Datum) * desc->natts);
		memcpy(slot->tts_isnull, nulls, sizeof(bool) * desc->natts);
		ExecStoreVirtualTuple(slot);
	}
	return slot;
}

/*
 * Check the row SQLite returned: every written value must read back equal
 * to what was written.  Fills values/nulls (if not NULL) with the row.
 */
static void
check_returned(SqliteModifyState *ms, TupleTableSlot *slot, Datum *values,
			   bool *nulls)
{
	sqlite3_stmt *stmt = ms->stmt->stmt;
	int			i;

	for (i = 0; i < ms->nreturned; i++)
	{
		ReturnedColumn *rc = &ms->returned[i];
		AttrNumber	attnum = rc->attnum;
		bool		wnull = true;
		Datum		wvalue = (Datum) 0;
		bool		isnull;
		Datum		got;

		if (rc->written && ms->op != CMD_DELETE)
		{
			wnull = slot->tts_isnull[attnum - 1];
			wvalue = slot->tts_values[attnum - 1];
		}

		/* a written NULL may become a default or a new rowid: not a loss */
		if (!rc->written || wnull)
		{
			if (values)
			{
				if (!sqlite_value_fits(&rc->conv, stmt, i))
					refuse_value(ms, attnum, false, (Datum) 0,
								 psprintf("SQLite stored %s, which the column cannot read.",
										  sqlite_describe_value(stmt, i)),
								 "A SQLite default or trigger set this value. Give the foreign table's column a type that holds it, such as text or sqlite_value.");
				values[attnum - 1] = sqlite_conv_value(&rc->conv, stmt, i, &nulls[attnum - 1]);
			}
			continue;
		}

		if (!sqlite_value_fits(&rc->conv, stmt, i))
			refuse_value(ms, attnum, true, wvalue,
						 psprintf("SQLite stored it as %s, which does not read back as a value of the column's type.",
								  sqlite_describe_value(stmt, i)),
						 "SQLite converts a value to the affinity of its column's declared type. Write a value SQLite keeps exactly, or declare the SQLite column TEXT or BLOB.");
		got = sqlite_conv_value(&rc->conv, stmt, i, &isnull);
		if (isnull ||
			!(rc->has_eq ?
			  DatumGetBool(FunctionCall2Coll(&rc->eq, C_COLLATION_OID, got, wvalue)) :
			  strcmp(value_text(ms->rel, attnum, got),
					 value_text(ms->rel, attnum, wvalue)) == 0) ||
			!same_float_sign(&rc->conv, got, wvalue))
			refuse_value(ms, attnum, true, wvalue,
						 psprintf("SQLite stored it as %s, which reads back as \"%s\".",
								  sqlite_describe_value(stmt, i),
								  isnull ? "NULL" : value_text(ms->rel, attnum, got)),
						 "SQLite converts a value to the affinity of its column's declared type (an INTEGER, REAL or NUMERIC column turns numeric text into a number and keeps 15 significant digits of a real). Write a value SQLite keeps exactly, or declare the SQLite column TEXT or BLOB.");
		if (values)
		{
			values[attnum - 1] = got;
			nulls[attnum - 1] = false;
		}
	}
}

/*
 * Float equality says -0 = 0; a written -0 must not come back as 0 (an
 * INTEGER-affinity column stores -0.0 as the integer 0).
 */
static bool
same_float_sign(SqliteColumnConv *conv, Datum a, Datum b)
{
	if (conv->kind == CONV_FLOAT8)
		return signbit(DatumGetFloat8(a)) == signbit(DatumGetFloat8(b));
	if (conv->kind == CONV_FLOAT4)
		return signbit(DatumGetFloat4(a)) == signbit(DatumGetFloat4(b));
	return true;
}

/* The text form of a value of column "attnum", for messages. */
static char *
value_text(Relation rel, AttrNumber attnum, Datum value)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Oid			out;
	bool		varlena;

	getTypeOutputInfo(att->atttypid, &out, &varlena);
	return OidOutputFunctionCall(out, value);
}

/* Stop the write of a value SQLite would not keep exactly. */
static void
refuse_value(SqliteModifyState *ms, AttrNumber attnum, bool has_value,
			 Datum value, const char *detail, const char *hint)
{
	const char *col = NameStr(TupleDescAttr(RelationGetDescr(ms->rel), attnum - 1)->attname);

	if (!has_value)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of foreign table \"%s\" cannot read the value SQLite stored",
						col, RelationGetRelationName(ms->rel)),
				 errdetail_internal("%s", detail),
				 hint ? errhint("%s", hint) : 0));
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("SQLite would not store value \"%s\" of column \"%s\" exactly",
					sqlite_printable(value_text(ms->rel, attnum, value),
									 strlen(value_text(ms->rel, attnum, value)), 60),
					col),
			 errdetail_internal("%s", detail),
			 hint ? errhint("%s", hint) : 0));
}

/* Bind server-encoded text as UTF-8. */
static void
bind_text(SqliteModifyState *ms, int idx, const char *s, int len)
{
	char	   *u = pg_server_to_any(s, len, PG_UTF8);
	int			ulen = (u == s) ? len : (int) strlen(u);
	int			rc = sqlite3_bind_text(ms->stmt->stmt, idx, u, ulen, SQLITE_TRANSIENT);

	if (rc != SQLITE_OK)
		sqlite_report_write(ms->conn, rc, ms->sql, ms->table);
}

/*
 * Bind "value" of column "attnum" as parameter "idx": integers as INTEGER,
 * floats as REAL, bytea as BLOB, date/time as SQLite's text format (or as
 * numbers of the column's datetime_unit), sqlite_value as the storage class
 * it names, anything else as its text.
 */
static void
bind_value(SqliteModifyState *ms, int idx, AttrNumber attnum,
		   SqliteColumnConv *conv, Datum value, bool isnull,
		   bool text_affinity)
{
	sqlite3_stmt *stmt = ms->stmt->stmt;
	int			rc = SQLITE_OK;

	if (isnull)
		rc = sqlite3_bind_null(stmt, idx);
	else
	{
		switch (conv->kind)
		{
			case CONV_INT2:
				rc = sqlite3_bind_int64(stmt, idx, DatumGetInt16(value));
				break;
			case CONV_INT4:
				rc = sqlite3_bind_int64(stmt, idx, DatumGetInt32(value));
				break;
			case CONV_INT8:
				rc = sqlite3_bind_int64(stmt, idx, DatumGetInt64(value));
				break;
			case CONV_BOOL:
				rc = sqlite3_bind_int64(stmt, idx, DatumGetBool(value) ? 1 : 0);
				break;
			case CONV_FLOAT4:
			case CONV_FLOAT8:
				{
					double		d = conv->kind == CONV_FLOAT4 ?
						(double) DatumGetFloat4(value) : DatumGetFloat8(value);

					/*
					 * A real is written as the double nearest to its shortest
					 * decimal (0.1, not 0.100000001490116), which is what it
					 * means and what reads back as the same real.
					 */
					if (conv->kind == CONV_FLOAT4 && !isnan(d) && !isinf(d))
					{
						char		buf[FLOAT_SHORTEST_DECIMAL_LEN + 1];

						(void) float_to_shortest_decimal_buf(DatumGetFloat4(value), buf);
						d = strtod(buf, NULL);
					}
					if (text_affinity && !isnan(d))
					{
						char		buf[DOUBLE_SHORTEST_DECIMAL_LEN + 16];

						rc = sqlite3_bind_text(stmt, idx, sqlite_real_to_text(d, buf),
											   -1, SQLITE_TRANSIENT);
						break;
					}

					if (isnan(d))
						refuse_value(ms, attnum, true, value,
									 "SQLite has no NaN: it would store NULL.",
									 "Write NULL, or keep NaN in PostgreSQL.");
					rc = sqlite3_bind_double(stmt, idx, d);
					break;
				}
			case CONV_NUMERIC:
				{
					char	   *s = DatumGetCString(DirectFunctionCall1(numeric_out, value));
					char	   *end;
					long long	v;

					/* an integer within int64 is an INTEGER, exact anywhere */
					errno = 0;
					v = strtoll(s, &end, 10);
					if (*s != '\0' && *end == '\0' && errno == 0)
						rc = sqlite3_bind_int64(stmt, idx, (sqlite3_int64) v);
					else
						rc = sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT);
					break;
				}
			case CONV_TEXT:
				{
					text	   *t = DatumGetTextPP(value);

					bind_text(ms, idx, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
					return;
				}
			case CONV_BYTEA:
				{
					bytea	   *b = DatumGetByteaPP(value);

					rc = sqlite3_bind_blob(stmt, idx, VARDATA_ANY(b),
										   VARSIZE_ANY_EXHDR(b), SQLITE_TRANSIENT);
					break;
				}
			case CONV_DATE:
			case CONV_TIME:
			case CONV_TIMESTAMP:
			case CONV_TIMESTAMPTZ:
				if (conv->dtunit != SQLITE_DT_NONE)
				{
					int64		iv;
					double		dv;

					/* a number means an instant: no time of day alone */
					if (conv->kind == CONV_TIME)
						refuse_value(ms, attnum, true, value,
									 "A time of day has no number of the column's datetime_unit.",
									 "Remove the option \"datetime_unit\" to write SQLite's time text.");
					if ((conv->kind == CONV_DATE &&
						 (DATE_NOT_FINITE(DatumGetDateADT(value)) ||
						  DatumGetDateADT(value) < (DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE) ||
						  DatumGetDateADT(value) >= (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE))) ||
						(conv->kind != CONV_DATE &&
						 TIMESTAMP_NOT_FINITE(DatumGetTimestamp(value))))
						refuse_value(ms, attnum, true, value,
									 "An infinite or out-of-range date has no number of the column's datetime_unit.",
									 "Write a finite date within PostgreSQL's timestamp range.");

					if (datetime_number(conv, value, &iv, &dv))
						rc = sqlite3_bind_int64(stmt, idx, iv);
					else
						rc = sqlite3_bind_double(stmt, idx, dv);
				}
				else
				{
					bool		ok;
					char	   *s = datetime_text(conv, value, &ok);

					if (!ok)
						refuse_value(ms, attnum, true, value,
									 "SQLite's date and time text holds years 0 to 9999 only.",
									 "Write a date within those years, or give the column the option datetime_unit to write numbers.");
					rc = sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT);
				}
				break;
			case CONV_UUID:
				rc = sqlite3_bind_text(stmt, idx,
									   DatumGetCString(DirectFunctionCall1(uuid_out, value)),
									   -1, SQLITE_TRANSIENT);
				break;
			case CONV_RAW:
				{
					HeapTupleHeader td = DatumGetHeapTupleHeader(value);
					HeapTupleData tup;
					Datum		f[4];
					bool		n[4];
					char	   *cls;

					tup.t_len = HeapTupleHeaderGetDatumLength(td);
					ItemPointerSetInvalid(&tup.t_self);
					tup.t_tableOid = InvalidOid;
					tup.t_data = td;
					heap_deform_tuple(&tup, conv->rawdesc, f, n);
					cls = n[0] ? "" : TextDatumGetCString(f[0]);
					if (strcmp(cls, "null") == 0)
						rc = sqlite3_bind_null(stmt, idx);
					else if (strcmp(cls, "integer") == 0 && !n[1])
						rc = sqlite3_bind_int64(stmt, idx, DatumGetInt64(f[1]));
					else if (strcmp(cls, "real") == 0 && !n[2] &&
							 !isnan(DatumGetFloat8(f[2])))
						rc = sqlite3_bind_double(stmt, idx, DatumGetFloat8(f[2]));
					else if ((strcmp(cls, "text") == 0 || strcmp(cls, "blob") == 0) && !n[3])
					{
						bytea	   *b = DatumGetByteaPP(f[3]);

						/* text keeps its bytes, valid UTF-8 or not */
						if (cls[0] == 't')
							rc = sqlite3_bind_text(stmt, idx, VARDATA_ANY(b),
												   VARSIZE_ANY_EXHDR(b), SQLITE_TRANSIENT);
						else
							rc = sqlite3_bind_blob(stmt, idx, VARDATA_ANY(b),
												   VARSIZE_ANY_EXHDR(b), SQLITE_TRANSIENT);
					}
					else
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("invalid sqlite_value for column \"%s\"",
										NameStr(TupleDescAttr(RelationGetDescr(ms->rel), attnum - 1)->attname)),
								 errdetail("Give storage_class 'null', 'integer' with int_value, 'real' with a real_value that is not NaN, or 'text' or 'blob' with bytes.")));
					break;
				}
			case CONV_INPUT:
				{
					char	   *s = value_text(ms->rel, attnum, value);

					bind_text(ms, idx, s, strlen(s));
					return;
				}
		}
	}
	if (rc != SQLITE_OK)
		sqlite_report_write(ms->conn, rc, ms->sql, ms->table);
}

/*
 * Does a column declared "decltype" have TEXT affinity (SQLite's rules: no
 * "INT", and "CHAR", "CLOB" or "TEXT")?
 */
static bool
sqlite_text_affinity(const char *decltype)
{
	char	   *up;
	char	   *p;

	if (decltype == NULL)
		return false;
	up = pstrdup(decltype);
	for (p = up; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	return strstr(up, "INT") == NULL &&
		(strstr(up, "CHAR") != NULL || strstr(up, "CLOB") != NULL ||
		 strstr(up, "TEXT") != NULL);
}

/*
 * A date/time value as SQLite's text: "YYYY-MM-DD", "HH:MM:SS" or
 * "YYYY-MM-DD HH:MM:SS", with the fraction of a second only when there is
 * one; timestamptz in UTC, as SQLite's own date functions write it.  *ok is
 * false for values SQLite's format cannot hold (infinity, years outside
 * 0 to 9999).
 */
static char *
datetime_text(SqliteColumnConv *conv, Datum value, bool *ok)
{
	struct pg_tm tm;
	fsec_t		fsec = 0;
	char		frac[16] = "";

	*ok = true;
	memset(&tm, 0, sizeof(tm));
	switch (conv->kind)
	{
		case CONV_DATE:
			{
				DateADT		d = DatumGetDateADT(value);

				if (DATE_NOT_FINITE(d))
				{
					*ok = false;
					return NULL;
				}
				j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
				break;
			}
		case CONV_TIME:
			{
				TimeADT		t = DatumGetTimeADT(value);

				tm.tm_hour = t / USECS_PER_HOUR;
				t -= (int64) tm.tm_hour * USECS_PER_HOUR;
				tm.tm_min = t / USECS_PER_MINUTE;
				t -= (int64) tm.tm_min * USECS_PER_MINUTE;
				tm.tm_sec = t / USECS_PER_SEC;
				fsec = t - (int64) tm.tm_sec * USECS_PER_SEC;
				break;
			}
		default:
			{
				Timestamp	ts = DatumGetTimestamp(value);

				/* timestamptz is an instant: UTC, without a zone */
				if (TIMESTAMP_NOT_FINITE(ts) ||
					timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
				{
					*ok = false;
					return NULL;
				}
				break;
			}
	}
	if (conv->kind != CONV_TIME && (tm.tm_year < 0 || tm.tm_year > 9999))
	{
		*ok = false;
		return NULL;
	}
	if (fsec != 0)
	{
		int			n;

		snprintf(frac, sizeof(frac), ".%06d", (int) fsec);
		n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	switch (conv->kind)
	{
		case CONV_DATE:
			return psprintf("%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
		case CONV_TIME:
			return psprintf("%02d:%02d:%02d%s", tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
		default:
			return psprintf("%04d-%02d-%02d %02d:%02d:%02d%s",
							tm.tm_year, tm.tm_mon, tm.tm_mday,
							tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	}
}

/*
 * A date/time value as a number of the column's datetime_unit.  Returns
 * true with *i set when the number is an integer, else false with *d set.
 * (Infinite values give a number the read-back check refuses.)
 */
static bool
datetime_number(SqliteColumnConv *conv, Datum value, int64 *i, double *d)
{
	int64		usec;			/* microseconds since 1970-01-01 UTC */
	const int64 epoch_shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	switch (conv->kind)
	{
		case CONV_DATE:
			usec = (int64) DatumGetDateADT(value) * USECS_PER_DAY + epoch_shift;
			break;
		case CONV_TIME:
			usec = DatumGetTimeADT(value);
			break;
		default:
			usec = DatumGetTimestamp(value) + epoch_shift;
			break;
	}
	switch (conv->dtunit)
	{
		case SQLITE_DT_UNIXEPOCH:
			if (usec % USECS_PER_SEC == 0)
			{
				*i = usec / USECS_PER_SEC;
				return true;
			}
			*d = (double) usec / USECS_PER_SEC;
			return false;
		case SQLITE_DT_UNIXEPOCH_MS:
			if (usec % 1000 == 0)
			{
				*i = usec / 1000;
				return true;
			}
			*d = (double) usec / 1000.0;
			return false;
		default:
			/* Julian day 2440587.5 is 1970-01-01 00:00 UTC; SQLite keeps ms */
			*d = (2440587.5 * 86400000.0 + (double) usec / 1000.0) / 86400000.0;
			return false;
	}
}

/*
 * TRUNCATE of foreign tables of one server: DELETE every row.  RESTRICT
 * refuses when another SQLite table references one of them; CASCADE also
 * empties those (children first).  RESTART IDENTITY resets their
 * AUTOINCREMENT counters in sqlite_sequence.
 */
void
sqliteExecForeignTruncate(List *rels, DropBehavior behavior, bool restart_seqs)
{
	SqliteConn *conn = NULL;
	List	   *tables = NIL;	/* SQLite names (UTF-8) to empty */
	List	   *parents = NIL;	/* per foreign key: referenced table */
	List	   *children = NIL; /* and referencing table */
	ListCell   *lc;
	SqliteStmt *st;
	bool		changed;

	foreach(lc, rels)
	{
		Relation	rel = (Relation) lfirst(lc);
		Oid			relid = RelationGetRelid(rel);
		char	   *name = sqlite_table_name(relid);

		if (!sqlite_table_updatable(relid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("foreign table \"%s\" does not allow truncation",
							RelationGetRelationName(rel)),
					 errhint("A role with privileges of pg_write_server_files may set the option \"updatable\".")));
		sqlite_check_server_writable(GetForeignTable(relid)->serverid);
		if (conn == NULL)
			conn = sqlite_get_write_connection(GetForeignServer(GetForeignTable(relid)->serverid));
		tables = lappend(tables, pg_server_to_any(name, strlen(name), PG_UTF8));
	}
	if (conn == NULL)
		return;

	/* every foreign key of the file */
	st = sqlite_prepare(conn,
						"SELECT f.\"table\", t.name FROM sqlite_schema AS t, "
						"pragma_foreign_key_list(t.name) AS f "
						"WHERE t.type = 'table' GROUP BY 1, 2");
	while (sqlite_step(st) == SQLITE_ROW)
	{
		CHECK_FOR_INTERRUPTS();
		parents = lappend(parents, pstrdup((const char *) sqlite3_column_text(st->stmt, 0)));
		children = lappend(children, pstrdup((const char *) sqlite3_column_text(st->stmt, 1)));
	}
	sqlite_finalize(st);

	/* RESTRICT refuses, CASCADE adds, the tables that reference them */
	do
	{
		ListCell   *pc;
		ListCell   *cc;

		changed = false;
		forboth(pc, parents, cc, children)
		{
			char	   *parent = lfirst(pc);
			char	   *child = lfirst(cc);
			bool		parent_in = false;
			bool		child_in = false;
			ListCell   *tc;

			CHECK_FOR_INTERRUPTS();
			foreach(tc, tables)
			{
				if (sqlite3_stricmp(lfirst(tc), parent) == 0)
					parent_in = true;
				if (sqlite3_stricmp(lfirst(tc), child) == 0)
					child_in = true;
			}
			if (!parent_in || child_in)
				continue;
			if (behavior != DROP_CASCADE)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot truncate a table referenced in a foreign key constraint"),
						 errdetail("SQLite table \"%s\" references \"%s\".",
								   mig_server_text(child), mig_server_text(parent)),
						 errhint("Truncate table \"%s\" at the same time, or use TRUNCATE ... CASCADE.",
								 mig_server_text(child))));
			ereport(NOTICE,
					(errmsg("truncate cascades to SQLite table \"%s\"",
							mig_server_text(child))));
			tables = lappend(tables, child);
			changed = true;
		}
	} while (changed);

	/*
	 * Children first, so no delete leaves an orphan on the way; tables that
	 * reference each other in a cycle are checked at the end instead.
	 */
	if (list_length(tables) > 1)
		sqlite_defer_foreign_keys(conn);
	while (tables != NIL)
	{
		char	   *pick = NULL;
		StringInfoData sql;

		foreach(lc, tables)
		{
			char	   *t = lfirst(lc);
			bool		referenced = false;
			ListCell   *pc;
			ListCell   *cc;

			forboth(pc, parents, cc, children)
			{
				ListCell   *tc;

				if (sqlite3_stricmp(lfirst(pc), t) != 0 ||
					sqlite3_stricmp(lfirst(cc), t) == 0)
					continue;
				foreach(tc, tables)
				{
					if (sqlite3_stricmp(lfirst(tc), lfirst(cc)) == 0)
						referenced = true;
				}
			}
			if (!referenced)
			{
				pick = t;
				break;
			}
		}
		if (pick == NULL)
			pick = linitial(tables);	/* a cycle: checked at COMMIT */
		tables = list_delete_ptr(tables, pick);

		CHECK_FOR_INTERRUPTS();
		initStringInfo(&sql);
		appendStringInfoString(&sql, "DELETE FROM ");
		sqlite_append_ident_utf8(&sql, pick);
		sqlite_busy_reset(conn);
		st = sqlite_prepare(conn, sql.data);
		{
			int			rc = sqlite3_step(st->stmt);

			if (rc != SQLITE_DONE)
				sqlite_report_write(conn, rc, sql.data, mig_server_text(pick));
		}
		sqlite_finalize(st);

		if (restart_seqs)
		{
			bool		exists;

			(void) sqlite_rowid_alias(conn, "sqlite_sequence", &exists);
			if (exists)
			{
				int			rc;

				st = sqlite_prepare(conn, "DELETE FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE");
				sqlite3_bind_text(st->stmt, 1, pick, -1, SQLITE_TRANSIENT);
				rc = sqlite3_step(st->stmt);
				if (rc != SQLITE_DONE)
					sqlite_report_write(conn, rc, st->sql, "sqlite_sequence");
				sqlite_finalize(st);
			}
		}
	}
}

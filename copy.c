/*-------------------------------------------------------------------------
 *
 * copy.c
 *		  The data step of a migration: a bulk load of a new table fed by
 *		  the foreign scan of its staging table.
 *
 * The rows come from "SELECT cols FROM pg_temp.<staging>", run through SPI
 * with a DestReceiver of ours instead of SPI's tuple table, so every value
 * is read and checked by the foreign scan exactly as a query would see it.
 * What differs from INSERT ... SELECT is the writing side, which does what
 * COPY FROM does for a table created in the same transaction: rows are
 * buffered and written with table_multi_insert() (many per page lock and
 * per WAL record) through a bulk-insert state (a buffer ring, no free
 * space map), and, when PostgreSQL's COPY FREEZE conditions hold, written
 * frozen with the pages marked all-visible, so the new tables need no
 * hint-bit or freeze writes after the cut-over.  Under wal_level=minimal
 * the table's WAL is skipped altogether (PostgreSQL does that for any
 * relation created in the transaction).
 *
 * Stored generated columns are computed and NOT NULL constraints checked
 * as the executor would for an INSERT.  The tables have no indexes,
 * triggers or rules yet: keys and indexes are built after the load.
 *
 * Copyright: part of sqlite_fdw_mig.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "executor/nodeModifyTable.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "sqlite_fdw_mig.h"

/* as COPY FROM: flush after this many rows or this many bytes of tuples */
#define BULK_MAX_ROWS	1000
#define BULK_MAX_BYTES	65535

typedef struct BulkDest
{
	DestReceiver pub;			/* must be first */
	Relation	rel;			/* the new table */
	ResultRelInfo *rri;
	EState	   *estate;
	BulkInsertState bistate;
	CommandId	cid;
	int			ti_options;
	bool		has_generated;	/* stored generated columns to compute */
	bool		has_constraints;	/* NOT NULL or CHECK to test */
	int			nsrc;			/* columns of the SELECT */
	AttrNumber *map;			/* SELECT column i -> attnum in rel */
	TupleTableSlot *slots[BULK_MAX_ROWS];
	int			nslots;			/* slots created so far */
	int			nbuffered;		/* rows waiting in slots[] */
	Size		bytes;			/* their size */
	MemoryContext batchcxt;		/* what table_multi_insert leaks */
	MemoryContext slotcxt;		/* the call's: the slots and their tuples */
	int64		rows;			/* rows written */
} BulkDest;

static void
bulk_flush(BulkDest *d)
{
	MemoryContext oldcxt;
	int			i;

	if (d->nbuffered == 0)
		return;
	oldcxt = MemoryContextSwitchTo(d->batchcxt);
	table_multi_insert(d->rel, d->slots, d->nbuffered, d->cid,
					   d->ti_options, d->bistate);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(d->batchcxt);
	for (i = 0; i < d->nbuffered; i++)
		ExecClearTuple(d->slots[i]);
	d->rows += d->nbuffered;
	d->nbuffered = 0;
	d->bytes = 0;
	/* pg_stat_progress_copy counts the rows read: the scan reports them */
}

static void
bulk_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	BulkDest   *d = (BulkDest *) self;
	TupleDesc	tupdesc = RelationGetDescr(d->rel);
	int			i;

	/* the staging table has the new table's types: nothing to coerce */
	if (typeinfo->natts != d->nsrc)
		elog(ERROR, "bulk load of \"%s\": %d columns read, %d expected",
			 RelationGetRelationName(d->rel), typeinfo->natts, d->nsrc);
	for (i = 0; i < d->nsrc; i++)
	{
		Form_pg_attribute src = TupleDescAttr(typeinfo, i);
		Form_pg_attribute dst = TupleDescAttr(tupdesc, d->map[i] - 1);

		if (src->atttypid != dst->atttypid || src->atttypmod != dst->atttypmod)
			elog(ERROR, "bulk load of \"%s\": column \"%s\" is read as %s, but the table's is %s",
				 RelationGetRelationName(d->rel), NameStr(dst->attname),
				 format_type_with_typemod(src->atttypid, src->atttypmod),
				 format_type_with_typemod(dst->atttypid, dst->atttypmod));
	}
}

static bool
bulk_receive(TupleTableSlot *slot, DestReceiver *self)
{
	BulkDest   *d = (BulkDest *) self;
	TupleTableSlot *buf;
	int			natts = RelationGetDescr(d->rel)->natts;
	int			i;

	if (d->nbuffered == d->nslots)
	{
		/* not in the executor's memory: the slots outlive ExecutorEnd */
		MemoryContext oldcxt = MemoryContextSwitchTo(d->slotcxt);

		d->slots[d->nslots++] = table_slot_create(d->rel, NULL);
		MemoryContextSwitchTo(oldcxt);
	}
	buf = d->slots[d->nbuffered];

	slot_getallattrs(slot);
	ExecClearTuple(buf);
	memset(buf->tts_isnull, true, natts * sizeof(bool));
	for (i = 0; i < d->nsrc; i++)
	{
		buf->tts_values[d->map[i] - 1] = slot->tts_values[i];
		buf->tts_isnull[d->map[i] - 1] = slot->tts_isnull[i];
	}
	ExecStoreVirtualTuple(buf);

	if (d->has_generated)
	{
		/* computed in per-tuple memory, then materialized into the slot */
		ExecComputeStoredGenerated(d->rri, d->estate, buf, CMD_INSERT);
	}
	/* the scan's row memory is reset next (a no-op if already done) */
	ExecMaterializeSlot(buf);
	if (d->has_generated)
		ResetPerTupleExprContext(d->estate);
	if (d->has_constraints)
	{
		ExecConstraints(d->rri, buf, d->estate);
		ResetPerTupleExprContext(d->estate);
	}

	d->bytes += ExecFetchSlotHeapTuple(buf, false, NULL)->t_len;
	if (++d->nbuffered == BULK_MAX_ROWS || d->bytes >= BULK_MAX_BYTES)
		bulk_flush(d);
	return true;
}

static void
bulk_shutdown(DestReceiver *self)
{
	bulk_flush((BulkDest *) self);
}

static void
bulk_destroy(DestReceiver *self)
{
}

/*
 * Load "t" (already created, empty) from its staging table.  Returns the
 * number of rows written; *frozen says whether they were written frozen.
 */
int64
mig_bulk_copy(Migration *m, MigTable *t, Oid relid, bool *frozen)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext callcxt;
	BulkDest   *d;
	TupleDesc	tupdesc;
	StringInfoData cols;
	SPIExecuteOptions options;
	int64		rows;
	int			rc;
	int			i;

	/* everything of this call, freed at its end (a file may have many tables) */
	callcxt = AllocSetContextCreate(CurrentMemoryContext, "sqlite_fdw_mig bulk load",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(callcxt);
	d = palloc0(sizeof(BulkDest));

	d->pub.receiveSlot = bulk_receive;
	d->pub.rStartup = bulk_startup;
	d->pub.rShutdown = bulk_shutdown;
	d->pub.rDestroy = bulk_destroy;
	d->pub.mydest = DestNone;

	/* CREATE TABLE took AccessExclusiveLock; nobody else sees the table */
	d->rel = table_open(relid, RowExclusiveLock);
	tupdesc = RelationGetDescr(d->rel);
	if (d->rel->rd_rel->relkind != RELKIND_RELATION || d->rel->rd_rel->relhasindex ||
		d->rel->trigdesc != NULL || d->rel->rd_rules != NULL)
		elog(ERROR, "bulk load of \"%s\": not a plain new table",
			 RelationGetRelationName(d->rel));

	/* the columns read: every column but the generated ones */
	d->map = palloc(sizeof(AttrNumber) * t->ncols);
	initStringInfo(&cols);
	for (i = 0; i < t->ncols; i++)
	{
		AttrNumber	attnum;

		if (t->cols[i].gen_ok)
			continue;
		attnum = get_attnum(relid, t->cols[i].pg_name);
		if (attnum == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" of \"%s\" not found", t->cols[i].pg_name,
				 RelationGetRelationName(d->rel));
		d->map[d->nsrc++] = attnum;
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
						 quote_identifier(t->cols[i].pg_name));
	}
	d->has_generated = tupdesc->constr && tupdesc->constr->has_generated_stored;
	d->has_constraints = tupdesc->constr &&
		(tupdesc->constr->has_not_null || tupdesc->constr->num_check > 0);

	d->estate = CreateExecutorState();
	d->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(d->rri, d->rel, 0, NULL, 0);
	d->slotcxt = callcxt;
	d->batchcxt = AllocSetContextCreate(callcxt,
										"sqlite_fdw_mig bulk load batch",
										ALLOCSET_DEFAULT_SIZES);

	/*
	 * A new relation: no free space to look for.  Frozen rows on the
	 * conditions COPY FREEZE sets: the table was created in this
	 * subtransaction, and no earlier snapshot or open cursor of this
	 * transaction could see them (one registered snapshot is the calling
	 * statement's own).
	 */
	d->ti_options = TABLE_INSERT_SKIP_FSM;
	InvalidateCatalogSnapshot();
	*frozen = d->rel->rd_createSubid == GetCurrentSubTransactionId() &&
		ThereAreNoPriorRegisteredSnapshots() && ThereAreNoReadyPortals();
	if (*frozen)
		d->ti_options |= TABLE_INSERT_FROZEN;
	d->bistate = GetBulkInsertState();
	d->cid = GetCurrentCommandId(true);

	memset(&options, 0, sizeof(options));
	options.read_only = false;
	options.dest = (DestReceiver *) d;
	rc = SPI_execute_extended(psprintf("SELECT %s FROM pg_temp.%s", cols.data,
									   quote_identifier(t->staging)),
							  &options);
	/* SPI leaves its own context current */
	MemoryContextSwitchTo(callcxt);
	/* SPI calls a SELECT whose rows go to a DestNone receiver a utility */
	if (rc != SPI_OK_UTILITY && rc != SPI_OK_SELECT)
		elog(ERROR, "bulk load of \"%s\" failed (%d)",
			 RelationGetRelationName(d->rel), rc);

	if (d->bistate)
		FreeBulkInsertState(d->bistate);
	table_finish_bulk_insert(d->rel, d->ti_options);
	for (i = 0; i < d->nslots; i++)
		ExecDropSingleTupleTableSlot(d->slots[i]);
	FreeExecutorState(d->estate);
	table_close(d->rel, NoLock);
	rows = d->rows;
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(callcxt);
	return rows;
}

/*
 * The history rows if_exists => 'replace' trusts: those of migrations run by
 * the same role, or by a role that may read server files.  Any role may
 * migrate an uploaded large object, so a row written by an unprivileged role
 * must not let a later migration by another role drop a table of that name.
 */
#define HISTORY_TRUSTED \
	"(h.migrated_by = session_user OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS r " \
	"WHERE r.rolname = h.migrated_by AND " \
	"pg_catalog.pg_has_role(r.oid, 'pg_read_server_files', 'USAGE')))"

/*-------------------------------------------------------------------------
 *
 * plan.c
 *		  The statements of a migration, built from the analysis (analyse.c):
 *		  what a rerun replaces, the staging foreign tables, the target
 *		  tables with their defaults, identity and generated columns, the
 *		  copies, keys, indexes, checks, foreign keys, sequences, views and
 *		  the clean-up, in the order migrate.c runs them and
 *		  migrate_sqlite_plan shows them.  Also the checks that stop a
 *		  migration before it writes: existing tables and the lock table.
 *
 * Every identifier is quoted (quote_identifier, or "%w" on the SQLite
 * side) and every expression taken from the file comes through
 * translate.c's allow-list.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parser.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "sqlite_fdw_mig.h"

static char *column_list(MigTable *t, List *cols, List *desc);
static bool default_fits(const char *expr, Oid typid, int32 typmod);
static const char *datetime_unit_name(Migration *m);
static char *sqlite_value_type(void);
static void translate_column_exprs(Migration *m, MigTable *t);
static char *nocase_key(const char *column);
static List *column_map(MigTable *t);
static void plan_staging(Migration *m, MigTable *t);
static void plan_generated(Migration *m, MigTable *t);
static void plan_table(Migration *m, MigTable *t);
static void plan_copy(Migration *m, MigTable *t);
static void plan_keys(Migration *m, MigTable *t);
static void plan_checks(Migration *m, MigTable *t);
static void plan_fkeys(Migration *m, MigTable *t);
static void plan_sequences(Migration *m, MigTable *t);
static void plan_views(Migration *m);
static void plan_cleanup(Migration *m);
static void check_existing(Migration *m, List **drop, List **drop_views);

void
mig_add_step(Migration *m, StepKind kind, const char *phase, MigTable *t, char *sql)
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

/* The arguments and result of default_body. */
typedef struct DefaultCheck
{
	const char *expr;
	Oid			typid;
	int32		typmod;
	bool		ok;
} DefaultCheck;

static void
default_body(void *arg)
{
	DefaultCheck *dc = (DefaultCheck *) arg;
	List	   *raw = raw_parser(psprintf("SELECT %s", dc->expr), RAW_PARSE_DEFAULT);
	SelectStmt *sel = (SelectStmt *) ((RawStmt *) linitial(raw))->stmt;
	ResTarget  *rt = linitial_node(ResTarget, sel->targetList);
	ParseState *pstate = make_parsestate(NULL);
	Node	   *e = transformExpr(pstate, rt->val, EXPR_KIND_COLUMN_DEFAULT);

	dc->ok = coerce_to_target_type(pstate, e, exprType(e), dc->typid, dc->typmod,
								   COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST,
								   -1) != NULL;
	free_parsestate(pstate);
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
	DefaultCheck dc = {expr, typid, typmod, false};
	ErrorData  *edata = sqlite_try(default_body, &dc);

	if (edata)
	{
		FreeErrorData(edata);
		return false;
	}
	return dc.ok;
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
	return psprintf("%s.sqlite_value", quote_identifier(get_namespace_name(sqlite_ext_nsp)));
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
			mig_note(&c->notes, "NOT NULL not kept: " INT64_FORMAT " rows hold NULL",
					 c->prof.n_null);
		if (c->collation && pg_strcasecmp(c->collation, "NOCASE") == 0)
			mig_note(&c->notes, "COLLATE NOCASE: PostgreSQL compares this column case-sensitively; its unique keys and indexes fold ASCII letters as SQLite does");
		else if (c->collation && pg_strcasecmp(c->collation, "BINARY") != 0)
			mig_note(&c->notes, "COLLATE %s not kept: PostgreSQL compares this column with the database collation",
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
				mig_note(&c->notes, "DEFAULT %s not migrated: %s", c->dflt, reason);
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
				mig_note(&c->notes, "generated column migrated as a plain column holding SQLite's values: %s",
						 text ? reason : "its expression was not found");
		}
	}
}

/* The CREATE TABLE of "t", with the generated columns that are kept. */
char *
mig_create_table_sql(Migration *m, MigTable *t)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE TABLE %s (", mig_qualified(m, t->pg_name));
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
char *
mig_insert_sql(Migration *m, MigTable *t)
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
					mig_qualified(m, t->pg_name), cols.data, cols.data,
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
/*
 * The staging foreign tables, which read with the chosen types, for table "t".
 */
static void
plan_staging(Migration *m, MigTable *t)
{
	int			i;
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE pg_temp.%s (", quote_identifier(t->staging));
	for (i = 0; i < t->ncols; i++)
	{
		MigColumn  *c = &t->cols[i];
		const char *unit = datetime_unit_name(m);

		appendStringInfo(&buf, "%s%s %s OPTIONS (column_name %s%s%s)", i ? ", " : "",
						 quote_identifier(c->pg_name), c->type_name,
						 quote_literal_cstr(mig_server_text(c->sqlite_name)),
						 unit ? ", datetime_unit " : "",
						 unit ? quote_literal_cstr(unit) : "");
	}
	appendStringInfo(&buf, ") SERVER %s OPTIONS (table %s%s)",
					 quote_identifier(m->server), quote_literal_cstr(mig_server_text(t->sqlite_name)),
					 t->quarantine ? ", rows 'matching'" : "");
	mig_add_step(m, STEP_SQL, "stage", t, buf.data);

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
							 sqlite_value_type(), quote_literal_cstr(mig_server_text(c->sqlite_name)),
							 quote_literal_cstr(c->type_name),
							 datetime_unit_name(m) ? ", datetime_unit " : "",
							 datetime_unit_name(m) ? quote_literal_cstr(datetime_unit_name(m)) : "");
		}
		appendStringInfo(&buf, ") SERVER %s OPTIONS (table %s, rows 'mismatched')",
						 quote_identifier(m->server), quote_literal_cstr(mig_server_text(t->sqlite_name)));
		mig_add_step(m, STEP_SQL, "stage", t, buf.data);
	}
}

/*
 * * A generated column stays generated only if PostgreSQL computes the
 * values SQLite holds: checked on the staging table before the target
 * table exists., for table "t".
 */
static void
plan_generated(Migration *m, MigTable *t)
{
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

/*
 * Tables, with NOT NULL, defaults, identity and generated columns, for table "t".
 */
static void
plan_table(Migration *m, MigTable *t)
{
	MigStep    *s = palloc0(sizeof(MigStep));
	int			i;
	StringInfoData buf;

	s->kind = STEP_CREATE;
	s->phase = "create";
	s->table = t;
	s->sql = mig_create_table_sql(m, t);
	m->steps = lappend(m->steps, s);
	if (m->opts.owner)
		mig_add_step(m, STEP_SQL, "create", t,
				 psprintf("ALTER TABLE %s OWNER TO %s", mig_qualified(m, t->pg_name),
						  quote_identifier(m->opts.owner)));

	if (t->quarantine)
	{
		/* every value kept as stored: storage class and raw value */
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE TABLE %s (\n    sqlite_rowid bigint", mig_qualified(m, t->rejects));
		for (i = 0; i < t->ncols; i++)
			appendStringInfo(&buf, ",\n    %s %s", quote_identifier(t->cols[i].pg_name),
							 sqlite_value_type());
		appendStringInfoString(&buf, "\n)");
		mig_add_step(m, STEP_SQL, "create", t, buf.data);
		if (m->opts.owner)
			mig_add_step(m, STEP_SQL, "create", t,
					 psprintf("ALTER TABLE %s OWNER TO %s", mig_qualified(m, t->rejects),
							  quote_identifier(m->opts.owner)));
	}
}

/*
 * The data, for table "t".
 */
static void
plan_copy(Migration *m, MigTable *t)
{
	StringInfoData cols;
	int			i;

	mig_add_step(m, STEP_COPY, "copy", t, mig_insert_sql(m, t));
	if (t->quarantine)
	{
		initStringInfo(&cols);
		for (i = 0; i < t->ncols; i++)
			appendStringInfo(&cols, "%s%s", i ? ", " : "", quote_identifier(t->cols[i].pg_name));
		mig_add_step(m, STEP_REJECTS, "copy", t,
				 psprintf("INSERT INTO %s (sqlite_rowid, %s) SELECT %s, %s FROM pg_temp.%s",
						  mig_qualified(m, t->rejects), cols.data,
						  t->has_rowid ? "sqlite_rowid" : "NULL::bigint", cols.data,
						  quote_identifier(t->staging_rejects)));
	}
}

/*
 * Keys and indexes, for table "t".
 */
static void
plan_keys(Migration *m, MigTable *t)
{
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

		mig_add_step(m, STEP_KEY, "keys", t,
				 psprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)",
						  mig_qualified(m, t->pg_name), column_list(t, pkcols, NULL)));
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
			mig_add_step(m, STEP_KEY, "keys", t,
					 psprintf("CREATE UNIQUE INDEX %s ON %s (%s)",
							  quote_identifier(mig_unique_name(m, t->pg_name, "pkey_nocase")),
							  mig_qualified(m, t->pg_name), keys.data));
	}
	else if (pkcols != NIL)
	{
		mig_note(&t->notes, "no primary key: SQLite let key columns hold NULL; created a UNIQUE constraint instead");
		mig_add_step(m, STEP_KEY, "keys", t,
				 psprintf("ALTER TABLE %s ADD UNIQUE (%s)",
						  mig_qualified(m, t->pg_name), column_list(t, pkcols, NULL)));
	}
	else
		mig_note(&t->notes, "%sno primary key", NOTE_KEPT);

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
			mig_note(&t->notes, "index \"%s\" not migrated: %s", ix->sqlite_name, ix->skip);
			continue;
		}
		mig_add_step(m, (where || has_expr) ? STEP_INDEX : ix->unique ? STEP_KEY : STEP_SQL,
				 "indexes", t,
				 psprintf("CREATE %sINDEX %s ON %s (%s)%s%s",
						  ix->unique ? "UNIQUE " : "",
						  quote_identifier(ix->pg_name), mig_qualified(m, t->pg_name),
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
			mig_add_step(m, where ? STEP_INDEX : STEP_SQL, "indexes", t,
					 psprintf("CREATE UNIQUE INDEX %s ON %s (%s)%s%s",
							  quote_identifier(mig_unique_name(m, ix->pg_name, "binary")),
							  mig_qualified(m, t->pg_name), column_list(t, ix->cols, ix->desc),
							  where ? " WHERE " : "", where ? where : ""));
	}
}

/*
 * CHECK constraints that translate: NOT VALID where rows violate them, for table "t".
 */
static void
plan_checks(Migration *m, MigTable *t)
{
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
			mig_note(&t->notes, "CHECK (%s) not migrated: %s", ck->expr, reason);
			continue;
		}
		s = palloc0(sizeof(MigStep));
		s->kind = STEP_CHECK;
		s->phase = "checks";
		s->table = t;
		s->what = psprintf("CHECK (%s) on %s", expr, mig_qualified(m, t->pg_name));
		if (ck->name)
			s->sql = psprintf("ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s)",
							  mig_qualified(m, t->pg_name),
							  quote_identifier(sqlite_shorten_name(ck->name)), expr);
		else
			s->sql = psprintf("ALTER TABLE %s ADD CHECK (%s)", mig_qualified(m, t->pg_name), expr);
		s->probe = psprintf("SELECT count(*) FROM %s WHERE NOT (%s)",
							mig_qualified(m, t->pg_name), expr);
		m->steps = lappend(m->steps, s);
	}
}

/*
 * Foreign keys: NOT VALID where SQLite let orphans in, for table "t".
 */
static void
plan_fkeys(Migration *m, MigTable *t)
{
	ListCell   *lc2;

	foreach(lc2, t->fkeys)
	{
		MigFKey    *fk = lfirst(lc2);
		MigTable   *parent = mig_find_table(m, fk->parent);
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
			mig_note(&t->notes, "foreign key (%s) to \"%s\" not created: that table is not migrated",
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
			from = lappend_int(from, mig_find_column(t, lfirst(lc3)));
		if (fk->to != NIL)
			foreach(lc3, fk->to)
				to = lappend_int(to, mig_find_column(parent, lfirst(lc3)));
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
			mig_note(&t->notes, "foreign key to \"%s\" not created: its columns do not match", fk->parent);
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
				mig_note(&t->notes, "foreign key to \"%s\" not created: the parent columns have no unique constraint", fk->parent);
				continue;
			}
		}

		s = palloc0(sizeof(MigStep));
		s->kind = STEP_FKEY;
		s->phase = "foreign keys";
		s->table = t;
		s->what = psprintf("foreign key %s (%s) referencing %s (%s)",
						   mig_qualified(m, t->pg_name), column_list(t, from, NULL),
						   mig_qualified(m, parent->pg_name), column_list(parent, to, NULL));
		s->sql = psprintf("ALTER TABLE %s ADD FOREIGN KEY (%s) REFERENCES %s (%s)%s%s%s%s%s",
						  mig_qualified(m, t->pg_name), column_list(t, from, NULL),
						  mig_qualified(m, parent->pg_name), column_list(parent, to, NULL),
						  fk->on_update && strcmp(fk->on_update, "NO ACTION") != 0 ? " ON UPDATE " : "",
						  fk->on_update && strcmp(fk->on_update, "NO ACTION") != 0 ? fk->on_update : "",
						  fk->on_delete && strcmp(fk->on_delete, "NO ACTION") != 0 ? " ON DELETE " : "",
						  fk->on_delete && strcmp(fk->on_delete, "NO ACTION") != 0 ? fk->on_delete : "",
						  fk->initially_deferred ? " DEFERRABLE INITIALLY DEFERRED" :
						  fk->deferrable ? " DEFERRABLE" : "");
		initStringInfo(&probe);
		appendStringInfo(&probe, "SELECT count(*) FROM %s AS c WHERE ", mig_qualified(m, t->pg_name));
		foreach(lc3, from)
			appendStringInfo(&probe, "c.%s IS NOT NULL AND ",
							 quote_identifier(t->cols[lfirst_int(lc3)].pg_name));
		appendStringInfo(&probe, "NOT EXISTS (SELECT 1 FROM %s AS p WHERE ", mig_qualified(m, parent->pg_name));
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

/*
 * Identity sequences above both max(id) and sqlite_sequence, for table "t".
 */
static void
plan_sequences(Migration *m, MigTable *t)
{
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
		mig_add_step(m, STEP_SQL, "sequences", t,
				 psprintf("ALTER TABLE %s ALTER COLUMN %s RESTART WITH " INT64_FORMAT,
						  mig_qualified(m, t->pg_name), quote_identifier(c->pg_name), next));
		if (t->seq >= 0)
			mig_note(&c->notes, "%sidentity continues after " INT64_FORMAT " (AUTOINCREMENT)", NOTE_KEPT, next - 1);
	}
}

/*
 * Views, where they translate.
 */
static void
plan_views(Migration *m)
{
	ListCell   *lc;

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
		o->target = mig_qualified(m, mig_unique_name(m, mig_pg_name(m, o->source), NULL));
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
}

/*
 * Statistics, then the staging objects go.
 */
static void
plan_cleanup(Migration *m)
{
	ListCell   *lc;

	foreach(lc, m->tables)
		mig_add_step(m, STEP_SQL, "analyze", lfirst(lc),
				 psprintf("ANALYZE %s", mig_qualified(m, ((MigTable *) lfirst(lc))->pg_name)));
	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);

		mig_add_step(m, STEP_SQL, "cleanup", NULL,
				 psprintf("DROP FOREIGN TABLE pg_temp.%s", quote_identifier(t->staging)));
		if (t->quarantine)
			mig_add_step(m, STEP_SQL, "cleanup", NULL,
					 psprintf("DROP FOREIGN TABLE pg_temp.%s",
							  quote_identifier(t->staging_rejects)));
	}
	mig_add_step(m, STEP_SQL, "cleanup", NULL,
			 psprintf("DROP SERVER %s", quote_identifier(m->server)));
}

void
mig_build_steps(Migration *m)
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
		t->rejects = mig_unique_name(m, t->pg_name, "rejects");
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
							 mig_qualified(m, lfirst(lc)));
		mig_add_step(m, STEP_REPLACE, "replace", NULL, buf.data);
	}

	/* defaults and generated columns that translate */
	foreach(lc, m->tables)
		translate_column_exprs(m, lfirst(lc));

	/* staging foreign tables */
	foreach(lc, m->tables)
		plan_staging(m, lfirst(lc));

	/* generated columns checked against SQLite */
	foreach(lc, m->tables)
		plan_generated(m, lfirst(lc));

	/* tables */
	foreach(lc, m->tables)
		plan_table(m, lfirst(lc));

	/* the data */
	foreach(lc, m->tables)
		plan_copy(m, lfirst(lc));

	/* keys and indexes */
	foreach(lc, m->tables)
		plan_keys(m, lfirst(lc));

	/* CHECK constraints */
	foreach(lc, m->tables)
		plan_checks(m, lfirst(lc));

	/* foreign keys */
	foreach(lc, m->tables)
		plan_fkeys(m, lfirst(lc));

	/* identity sequences */
	foreach(lc, m->tables)
		plan_sequences(m, lfirst(lc));

	plan_views(m);
	plan_cleanup(m);
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
		if (sqlite_spi_run_args(psprintf("SELECT jsonb_array_elements_text(h.objects -> 'tables') "
										   "FROM %s.sqlite_migration_history AS h WHERE h.target_schema = $1 AND " HISTORY_TRUSTED,
										   quote_identifier(get_namespace_name(sqlite_ext_nsp))),
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
		if (sqlite_spi_run_args(psprintf("SELECT DISTINCT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' "
										   "OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) "
										   "FROM %s.sqlite_migration_history AS h, "
										   "pg_catalog.jsonb_array_elements_text(h.objects -> 'views') AS v, "
										   "pg_catalog.pg_class AS c, pg_catalog.pg_namespace AS n "
										   "WHERE h.target_schema = $1 AND " HISTORY_TRUSTED " AND c.oid = pg_catalog.to_regclass(v) "
										   "AND c.relkind = 'v' AND n.oid = c.relnamespace AND n.nspname = $1",
										   quote_identifier(get_namespace_name(sqlite_ext_nsp))),
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
					 errmsg("table %s already exists", mig_qualified(m, name)),
					 errdetail("Nothing was written."),
					 errhint("Use if_exists => 'replace' to rebuild the tables an earlier migration created, or another target_schema.")));
		if (!is_owned)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("table %s already exists and was not created by migrate_sqlite",
							mig_qualified(m, name)),
					 errdetail("if_exists => 'replace' only replaces tables that an earlier migration into this schema created. Nothing was written."),
					 errhint("Drop or rename the table, or migrate into another target_schema.")));
		*drop = lappend(*drop, name);
	}
}

/*
 * One transaction holds a lock on every table, index and sequence it
 * creates: stop now, with a hint, when they cannot fit in the lock table.
 */
void
mig_check_locks(Migration *m)
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

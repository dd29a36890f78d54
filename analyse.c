/*-------------------------------------------------------------------------
 *
 * analyse.c
 *		  The analysis phase of a migration: reading the SQLite catalog
 *		  (tables, columns, keys, indexes, foreign keys, sequences, views,
 *		  triggers), the PostgreSQL names of everything, and the profile of
 *		  every column's values with the type chosen for it by the type rule.
 *
 * Everything read here comes from an untrusted file: names are only ever
 * bound as SQLite parameters or quoted, and the values are classified
 * (profile.c), never executed.  migrate.c turns the result into statements.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "sqlite_fdw_mig.h"

static void read_table(Migration *m, MigTable *t);
static void read_indexes(Migration *m, MigTable *t);
static void read_fkeys(Migration *m, MigTable *t);
static void sort_tables(Migration *m);
static bool is_reserved_column(const char *name);
static void set_type(MigColumn *c, const char *type_name);
static void infer_type(Migration *m, MigTable *t, MigColumn *c, bool reporting);
static const char *widened_type(SqliteColumnProfile *p, const char *fallback);

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
void
mig_read_catalog(Migration *m)
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
			MigTable   *t = name ? mig_find_table(m, name) : NULL;

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

		if (tbl && (m->opts.tables == NIL || mig_find_table(m, tbl)))
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
				MigTable   *parent = mig_find_table(m, ((MigFKey *) lfirst(lc2))->parent);

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
		idx = lappend(idx, ix);
	}
	sqlite_finalize(st);

	foreach(lc, idx)
	{
		MigIndex   *ix = lfirst(lc);
		List	   *items;
		char	   *where;

		sqlite_extract_index_parts(ix->sql, &items, &where);
		if (ix->partial)
			ix->where = where;

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
				ix->cols = lappend_int(ix->cols, mig_find_column(t, name));
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

int
mig_find_column(MigTable *t, const char *sqlite_name)
{
	int			i;

	for (i = 0; i < t->ncols; i++)
		if (sqlite3_stricmp(t->cols[i].sqlite_name, sqlite_name) == 0)
			return i;
	return -1;
}

MigTable *
mig_find_table(Migration *m, const char *sqlite_name)
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
char *
mig_server_text(const char *utf8)
{
	return pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
}

/*
 * A SQLite name as a PostgreSQL name: folded to lower case unless
 * preserve_case, in the database encoding, at most 63 bytes.  Raises an
 * ERROR for a name that is not UTF-8.
 */
char *
mig_pg_name(Migration *m, const char *sqlite_name)
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
char *
mig_unique_name(Migration *m, const char *want, const char *suffix)
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
void
mig_assign_names(Migration *m)
{
	ListCell   *lc;

	foreach(lc, m->tables)
	{
		MigTable   *t = lfirst(lc);
		char	   *want = mig_pg_name(m, t->sqlite_name);
		int			i;

		t->pg_name = mig_unique_name(m, want, NULL);
		if (strcmp(t->pg_name, t->sqlite_name) != 0 &&
			!(strcmp(t->pg_name, want) == 0 && !m->opts.preserve_case &&
			  pg_strcasecmp(want, t->sqlite_name) == 0))
			mig_note(&t->notes, "table renamed from \"%s\"", t->sqlite_name);

		for (i = 0; i < t->ncols; i++)
		{
			MigColumn  *c = &t->cols[i];
			char	   *name = mig_pg_name(m, c->sqlite_name);
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
				mig_note(&c->notes, "renamed from \"%s\"", c->sqlite_name);
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
			{
				if (lfirst_int(lc3) >= 0)
					appendStringInfo(&want, "_%s", t->cols[lfirst_int(lc3)].pg_name);
				else
					appendStringInfoString(&want, "_expr");
			}
			ix->pg_name = mig_unique_name(m, want.data, ix->unique ? "key" : "idx");
		}
	}
}

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
void
mig_profile_table(Migration *m, MigTable *t)
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
			mig_note(&c->notes, "type %s from type_overrides", override);
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
void
mig_choose_types(Migration *m, MigTable *t)
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
				mig_note(&t->notes, "column \"%s\": " INT64_FORMAT " %s not fit %s, for example %s; migrate_sqlite would stop here: use %s",
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
			mig_note(&c->notes, INT64_FORMAT " %s not fit %s, for example %s; %s moved to the rejects table",
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

					mig_note(&c->notes, "widened from %s to %s: values from " INT64_FORMAT " to " INT64_FORMAT,
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
						mig_note(&c->notes, "widened from %s to numeric: values need %d digits before and %d after the point%s",
								 c->type_name, p->max_int_digits, p->max_scale,
								 p->nonfinite ? ", or are infinite" : "");
						set_type(c, "numeric");
					}
				}
				break;
			case CONV_TEXT:
				if (c->conv.maxchars >= 0 && p->max_chars > c->conv.maxchars)
				{
					mig_note(&c->notes, "widened from %s to text: values up to " INT64_FORMAT " characters",
							 c->type_name, p->max_chars);
					set_type(c, "text");
				}
				break;
			case CONV_DATE:
				if (p->dt_time)
				{
					const char *wider = p->dt_offset ? "timestamp with time zone" :
						"timestamp without time zone";

					mig_note(&c->notes, "widened from date to %s: values have a time of day", wider);
					set_type(c, wider);
				}
				break;
			case CONV_TIMESTAMP:
				if (p->dt_offset)
				{
					mig_note(&c->notes, "widened from timestamp to timestamp with time zone: values have UTC offsets (naive values read as UTC)");
					set_type(c, "timestamp with time zone");
				}
				break;
			case CONV_INPUT:
				if (c->conv.basetypid == JSONOID)
				{
					if (!p->json_lossy)
					{
						mig_note(&c->notes, "%sjson stored as jsonb: every value is JSON that jsonb keeps", NOTE_KEPT);
						set_type(c, "jsonb");
					}
					else
						mig_note(&c->notes, "kept as json: some values have duplicate keys or \\u0000, which jsonb would change");
				}
				break;
			default:
				break;
		}
		if (m->opts.datetime_numbers != SQLITE_DT_NONE &&
			(p->n_int > 0 || p->n_real > 0) &&
			(c->conv.kind == CONV_DATE || c->conv.kind == CONV_TIMESTAMP ||
			 c->conv.kind == CONV_TIMESTAMPTZ))
			mig_note(&c->notes, "numbers read as %s",
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
		mig_note(&c->notes, "widened from %s to %s: " INT64_FORMAT " %s not fit %s, for example %s",
				 c->intended, type, p->n_mismatch,
				 p->n_mismatch == 1 ? "value does" : "values do", c->intended, p->example);
	else if (c->intended == NULL && (c->decltype == NULL || c->decltype[0] == '\0'))
		mig_note(&c->notes, "no declared type: %s chosen from the values", type);
	set_type(c, type);
	/* the copy converts with the chosen type's rules */
	sqlite_conv_init(&c->conv, c->type_oid, c->typmod, m->opts.datetime_numbers,
					 CurrentMemoryContext);
}

void
mig_note(List **notes, const char *fmt,...)
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

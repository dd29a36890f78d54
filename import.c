/*-------------------------------------------------------------------------
 *
 * import.c
 *		  SQLite catalog introspection: IMPORT FOREIGN SCHEMA, the rowid of a
 *		  table, row-count estimates, and PostgreSQL-safe names for SQLite
 *		  names.
 *
 * Names and declared types come from the file and are untrusted: names
 * reach PostgreSQL only through quote_identifier() or quote_literal_cstr(),
 * and declared types only as one of the type table's fixed type names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "sqlite_fdw_mig.h"

static bool name_matches(const char *sqlite_name, List *table_list,
						 char **local_name);
static bool is_shadow_table(const char *name, List *virtual_tables);
static const char *utf8(const char *name);
static char *server_name(const char *sqlite_name);
static char *local_name(const char *sqlite_name);
static bool is_system_column_name(const char *name);
static char *build_create_statement(SqliteConn *conn, const char *server,
									const char *sqlite_name,
									const char *relname, bool import_not_null);

/*
 * Return a PostgreSQL name for a SQLite name: converted to the database
 * encoding, and, when longer than NAMEDATALEN - 1 bytes, cut at a character
 * boundary and given a suffix from a hash of the whole name, so that two
 * long names that share a prefix stay distinct.
 */
char *
sqlite_shorten_name(const char *name)
{
	int			len = strlen(name);
	int			keep;
	int			i;
	uint32		h;

	if (len < NAMEDATALEN)
		return pstrdup(name);
	/* FNV-1a: the same suffix on every platform */
	h = 2166136261u;
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char) name[i]) * 16777619u;
	keep = pg_mbcliplen(name, len, NAMEDATALEN - 1 - 9);
	return psprintf("%.*s_%08x", keep, name, h);
}

/* A name in the database encoding, in UTF-8 for SQLite. */
static const char *
utf8(const char *name)
{
	return pg_server_to_any(name, strlen(name), PG_UTF8);
}

/* A SQLite name (UTF-8) in the database encoding, or NULL if not UTF-8. */
static char *
server_name(const char *sqlite_name)
{
	int			len = strlen(sqlite_name);

	if (!pg_verify_mbstr(PG_UTF8, sqlite_name, len, true))
		return NULL;
	return pg_any_to_server(sqlite_name, len, PG_UTF8);
}

/* A SQLite name as a PostgreSQL name, or NULL if it is not UTF-8. */
static char *
local_name(const char *sqlite_name)
{
	char	   *conv = server_name(sqlite_name);

	return conv ? sqlite_shorten_name(conv) : NULL;
}

/*
 * The name under which SQLite table "table" exposes its rowid (rowid,
 * _rowid_ or oid, whichever is not the name of a real column), or NULL for
 * a WITHOUT ROWID table, a view or a virtual table.  *exists is set to
 * whether the table (or view) exists at all.
 */
const char *
sqlite_rowid_alias(SqliteConn *conn, const char *table, bool *exists)
{
	static const char *const aliases[] = {"rowid", "_rowid_", "oid"};
	SqliteStmt *st;
	bool		has_rowid = false;
	bool		taken[3] = {false, false, false};
	int			i;

	st = sqlite_prepare(conn,
						"SELECT type, wr FROM pragma_table_list "
						"WHERE schema = 'main' AND name = ?1 COLLATE NOCASE");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	*exists = false;
	if (sqlite_step(st) == SQLITE_ROW)
	{
		const char *type = (const char *) sqlite3_column_text(st->stmt, 0);

		*exists = true;
		has_rowid = type && (strcmp(type, "table") == 0 ||
							 strcmp(type, "shadow") == 0) &&
			sqlite3_column_int(st->stmt, 1) == 0;
	}
	sqlite_finalize(st);
	if (!has_rowid)
		return NULL;

	st = sqlite_prepare(conn, "SELECT name FROM pragma_table_xinfo(?1)");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		const char *col = (const char *) sqlite3_column_text(st->stmt, 0);

		for (i = 0; i < 3; i++)
			if (col && sqlite3_stricmp(col, aliases[i]) == 0)
				taken[i] = true;
	}
	sqlite_finalize(st);

	for (i = 0; i < 3; i++)
		if (!taken[i])
			return aliases[i];
	return NULL;
}

/*
 * A cheap estimate of the rows in "table": the row count that ANALYZE in
 * SQLite stored in sqlite_stat1, else the largest rowid, else 1000.
 */
double
sqlite_estimate_rows(SqliteConn *conn, const char *table, const char *rowid)
{
	SqliteStmt *st;
	double		rows = -1;

	st = sqlite_prepare(conn,
						"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'");
	if (sqlite_step(st) == SQLITE_ROW)
	{
		sqlite_finalize(st);
		st = sqlite_prepare(conn,
							"SELECT stat FROM sqlite_stat1 WHERE tbl = ?1 COLLATE NOCASE "
							"ORDER BY idx IS NOT NULL LIMIT 1");
		sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
		if (sqlite_step(st) == SQLITE_ROW &&
			sqlite3_column_type(st->stmt, 0) == SQLITE_TEXT)
			rows = strtod((const char *) sqlite3_column_text(st->stmt, 0), NULL);
	}
	sqlite_finalize(st);

	if (rows < 0 && rowid != NULL)
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT max(");
		sqlite_append_ident(&sql, rowid);
		appendStringInfoString(&sql, ") FROM \"main\".");
		sqlite_append_ident(&sql, table);
		st = sqlite_prepare(conn, sql.data);
		if (sqlite_step(st) == SQLITE_ROW &&
			sqlite3_column_type(st->stmt, 0) == SQLITE_INTEGER)
			rows = (double) sqlite3_column_int64(st->stmt, 0);
		else
			rows = 0;
		sqlite_finalize(st);
	}
	return rows < 0 ? 1000 : rows;
}

/*
 * The columns of SQLite table "table" that SQLite can look a value up by:
 * the INTEGER PRIMARY KEY of a rowid table (its rowid), and the first column
 * of each index.  Returns a list of SqliteLookup; "per_key" comes from
 * sqlite_stat1 (average rows per value of the index's first column) when
 * ANALYZE has been run in SQLite, else 1 for a unique lookup and -1.
 */
List *
sqlite_table_lookups(SqliteConn *conn, const char *table, bool has_rowid,
					 bool *is_table)
{
	List	   *result = NIL;
	SqliteStmt *st;
	bool		have_stat = false;
	char	   *pk_name = NULL;
	int			npk = 0;
	bool		pk_integer = false;
	bool		pk_index = false;

	st = sqlite_prepare(conn,
						"SELECT type FROM pragma_table_list "
						"WHERE schema = 'main' AND name = ?1 COLLATE NOCASE");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	*is_table = sqlite_step(st) == SQLITE_ROW &&
		sqlite3_column_type(st->stmt, 0) == SQLITE_TEXT &&
		strcmp((const char *) sqlite3_column_text(st->stmt, 0), "table") == 0;
	sqlite_finalize(st);
	if (!*is_table)
		return NIL;				/* a view or virtual table: no lookups */

	st = sqlite_prepare(conn,
						"SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'");
	have_stat = sqlite_step(st) == SQLITE_ROW;
	sqlite_finalize(st);

	/* the rowid alias: a one-column primary key declared exactly INTEGER */
	st = sqlite_prepare(conn,
						"SELECT name, type FROM pragma_table_xinfo(?1) WHERE pk > 0");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		const char *type = (const char *) sqlite3_column_text(st->stmt, 1);

		npk++;
		pk_name = pstrdup((const char *) sqlite3_column_text(st->stmt, 0));
		pk_integer = type != NULL && sqlite3_stricmp(type, "INTEGER") == 0;
	}
	sqlite_finalize(st);

	/*
	 * "INTEGER PRIMARY KEY DESC" as a column constraint is no rowid alias:
	 * SQLite then keeps an index for the key (origin 'pk'), and the column
	 * may hold anything.
	 */
	st = sqlite_prepare(conn,
						"SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk'");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	pk_index = sqlite_step(st) == SQLITE_ROW;
	sqlite_finalize(st);

	if (has_rowid && npk == 1 && pk_integer && !pk_index)
	{
		SqliteLookup *lk = palloc0(sizeof(SqliteLookup));

		lk->column = pk_name;
		lk->unique = true;
		lk->rowid_alias = true;
		lk->per_key = 1;
		result = lappend(result, lk);
	}

	st = sqlite_prepare(conn,
						have_stat ?
						"SELECT ii.name, il.\"unique\", il.partial, "
						"(SELECT count(*) FROM pragma_index_info(il.name)), "
						"(SELECT stat FROM sqlite_stat1 s WHERE s.tbl = ?1 COLLATE NOCASE AND s.idx = il.name) "
						"FROM pragma_index_list(?1) AS il, pragma_index_xinfo(il.name) AS ii "
						"WHERE ii.seqno = 0 AND ii.name IS NOT NULL AND ii.coll = 'BINARY'" :
						"SELECT ii.name, il.\"unique\", il.partial, "
						"(SELECT count(*) FROM pragma_index_info(il.name)), NULL "
						"FROM pragma_index_list(?1) AS il, pragma_index_xinfo(il.name) AS ii "
						"WHERE ii.seqno = 0 AND ii.name IS NOT NULL AND ii.coll = 'BINARY'");
	sqlite3_bind_text(st->stmt, 1, utf8(table), -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		SqliteLookup *lk;

		CHECK_FOR_INTERRUPTS();
		/* a partial index holds only some rows: no lookup by it */
		if (sqlite3_column_int(st->stmt, 2) != 0)
			continue;
		lk = palloc0(sizeof(SqliteLookup));
		lk->column = pstrdup((const char *) sqlite3_column_text(st->stmt, 0));
		/* unique on this one column: one row per value (NULLs never match =) */
		lk->unique = sqlite3_column_int(st->stmt, 1) != 0 &&
			sqlite3_column_int(st->stmt, 3) == 1;
		lk->per_key = lk->unique ? 1 : -1;
		if (!lk->unique && sqlite3_column_type(st->stmt, 4) == SQLITE_TEXT)
		{
			/* "rows rows-per-value-of-the-first-column ..." */
			const char *stat = (const char *) sqlite3_column_text(st->stmt, 4);
			char	   *end;

			(void) strtod(stat, &end);
			lk->per_key = strtod(end, NULL);
			if (lk->per_key <= 0)
				lk->per_key = -1;
		}
		result = lappend(result, lk);
	}
	sqlite_finalize(st);
	return result;
}

/*
 * IMPORT FOREIGN SCHEMA "main": one CREATE FOREIGN TABLE per ordinary table
 * and view, with column types from the type table.  Virtual tables are
 * skipped with a NOTICE, and their shadow tables and SQLite's own tables
 * are never imported.
 */
List *
sqliteImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	SqliteConn *conn;
	SqliteStmt *st;
	bool		import_not_null = true;
	List	   *commands = NIL;
	List	   *virtual_tables = NIL;
	List	   *names = NIL;
	List	   *types = NIL;
	ListCell   *lc,
			   *lc2;

	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "import_not_null") == 0)
			import_not_null = defGetBoolean(def);
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\" for IMPORT FOREIGN SCHEMA",
							def->defname),
					 errhint("Valid options are: import_not_null.")));
	}

	if (strcmp(stmt->remote_schema, "main") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("SQLite schema \"%s\" does not exist", stmt->remote_schema),
				 errhint("A SQLite database has one schema to import: use IMPORT FOREIGN SCHEMA main.")));

	conn = sqlite_get_connection(server);

	st = sqlite_prepare(conn,
						"SELECT name, type FROM pragma_table_list "
						"WHERE schema = 'main' AND type IN ('table', 'view', 'virtual') "
						"AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
	while (sqlite_step(st) == SQLITE_ROW)
	{
		char	   *name = pstrdup((const char *) sqlite3_column_text(st->stmt, 0));
		char	   *type = pstrdup((const char *) sqlite3_column_text(st->stmt, 1));

		CHECK_FOR_INTERRUPTS();
		if (strcmp(type, "virtual") == 0)
			virtual_tables = lappend(virtual_tables, name);
		names = lappend(names, name);
		types = lappend(types, type);
	}
	sqlite_finalize(st);

	forboth(lc, names, lc2, types)
	{
		const char *name = lfirst(lc);
		const char *type = lfirst(lc2);
		char	   *relname;

		CHECK_FOR_INTERRUPTS();
		if (!name_matches(name, stmt->table_list, &relname))
		{
			if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO)
				continue;
		}
		else if (stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT)
			continue;

		if (strcmp(type, "virtual") == 0)
		{
			ereport(NOTICE,
					(errmsg("skipping SQLite virtual table \"%s\"", name),
					 errdetail("Virtual tables (full-text search and others) are not imported.")));
			continue;
		}
		if (is_shadow_table(name, virtual_tables))
			continue;

		if (relname == NULL)
			relname = local_name(name);
		if (relname == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("skipping SQLite table whose name is not valid UTF-8")));
			continue;
		}
		{
			char	   *cmd = build_create_statement(conn, server->servername,
													 name, relname,
													 import_not_null);

			if (cmd != NULL)
				commands = lappend(commands, cmd);
		}
	}
	return commands;
}

/*
 * Does SQLite table "sqlite_name" match a name of LIMIT TO / EXCEPT?  SQLite
 * names are case-insensitive, so "LIMIT TO (album)" matches "Album"; the
 * foreign table then takes the name as written in LIMIT TO (*local_name),
 * which is also the name core PostgreSQL filters on.
 */
static bool
name_matches(const char *sqlite_name, List *table_list, char **local_name)
{
	ListCell   *lc;

	*local_name = NULL;
	foreach(lc, table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (sqlite3_stricmp(rv->relname, sqlite_name) == 0)
		{
			*local_name = rv->relname;
			return true;
		}
	}
	return false;
}

/*
 * Is "name" a shadow table of one of "virtual_tables"?  SQLite knows the
 * shadow tables of the modules it has (pragma_table_list says 'shadow' and
 * they are not listed); this also catches those of FTS3/4/5 and R*Tree
 * tables, by their fixed suffixes.
 */
static bool
is_shadow_table(const char *name, List *virtual_tables)
{
	static const char *const suffixes[] = {
		"_content", "_segments", "_segdir", "_docsize", "_stat", "_data",
		"_idx", "_config", "_node", "_parent", "_rowid", NULL
	};
	ListCell   *lc;

	foreach(lc, virtual_tables)
	{
		const char *vt = lfirst(lc);
		size_t		len = strlen(vt);
		int			i;

		if (strlen(name) <= len || sqlite3_strnicmp(name, vt, len) != 0)
			continue;
		for (i = 0; suffixes[i]; i++)
			if (sqlite3_stricmp(name + len, suffixes[i]) == 0)
				return true;
	}
	return false;
}

/*
 * The CREATE FOREIGN TABLE command for SQLite table "sqlite_name", named
 * "relname" in PostgreSQL, or NULL (with a WARNING) when a column name is
 * not valid UTF-8.
 */
static char *
build_create_statement(SqliteConn *conn, const char *server,
					   const char *sqlite_name, const char *relname,
					   bool import_not_null)
{
	StringInfoData buf;
	SqliteStmt *st;
	int			ncols = 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (", quote_identifier(relname));

	/*
	 * hidden: 0 normal, 1 hidden column of a virtual table, 2/3 generated.
	 * A column is NOT NULL when declared so, when it is the rowid alias (the
	 * one INTEGER PRIMARY KEY column of a rowid table), and when it is part of
	 * the primary key of a WITHOUT ROWID table: SQLite enforces both.
	 */
	st = sqlite_prepare(conn,
						"SELECT x.name, x.type, x.\"notnull\" OR (x.pk > 0 AND "
						"(t.wr OR (upper(x.type) = 'INTEGER' AND "
						"(SELECT count(*) FROM pragma_table_xinfo(?1) WHERE pk > 0) = 1))) "
						"FROM pragma_table_xinfo(?1) AS x, pragma_table_list(?1) AS t "
						"WHERE x.hidden <> 1 AND t.schema = 'main' ORDER BY x.cid");
	sqlite3_bind_text(st->stmt, 1, sqlite_name, -1, SQLITE_TRANSIENT);
	while (sqlite_step(st) == SQLITE_ROW)
	{
		const char *colname = (const char *) sqlite3_column_text(st->stmt, 0);
		const char *decltype = (const char *) sqlite3_column_text(st->stmt, 1);
		bool		notnull = sqlite3_column_int(st->stmt, 2) != 0;
		char	   *attname = local_name(colname ? colname : "");

		/* a system column name would make the whole CREATE fail */
		if (attname && is_system_column_name(attname))
			attname = psprintf("%s_", attname);

		if (attname == NULL || attname[0] == '\0')
		{
			ereport(WARNING,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("skipping SQLite table \"%s\": a column name is not valid UTF-8",
							relname)));
			sqlite_finalize(st);
			return NULL;
		}

		appendStringInfo(&buf, "%s\n  %s %s", ncols > 0 ? "," : "",
						 quote_identifier(attname),
						 sqlite_map_declared_type(decltype));
		if (strcmp(attname, colname) != 0)
			appendStringInfo(&buf, " OPTIONS (column_name %s)",
							 quote_literal_cstr(server_name(colname)));
		if (notnull && import_not_null)
			appendStringInfoString(&buf, " NOT NULL");
		ncols++;
	}
	sqlite_finalize(st);

	appendStringInfo(&buf, "\n) SERVER %s OPTIONS (table %s);",
					 quote_identifier(server),
					 quote_literal_cstr(server_name(sqlite_name)));
	return buf.data;
}

/* Is "name" one PostgreSQL reserves for a system column? */
static bool
is_system_column_name(const char *name)
{
	static const char *const sys[] = {
		"oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid", NULL
	};
	int			k;

	for (k = 0; sys[k]; k++)
		if (strcmp(name, sys[k]) == 0)
			return true;
	return false;
}

/*-------------------------------------------------------------------------
 *
 * connection.c
 *		  Opening SQLite files safely, the per-backend cache of open handles,
 *		  the read transaction that spans a PostgreSQL transaction, prepared
 *		  statements that are released on error, and the mapping of SQLite
 *		  errors to PostgreSQL errors.
 *
 * A SQLite file is untrusted input.  It is opened on a URI built here
 * (never on a string the user gave), with SQLite's defensive settings, and
 * every SQL statement passes an authorizer that refuses ATTACH and pragmas
 * that change settings.  The file is opened read-only unless its server, or
 * one of the server's foreign tables, has the option updatable; it is never
 * created.  A handle is cached per foreign server for the life of the
 * backend; the first use in a PostgreSQL transaction starts a SQLite read
 * transaction, so every scan in that transaction sees one snapshot, and the
 * transaction end finalizes any statement left open and ends it.
 *
 * The first write in a PostgreSQL transaction makes that SQLite transaction
 * a write transaction (BEGIN IMMEDIATE when nothing was read yet), with a
 * SQLite savepoint for each PostgreSQL subtransaction that writes.  It is
 * committed in PostgreSQL's pre-commit step, before PostgreSQL's own commit:
 * a SQLite failure (a lock, a deferred foreign key) then aborts both.  Any
 * other end rolls it back.
 *
 * SQLite callbacks (busy, progress, authorizer) never raise PostgreSQL
 * errors: they only decide, and the caller reports what SQLite returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "sqlite_fdw_mig.h"

/* One cached SQLite handle, per foreign server. */
struct SqliteConn
{
	Oid			serverid;		/* hash key: must be first */
	sqlite3    *db;				/* NULL when not open */
	char	   *path;			/* the file, in TopMemoryContext (for a large
								 * object: "large object N") */
	Oid			large_object;	/* the file is this large object, or
								 * InvalidOid (lovfs.c) */
	Snapshot	lo_snapshot;	/* ... read in this snapshot while open */
	int			busy_timeout;	/* milliseconds */
	bool		xact_open;		/* a SQLite transaction is open */
	bool		writable;		/* opened for reading and writing */
	bool		write_xact;		/* this transaction has written */
	int			sp_depth;		/* savepoints s2..sN exist up to this level */
	bool		doomed;			/* a savepoint could not be rolled back: the
								 * SQLite transaction is gone */
	bool		busy_waited;	/* the busy handler ran since busy_reset */
	bool		utf8;			/* the file's text is UTF-8 (header, at open) */
	bool		invalidated;	/* server options changed: reopen when idle */
	uint32		server_hashvalue;	/* syscache hash of the server's OID */
	dlist_head	stmts;			/* open SqliteStmts */
	TimestampTz busy_start;		/* when the current busy wait began */
};

static HTAB *ConnectionHash = NULL;

/* set by sqlite_defer_foreign_keys alone, around its one statement */
static bool allow_defer_pragma = false;

/* Pragmas a statement may read after the handle is set up. */
static const char *const allowed_pragmas[] = {
	"table_info", "table_xinfo", "table_list", "index_list", "index_info",
	"index_xinfo", "foreign_key_list", "collation_list", "database_list",
	NULL
};

static void open_database(SqliteConn *entry, bool write);
static void open_large_object(SqliteConn *entry, bool write);
static void close_large_objects(bool isCommit);
static SqliteConn *get_entry(ForeignServer *server, bool write);
static void begin_write(SqliteConn *entry);
static void commit_write(SqliteConn *entry);
static void sqlite_subxact_callback(SubXactEvent event,
									SubTransactionId mySubid,
									SubTransactionId parentSubid, void *arg);
static int	errcode_for_write(int rc, SqliteConn *conn);
static char *conn_label(SqliteConn *conn);
static void check_lost_transaction(SqliteConn *entry);
static void check_wal_files(sqlite3 *db, const char *path,
							const struct stat *st);
static void check_wal_files_or_close(sqlite3 *db, const char *path,
									 const struct stat *st);
static bool sidecar_writable_by_owner(const struct stat *st, const char *dir);
static const char *server_os_user(void);
static int	errhint_file_access(int save_errno);
static int	errdetail_for_sqlite(int rc, const char *msg, SqliteConn *conn);
static int	configure_handle(sqlite3 *db, SqliteConn *entry, const char **failed);
static bool header_is_utf8(sqlite3 *db);
static void close_connection(SqliteConn *entry);
static void xact_ended(SqliteConn *entry);
static void private_conn_callback(void *arg);
static void begin_read(SqliteConn *entry);
static void end_transaction(SqliteConn *entry);
static void finalize_stmt(SqliteStmt *st);
static void stmt_context_callback(void *arg);
static void sqlite_xact_callback(XactEvent event, void *arg);
static void sqlite_inval_callback(Datum arg, int cacheid, uint32 hashvalue);
static int	sqlite_busy_handler(void *arg, int count);
static int	sqlite_progress_handler(void *arg);
static int	sqlite_authorizer(void *arg, int action, const char *a1,
							  const char *a2, const char *a3, const char *a4);
static int	errcode_for_sqlite(int rc);
static int	errhint_for_sqlite(int rc, SqliteConn *conn);

/*
 * Return the connection for "server", opening the file if needed, with a
 * SQLite read transaction open for the current PostgreSQL transaction.
 *
 * Raises an ERROR (leaving nothing open) when the file cannot be opened as a
 * SQLite database.
 */
SqliteConn *
sqlite_get_connection(ForeignServer *server)
{
	SqliteConn *entry = get_entry(server, false);

	begin_read(entry);
	return entry;
}

/*
 * Return the connection for "server" with a SQLite write transaction open
 * for the current PostgreSQL transaction, and a savepoint for each of its
 * open subtransactions.  The caller has checked that writing is allowed.
 */
SqliteConn *
sqlite_get_write_connection(ForeignServer *server)
{
	SqliteConn *entry = get_entry(server, true);

	begin_write(entry);
	return entry;
}

/*
 * The cache entry of "server", its file open (for writing too if "write",
 * or if anything of the server may be written).
 */
static SqliteConn *
get_entry(ForeignServer *server, bool write)
{
	SqliteConn *entry;
	bool		found;

	if (ConnectionHash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SqliteConn);
		ConnectionHash = hash_create("sqlite_fdw_mig connections", 8, &ctl,
									 HASH_ELEM | HASH_BLOBS);
		RegisterXactCallback(sqlite_xact_callback, NULL);
		RegisterSubXactCallback(sqlite_subxact_callback, NULL);
		CacheRegisterSyscacheCallback(FOREIGNSERVEROID,
									  sqlite_inval_callback, (Datum) 0);
	}

	entry = hash_search(ConnectionHash, &server->serverid, HASH_ENTER, &found);
	if (!found)
	{
		entry->db = NULL;
		entry->path = NULL;
		entry->large_object = InvalidOid;
		entry->busy_timeout = SQLITE_DEFAULT_BUSY_TIMEOUT;
		entry->xact_open = false;
		entry->writable = false;
		entry->write_xact = false;
		entry->sp_depth = 0;
		entry->doomed = false;
		entry->invalidated = false;
		dlist_init(&entry->stmts);
	}

	if (OidIsValid(entry->large_object))
	{
		if (write)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot write to the SQLite database in %s", entry->path),
					 errdetail("A SQLite database in a large object is read-only."),
					 errhint("Write to the file where the application keeps it, then upload it again.")));
		/* the handle may have been opened by another role */
		if (entry->db != NULL)
			sqlite_lo_check_access(entry->large_object, entry->lo_snapshot);
	}

	check_lost_transaction(entry);
	if (entry->doomed)
		ereport(ERROR,
				(errcode(ERRCODE_IN_FAILED_SQL_TRANSACTION),
				 errmsg("the SQLite transaction on \"%s\" was rolled back",
						entry->path),
				 errdetail("SQLite rolled back the transaction after an error, or a savepoint could not be rolled back."),
				 errhint("Roll back the transaction.")));

	/*
	 * A write on a file opened read-only: reopen it if this transaction has
	 * read nothing from it yet (a later option change made it updatable).
	 */
	if (write && entry->db != NULL && !entry->writable)
	{
		if (!dlist_is_empty(&entry->stmts) ||
			(entry->xact_open &&
			 sqlite3_txn_state(entry->db, "main") != SQLITE_TXN_NONE))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot write to SQLite database \"%s\": this transaction read it on a read-only handle",
							entry->path),
					 errdetail("The file was opened before the option \"updatable\" was set."),
					 errhint("Run the write in a new transaction.")));
		if (entry->xact_open)
			(void) sqlite3_exec(entry->db, "ROLLBACK", NULL, NULL, NULL);
		close_connection(entry);
	}

	/* options changed since the file was opened: reopen if nothing uses it */
	if (entry->db != NULL && entry->invalidated && !entry->xact_open &&
		dlist_is_empty(&entry->stmts))
		close_connection(entry);

	if (entry->db == NULL)
	{
		SqliteServerOptions opts;

		sqlite_get_server_options(server, &opts);
		if (entry->path)
			pfree(entry->path);
		entry->large_object = opts.large_object;
		entry->path = OidIsValid(opts.large_object) ?
			MemoryContextStrdup(TopMemoryContext,
								psprintf("large object %u", opts.large_object)) :
			MemoryContextStrdup(TopMemoryContext, opts.database);
		entry->busy_timeout = opts.busy_timeout;
		entry->server_hashvalue =
			GetSysCacheHashValue1(FOREIGNSERVEROID,
								  ObjectIdGetDatum(server->serverid));
		entry->invalidated = false;
		open_database(entry,
					  write || (!OidIsValid(entry->large_object) &&
								sqlite_server_may_write(server->serverid)));
	}
	return entry;
}

/*
 * Close "conn" now if nothing uses it (its server is about to disappear: a
 * rolled-back staging server of migrate_sqlite_plan()), instead of at the
 * end of the transaction.
 */
void
sqlite_release_connection(SqliteConn *conn)
{
	if (conn == NULL || conn->db == NULL || !dlist_is_empty(&conn->stmts) ||
		conn->write_xact)
		return;
	end_transaction(conn);
	if (dlist_is_empty(&conn->stmts))
		close_connection(conn);
}

/* The SQLite handle of an open connection. */
sqlite3 *
sqlite_conn_handle(SqliteConn *conn)
{
	Assert(conn->db != NULL);
	return conn->db;
}

/* The path of the file behind a connection. */
const char *
sqlite_conn_path(SqliteConn *conn)
{
	return conn->path;
}

/*
 * Build the URI that opens "path" read-only: "file://" followed by the
 * percent-encoded path and "?mode=ro".  Every byte outside the unreserved
 * set is encoded, so nothing in the path ('?', '#', '%', a "file:" prefix)
 * can add a URI parameter such as vfs= or mode=.  The path must be absolute.
 */
char *
sqlite_build_uri(const char *path)
{
	return sqlite_build_uri_mode(path, false);
}

/* The URI that opens "path" read-only, or for writing if "write" (never
 * creating it: mode=rw). */
char *
sqlite_build_uri_mode(const char *path, bool write)
{
	StringInfoData buf;
	const unsigned char *p;

	Assert(path[0] == '/');
	initStringInfo(&buf);
	appendStringInfoString(&buf, "file://");
	for (p = (const unsigned char *) path; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '/' || *p == '-' ||
			*p == '.' || *p == '_' || *p == '~')
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	appendStringInfoString(&buf, write ? "?mode=rw" : "?mode=ro");
	return buf.data;
}

/*
 * Set SQLite's hard heap limit.  SQLite's memory is outside PostgreSQL's
 * accounting, so a hostile file must not be able to make it grow without
 * bound; past the limit SQLite returns SQLITE_NOMEM, reported as an ERROR.
 */
void
sqlite_set_memory_limit(int kilobytes)
{
	(void) sqlite3_hard_heap_limit64((sqlite3_int64) kilobytes * 1024);
}

/*
 * Open entry->path as a SQLite database and set entry->db.  Checks the file
 * first, so that the usual mistakes (a missing file, a directory, an empty
 * file that SQLite would treat as a new database) get a clear message.
 * On failure the handle is closed before the ERROR is raised.
 */
static void
open_database(SqliteConn *entry, bool write)
{
	const char *path = entry->path;
	struct stat st;
	sqlite3    *db = NULL;
	char	   *uri;
	int			rc;
	const char *failed = NULL;

	if (OidIsValid(entry->large_object))
	{
		open_large_object(entry, write);
		return;
	}
	if (path[0] != '/')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("SQLite database path must be absolute: \"%s\"", path)));

	if (stat(path, &st) != 0)
	{
		int			save_errno = errno;

		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open SQLite database \"%s\": %m", path),
				 errhint_file_access(save_errno)));
	}
	if (S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("could not open SQLite database \"%s\": it is a directory",
						path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("could not open SQLite database \"%s\": it is not a regular file",
						path)));
	if (st.st_size == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not open SQLite database \"%s\": the file is empty",
						path),
				 errdetail("SQLite would read an empty file as a new, empty database."),
				 errhint("Check the path: a wrong path is the usual cause.")));

	/*
	 * access(), not open(): closing a descriptor of the file would release
	 * the locks other handles of this process hold on it.
	 */
	if (access(path, R_OK) != 0)
	{
		int			save_errno = errno;

		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open SQLite database \"%s\": %m", path),
				 errhint_file_access(save_errno)));
	}

	uri = sqlite_build_uri_mode(path, write);
	rc = sqlite3_open_v2(uri, &db,
						 (write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
						 SQLITE_OPEN_URI |
						 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
						 NULL);
	pfree(uri);
	entry->writable = write;
	if (rc == SQLITE_OK)
	{
		check_wal_files_or_close(db, path, &st);
		rc = configure_handle(db, entry, &failed);
	}

	if (rc != SQLITE_OK)
	{
		const char *raw = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
		char	   *msg = sqlite_printable(raw, strlen(raw), 1000);

		sqlite3_close_v2(db);
		/* a cancel that stopped a wait or a statement is reported as such */
		CHECK_FOR_INTERRUPTS();
		if ((rc & 0xff) == SQLITE_INTERRUPT)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("canceling statement due to user request")));
		ereport(ERROR,
				(errcode(errcode_for_sqlite(rc)),
				 errmsg("could not open SQLite database \"%s\"", path),
				 errdetail_for_sqlite(rc, msg, entry),
				 ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) ?
				 errhint("The file is not a SQLite 3 database, or it is damaged.") :
				 errhint_for_sqlite(rc, entry),
				 failed ? errcontext("SQLite statement: %s", failed) : 0));
	}

	entry->db = db;
	entry->utf8 = header_is_utf8(db);
}

/*
 * Open entry->large_object through the large-object VFS (lovfs.c): read-only
 * and immutable, in the current transaction, which the descriptor does not
 * outlive (sqlite_xact_callback closes the handle).  The same safety
 * settings as a file's.
 */
static void
open_large_object(SqliteConn *entry, bool write)
{
	sqlite3    *db = NULL;
	char	   *uri;
	int			rc;
	const char *failed = NULL;

	if (write)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot write to the SQLite database in %s", entry->path),
				 errdetail("A SQLite database in a large object is read-only."),
				 errhint("Write to the file where the application keeps it, then upload it again.")));
	uri = sqlite_lo_open_uri(entry->large_object, entry->path,
							 &entry->lo_snapshot);
	rc = sqlite3_open_v2(uri, &db,
						 SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
						 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
						 NULL);
	sqlite_lo_open_done();
	pfree(uri);
	entry->writable = false;

	/*
	 * SQLite's temporary tables and sorts in memory, bounded by the heap
	 * limit: anyone may upload a file, whose views could sort without end.
	 */
	if (rc == SQLITE_OK)
	{
		failed = "PRAGMA temp_store = MEMORY";
		rc = sqlite3_exec(db, failed, NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
	{
		failed = NULL;
		rc = configure_handle(db, entry, &failed);
	}
	if (rc != SQLITE_OK)
	{
		const char *raw = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
		char	   *msg = sqlite_printable(raw, strlen(raw), 1000);

		sqlite3_close_v2(db);
		sqlite_lo_rethrow();
		CHECK_FOR_INTERRUPTS();
		ereport(ERROR,
				(errcode(errcode_for_sqlite(rc)),
				 errmsg("could not open SQLite database in %s", entry->path),
				 errdetail_for_sqlite(rc, msg, entry),
				 ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) ?
				 errhint("The upload is not a SQLite 3 database, or it is damaged or truncated.") :
				 errhint_for_sqlite(rc, entry),
				 failed ? errcontext("SQLite statement: %s", failed) : 0));
	}
	entry->db = db;
	entry->utf8 = header_is_utf8(db);
}

/*
 * A file in WAL mode is read with its "-wal" and "-shm" files, and SQLite
 * creates them, even on a read-only connection, when they do not exist; a
 * read-only connection never removes them.  Created by the server, they
 * belong to the server's OS user and copy the file's permission bits, so an
 * application running as another user could no longer write to its own
 * database.  Refuse in that case, and when the directory is not writable or
 * an existing "-wal" or "-shm" is not readable (SQLite would fail with a
 * vaguer message).  An application that has the file open keeps its "-wal"
 * and "-shm" files, so reading while it runs, or reading a copy, is always
 * possible.
 *
 * "db" was just opened on "path" and has read nothing yet; its header is read
 * through SQLite's own descriptor (closing another descriptor of the file
 * would release the locks this process holds on it).  The caller closes
 * "db" when this raises an ERROR.  "st" is the file's stat().
 */
/*
 * The main database file of an open handle, or NULL.  Its bytes are read
 * through this, SQLite's own descriptor: a descriptor of our own would
 * release, when closed, the POSIX locks every SQLite handle of this process
 * holds on the file.
 */
static sqlite3_file *
db_main_file(sqlite3 *db)
{
	sqlite3_file *fp = NULL;

	if (db == NULL ||
		sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &fp) != SQLITE_OK ||
		fp == NULL || fp->pMethods == NULL)
		return NULL;
	return fp;
}

/*
 * Is the file open on "db" in WAL mode?  Its header's read and write format
 * versions (bytes 18 and 19) are 2.  Unreadable or short is "no": reading
 * the file will report what is wrong.
 */
static bool
header_is_wal(sqlite3 *db)
{
	sqlite3_file *fp = db_main_file(db);
	unsigned char header[20];

	return fp != NULL &&
		fp->pMethods->xRead(fp, header, sizeof(header), 0) == SQLITE_OK &&
		header[18] == 2 && header[19] == 2;
}

/*
 * Is the text of the database open on "db" UTF-8 (header bytes 56-59: 1)?
 * Read once at the open: the encoding never changes after a file's first
 * table.
 */
static bool
header_is_utf8(sqlite3 *db)
{
	sqlite3_file *fp = db_main_file(db);
	unsigned char enc[4];

	return fp != NULL &&
		fp->pMethods->xRead(fp, enc, sizeof(enc), 56) == SQLITE_OK &&
		enc[0] == 0 && enc[1] == 0 && enc[2] == 0 && enc[3] == 1;
}

/* Is the text of the file open on "conn" UTF-8? */
bool
sqlite_file_is_utf8(SqliteConn *conn)
{
	return conn->utf8;
}

static void
check_wal_files(sqlite3 *db, const char *path, const struct stat *st)
{
	char	   *wal_path;
	char	   *shm_path;
	char	   *dir;
	char	   *slash;
	const char *missing;
	struct stat sst;

	if (!header_is_wal(db))
		return;

	wal_path = psprintf("%s-wal", path);
	shm_path = psprintf("%s-shm", path);
	if (stat(wal_path, &sst) != 0 && errno == ENOENT)
		missing = wal_path;
	else if (stat(shm_path, &sst) != 0 && errno == ENOENT)
		missing = shm_path;
	else
		missing = NULL;
	if (missing == NULL)
	{
		const char *unreadable = NULL;

		/* both exist: SQLite must be able to read them */
		if (access(wal_path, R_OK) != 0)
			unreadable = wal_path;
		else if (access(shm_path, R_OK) != 0)
			unreadable = shm_path;
		if (unreadable != NULL)
		{
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open SQLite database \"%s\"", path),
					 errdetail("The file is in WAL mode, and its \"%s\" cannot be read: %m.",
							   unreadable),
					 errhint("Give the server's OS user \"%s\" read permission on \"%s\".",
							 server_os_user(), unreadable)));
		}
		pfree(wal_path);
		pfree(shm_path);
		return;
	}

	dir = pstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	if (access(dir, W_OK | X_OK) != 0)
	{
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("could not open SQLite database \"%s\"", path),
				 errdetail("The file is in WAL mode and \"%s\" does not exist. SQLite must create it to read the file, and the server's OS user \"%s\" cannot write to the directory \"%s\".",
						   missing, server_os_user(), dir),
				 errhint("Read the file while the application has it open (its \"-wal\" and \"-shm\" files then exist), give the server's OS user write permission on the directory if it owns the file, or read a copy made by the file's owner with: sqlite3 \"%s\" \"VACUUM INTO '/path/to/copy.db'\".",
						 path)));
	}

	if (!sidecar_writable_by_owner(st, dir))
	{
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not open SQLite database \"%s\"", path),
				 errdetail("The file is in WAL mode and \"%s\" does not exist. SQLite would create it, owned by the server's OS user \"%s\" and not writable by the file's owner, which could then no longer write to the database.",
						   missing, server_os_user()),
				 errhint("Read the file while the application has it open (its \"-wal\" and \"-shm\" files then exist), or read a copy made by the file's owner with: sqlite3 \"%s\" \"VACUUM INTO '/path/to/copy.db'\".",
						 path)));
	}

	pfree(dir);
	pfree(wal_path);
	pfree(shm_path);
}

/* check_wal_files(); a refusal, or any other ERROR, closes "db" first. */
static void
check_wal_files_or_close(sqlite3 *db, const char *path, const struct stat *st)
{
	PG_TRY();
	{
		check_wal_files(db, path, st);
	}
	PG_CATCH();
	{
		sqlite3_close_v2(db);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Could the owner of the file "st" write a "-wal" or "-shm" file that the
 * server creates in "dir"?  SQLite gives such a file the database file's
 * permission bits; the server's OS user owns it, and its group is the
 * directory's if the directory is set-group-ID, else the server's.  Assumes
 * the file's owner is a member of the file's group.
 */
static bool
sidecar_writable_by_owner(const struct stat *st, const char *dir)
{
	struct stat dst;
	gid_t		gid;

	if (st->st_uid == geteuid() || (st->st_mode & S_IWOTH))
		return true;
	if (!(st->st_mode & S_IWGRP) || stat(dir, &dst) != 0)
		return false;
	gid = (dst.st_mode & S_ISGID) ? dst.st_gid : getegid();
	return gid == st->st_gid;
}

/* The name of the server's OS user, for messages. */
static const char *
server_os_user(void)
{
	struct passwd *pw = getpwuid(geteuid());

	return pw ? pstrdup(pw->pw_name) : psprintf("%d", (int) geteuid());
}

/* The hint for a failed stat() or open() of the file (for ereport). */
static int
errhint_file_access(int save_errno)
{
	if (save_errno == EACCES || save_errno == EPERM)
		return errhint("The server's OS user \"%s\" needs read permission on the file and search (x) permission on every directory in its path.",
					   server_os_user());
	return 0;
}

/*
 * SQL function SQLITE_VALUES_OK_FUNC(spec, x1, x2, ...): 1 when every xi is
 * NULL or a value its column's type reads exactly as SQLite compares it,
 * else 0.  spec has one letter per xi: '2', '4', '8' an integer in the
 * range of int2, int4, int8; 'r' a real other than -0.0; 't' text that is valid UTF-8
 * without NUL bytes.  Used by aggregate push-down (upper.c).  It runs inside
 * SQLite, so it never raises a PostgreSQL error: pg_verify_mbstr() with
 * noError.
 */
static void
sqlite_values_ok_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *spec = (const char *) sqlite3_value_text(argv[0]);
	int			i;

	if (spec == NULL || (int) strlen(spec) != argc - 1)
	{
		sqlite3_result_error(ctx, "bad arguments to " SQLITE_VALUES_OK_FUNC, -1);
		return;
	}
	for (i = 1; i < argc; i++)
	{
		sqlite3_value *v = argv[i];
		int			type = sqlite3_value_type(v);
		bool		ok;

		if (type == SQLITE_NULL)
			continue;
		switch (spec[i - 1])
		{
			case '2':
				ok = type == SQLITE_INTEGER &&
					sqlite3_value_int64(v) >= PG_INT16_MIN &&
					sqlite3_value_int64(v) <= PG_INT16_MAX;
				break;
			case '4':
				ok = type == SQLITE_INTEGER &&
					sqlite3_value_int64(v) >= PG_INT32_MIN &&
					sqlite3_value_int64(v) <= PG_INT32_MAX;
				break;
			case '8':
				ok = type == SQLITE_INTEGER;
				break;
			case 'r':
				/* -0.0: min and max keep another of equal values than PostgreSQL */
				ok = type == SQLITE_FLOAT &&
					!(sqlite3_value_double(v) == 0.0 &&
					  signbit(sqlite3_value_double(v)));
				break;
			case 't':
				{
					const char *s;

					ok = false;
					if (type != SQLITE_TEXT)
						break;
					s = (const char *) sqlite3_value_text(v);
					if (s == NULL)
					{
						sqlite3_result_error_nomem(ctx);
						return;
					}
					ok = pg_verify_mbstr(PG_UTF8, s, sqlite3_value_bytes(v), true);
					break;
				}
			default:
				ok = false;
		}
		if (!ok)
		{
			sqlite3_result_int(ctx, 0);
			return;
		}
	}
	sqlite3_result_int(ctx, 1);
}

/*
 * Apply the safety settings to a freshly opened handle and check that the
 * file is a readable SQLite database.  Returns a SQLite result code; on
 * failure "*failed" names the statement that failed, if any.
 */
static int
configure_handle(sqlite3 *db, SqliteConn *entry, const char **failed)
{
	static const char *const setup_ro[] = {
		"PRAGMA mmap_size = 0",
		"PRAGMA cell_size_check = ON",
		"PRAGMA query_only = ON",
		"PRAGMA trusted_schema = OFF",
		/* reading the schema proves this is a SQLite database */
		"SELECT count(*) FROM sqlite_schema",
		NULL
	};

	/*
	 * A writable handle enforces the file's foreign keys (a write must not
	 * add an orphan) and fires its triggers (they keep the application's
	 * invariants, such as full-text indexes); trusted_schema stays off, so a
	 * trigger may only call functions SQLite marks innocuous.
	 */
	static const char *const setup_rw[] = {
		"PRAGMA mmap_size = 0",
		"PRAGMA cell_size_check = ON",
		"PRAGMA trusted_schema = OFF",
		"PRAGMA foreign_keys = ON",
		"SELECT count(*) FROM sqlite_schema",
		NULL
	};
	const char *const *setup = entry->writable ? setup_rw : setup_ro;
	int			rc;
	int			i;

	sqlite3_extended_result_codes(db, 1);
	rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER,
							   entry->writable ? 1 : 0, NULL);
	/* a double-quoted name that does not exist must not become a string */
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	if (rc != SQLITE_OK)
		return rc;

	rc = sqlite3_create_function_v2(db, SQLITE_VALUES_OK_FUNC, -1,
									SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
									NULL, sqlite_values_ok_func, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;

	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_busy_handler(db, sqlite_busy_handler, entry);
	sqlite3_progress_handler(db, 1000, sqlite_progress_handler, NULL);

	for (i = 0; setup[i] != NULL; i++)
	{
		rc = sqlite3_exec(db, setup[i], NULL, NULL, NULL);
		if (rc != SQLITE_OK)
		{
			*failed = setup[i];
			return rc;
		}
	}

	return sqlite3_set_authorizer(db, sqlite_authorizer, NULL);
}

/*
 * Open "path" on a private connection, outside the cache, with the same
 * checks and safety settings as a server's connection.  The caller closes
 * it with sqlite_close_private() (also on error: it is palloc'd in the
 * current context and a reset callback closes it).
 */
SqliteConn *
sqlite_open_private(const char *path, int busy_timeout)
{
	SqliteConn *conn = palloc0(sizeof(SqliteConn));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	conn->path = pstrdup(path);
	conn->busy_timeout = busy_timeout;
	dlist_init(&conn->stmts);
	open_database(conn, false);
	cb->func = private_conn_callback;
	cb->arg = conn;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return conn;
}

/* Close a private connection and its statements; harmless if closed. */
void
sqlite_close_private(SqliteConn *conn)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &conn->stmts)
		finalize_stmt(dlist_container(SqliteStmt, node, iter.cur));
	if (conn->db != NULL)
		sqlite3_close_v2(conn->db);
	conn->db = NULL;
}

/* The main database file of "conn" (see db_main_file). */
static sqlite3_file *
main_file(SqliteConn *conn)
{
	sqlite3_file *fp = db_main_file(conn->db);

	if (fp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not read SQLite database \"%s\"", conn->path),
				 errdetail("SQLite has not opened the file.")));
	return fp;
}

/* Is the file open on "conn" in WAL mode? */
bool
sqlite_file_is_wal(SqliteConn *conn)
{
	return header_is_wal(conn->db);
}

/* The size of the database file in bytes. */
int64
sqlite_file_size(SqliteConn *conn)
{
	sqlite3_file *fp = main_file(conn);
	sqlite3_int64 size;
	int			rc = fp->pMethods->xFileSize(fp, &size);

	if (rc != SQLITE_OK)
		ereport(ERROR,
				(errcode(errcode_for_sqlite(rc)),
				 errmsg("could not read the size of SQLite database \"%s\"", conn->path),
				 errdetail_internal("%s", sqlite3_errstr(rc))));
	return (int64) size;
}

/*
 * Read "len" bytes of the database file at "offset" into "buf".  Returns
 * false when the file ends first (the rest of "buf" is zeroed).
 */
bool
sqlite_file_read(SqliteConn *conn, void *buf, int len, int64 offset)
{
	sqlite3_file *fp = main_file(conn);
	int			rc = fp->pMethods->xRead(fp, buf, len, (sqlite3_int64) offset);

	if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ)
		sqlite_lo_rethrow();	/* a large-object read's own error */
	if (rc == SQLITE_IOERR_SHORT_READ)
		return false;
	if (rc != SQLITE_OK)
		ereport(ERROR,
				(errcode(errcode_for_sqlite(rc)),
				 errmsg("could not read SQLite database \"%s\"", conn->path),
				 errdetail_internal("%s", sqlite3_errstr(rc))));
	return true;
}

static void
private_conn_callback(void *arg)
{
	sqlite_close_private((SqliteConn *) arg);
}

/*
 * Run one statement that returns no rows (BEGIN, ROLLBACK...) on "conn".
 */
void
sqlite_exec(SqliteConn *conn, const char *sql)
{
	int			rc = sqlite3_exec(conn->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		sqlite_report(conn, rc, sql);
}

/* Close a cached handle; any statements must already be finalized. */
static void
close_connection(SqliteConn *entry)
{
	Assert(dlist_is_empty(&entry->stmts));
	if (entry->db != NULL)
		sqlite3_close_v2(entry->db);
	entry->db = NULL;
	xact_ended(entry);
}

/* Forget the SQLite transaction of "entry": it has ended. */
static void
xact_ended(SqliteConn *entry)
{
	entry->xact_open = false;
	entry->write_xact = false;
	entry->sp_depth = 0;
}

/* Start the SQLite read transaction of this PostgreSQL transaction. */
static void
begin_read(SqliteConn *entry)
{
	int			rc;

	if (entry->xact_open)
		return;
	rc = sqlite3_exec(entry->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite_report(entry, rc, "BEGIN");
	entry->xact_open = true;
}

/*
 * End whatever the current PostgreSQL transaction left open on "entry":
 * finalize its statements and end the SQLite transaction.  Never raises an
 * ERROR (it runs during abort); a handle that cannot end its transaction is
 * closed instead.
 */
static void
end_transaction(SqliteConn *entry)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &entry->stmts)
		finalize_stmt(dlist_container(SqliteStmt, node, iter.cur));

	if (entry->db != NULL && entry->xact_open)
	{
		int			rc;

		/* a pending cancel must not interrupt the ROLLBACK itself */
		sqlite3_progress_handler(entry->db, 0, NULL, NULL);
		rc = sqlite3_exec(entry->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_progress_handler(entry->db, 1000, sqlite_progress_handler, NULL);
		entry->xact_open = false;
		if (rc != SQLITE_OK && !sqlite3_get_autocommit(entry->db))
			close_connection(entry);
	}
	entry->xact_open = false;
	entry->write_xact = false;
	entry->sp_depth = 0;
	entry->doomed = false;

	if (entry->invalidated && entry->db != NULL)
		close_connection(entry);
}

/*
 * Make this PostgreSQL transaction's SQLite transaction a write transaction
 * and add a savepoint for each open subtransaction.  With nothing read yet,
 * BEGIN IMMEDIATE takes the write lock at once (waiting up to busy_timeout);
 * after a read, SQLite upgrades at the first write.
 */
static void
begin_write(SqliteConn *entry)
{
	int			level = GetCurrentTransactionNestLevel();

	if (sqlite3_db_readonly(entry->db, "main") == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cannot write to SQLite database \"%s\": the server's OS user \"%s\" may not write the file",
						entry->path, server_os_user()),
				 errhint("Give the server's OS user write permission on the file and on its directory (SQLite writes a journal beside it).")));

	if (entry->xact_open && !entry->write_xact &&
		sqlite3_txn_state(entry->db, "main") == SQLITE_TXN_NONE &&
		dlist_is_empty(&entry->stmts))
	{
		/* nothing read yet: start over with the write lock */
		(void) sqlite3_exec(entry->db, "ROLLBACK", NULL, NULL, NULL);
		entry->xact_open = false;
	}
	if (!entry->xact_open)
	{
		int			rc;

		entry->busy_waited = false;
		rc = sqlite3_exec(entry->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			sqlite_report_write(entry, rc, "BEGIN IMMEDIATE", NULL);
		entry->xact_open = true;
	}
	if (!entry->write_xact)
	{
		entry->write_xact = true;
		entry->sp_depth = 1;
	}
	while (entry->sp_depth < level)
	{
		char		sql[64];
		int			rc;

		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", entry->sp_depth + 1);
		rc = sqlite3_exec(entry->db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			sqlite_report_write(entry, rc, sql, NULL);
		entry->sp_depth++;
	}
}

/*
 * SQLite rolls a transaction back by itself after some errors (out of
 * memory, I/O, a full disk), even in a read.  Notice it: a read transaction
 * just ends, a write transaction's changes are gone, so the PostgreSQL
 * transaction may not commit (doomed).  Never raises an ERROR.
 */
static void
check_lost_transaction(SqliteConn *entry)
{
	if (entry->db == NULL || !entry->xact_open ||
		!sqlite3_get_autocommit(entry->db))
		return;
	if (entry->write_xact)
		entry->doomed = true;
	xact_ended(entry);
}

/*
 * Commit the write transaction of "entry" (pre-commit).  An ERROR aborts the
 * PostgreSQL transaction, and the abort rolls the SQLite one back.
 */
static void
commit_write(SqliteConn *entry)
{
	dlist_mutable_iter iter;
	int			rc;

	dlist_foreach_modify(iter, &entry->stmts)
		finalize_stmt(dlist_container(SqliteStmt, node, iter.cur));
	check_lost_transaction(entry);
	if (entry->doomed)
		ereport(ERROR,
				(errcode(ERRCODE_IN_FAILED_SQL_TRANSACTION),
				 errmsg("the SQLite transaction on \"%s\" was rolled back",
						entry->path),
				 errdetail("SQLite rolled back the transaction after an error, or a savepoint could not be rolled back.")));
	entry->busy_waited = false;
	rc = sqlite3_exec(entry->db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		sqlite_report_write(entry, rc, "COMMIT", NULL);
	xact_ended(entry);
}

/*
 * A subtransaction ends: release its savepoint, or roll back to it.  A
 * savepoint that cannot be rolled back takes the whole SQLite transaction
 * with it, and the connection refuses further use until the PostgreSQL
 * transaction ends.
 */
static void
sqlite_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS scan;
	SqliteConn *entry;
	int			level;

	if (event != SUBXACT_EVENT_PRE_COMMIT_SUB &&
		event != SUBXACT_EVENT_ABORT_SUB)
		return;
	/* an error a large-object read caught goes with its subtransaction */
	if (event == SUBXACT_EVENT_ABORT_SUB)
		sqlite_lo_forget_error();
	if (ConnectionHash == NULL)
		return;

	level = GetCurrentTransactionNestLevel();
	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (SqliteConn *) hash_seq_search(&scan)))
	{
		char		sql[96];
		int			rc;

		/* SQLite may have rolled back on its own (out of memory, I/O) */
		if (event == SUBXACT_EVENT_ABORT_SUB)
			check_lost_transaction(entry);
		if (entry->db == NULL || !entry->write_xact || entry->sp_depth < level)
			continue;

		if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		{
			snprintf(sql, sizeof(sql), "RELEASE SAVEPOINT s%d", level);
			rc = sqlite3_exec(entry->db, sql, NULL, NULL, NULL);
			if (rc != SQLITE_OK)
			{
				hash_seq_term(&scan);
				sqlite_report_write(entry, rc, sql, NULL);
			}
			entry->sp_depth = level - 1;
			continue;
		}

		/* abort: no ERROR from here on */
		{
			dlist_iter	it;

			/* a write statement the failure left running would block it */
			dlist_foreach(it, &entry->stmts)
			{
				SqliteStmt *st = dlist_container(SqliteStmt, node, it.cur);

				if (st->stmt && sqlite3_stmt_busy(st->stmt) &&
					!sqlite3_stmt_readonly(st->stmt))
					(void) sqlite3_reset(st->stmt);
			}
		}
		sqlite3_progress_handler(entry->db, 0, NULL, NULL);
		snprintf(sql, sizeof(sql),
				 "ROLLBACK TO SAVEPOINT s%d; RELEASE SAVEPOINT s%d",
				 level, level);
		rc = sqlite3_exec(entry->db, sql, NULL, NULL, NULL);
		sqlite3_progress_handler(entry->db, 1000, sqlite_progress_handler, NULL);
		entry->sp_depth = level - 1;
		if (rc != SQLITE_OK)
		{
			(void) sqlite3_exec(entry->db, "ROLLBACK", NULL, NULL, NULL);
			xact_ended(entry);
			entry->doomed = true;
		}
	}
}

static void
sqlite_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS scan;
	SqliteConn *entry;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			/* SQLite commits first: its failure aborts PostgreSQL's too */
			hash_seq_init(&scan, ConnectionHash);
			while ((entry = (SqliteConn *) hash_seq_search(&scan)))
			{
				if (entry->db != NULL && (entry->write_xact || entry->doomed))
				{
					PG_TRY();
					{
						commit_write(entry);
					}
					PG_CATCH();
					{
						hash_seq_term(&scan);
						PG_RE_THROW();
					}
					PG_END_TRY();
				}
			}
			close_large_objects(true);
			return;
		case XACT_EVENT_PRE_PREPARE:
			hash_seq_init(&scan, ConnectionHash);
			while ((entry = (SqliteConn *) hash_seq_search(&scan)))
			{
				if (entry->write_xact || entry->doomed)
				{
					hash_seq_term(&scan);
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot prepare a transaction that wrote to the %s",
									conn_label(entry)),
							 errhint("Commit the transaction instead: a SQLite file cannot take part in two-phase commit.")));
				}
			}
			close_large_objects(true);
			return;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			break;
		default:
			return;
	}

	close_large_objects(false);
	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (SqliteConn *) hash_seq_search(&scan)))
	{
		end_transaction(entry);

		/*
		 * Forget an entry with no open file (its server was changed or
		 * dropped, or its file never opened): each migration makes and drops
		 * a staging server, so keeping them would grow the table per call.
		 * dynahash allows removing the current entry during a scan.
		 */
		if (entry->db == NULL && dlist_is_empty(&entry->stmts))
		{
			Oid			serverid = entry->serverid;

			if (entry->path)
				pfree(entry->path);
			(void) hash_search(ConnectionHash, &serverid, HASH_REMOVE, NULL);
		}
	}
}

/*
 * Close every handle on a large object: its descriptor lives only as long as
 * the transaction.  At PRE_COMMIT (isCommit), before the transaction's
 * resources are released; at abort, whatever is left.  Never raises an
 * ERROR at abort.
 */
static void
close_large_objects(bool isCommit)
{
	HASH_SEQ_STATUS scan;
	SqliteConn *entry;

	sqlite_lo_set_aborting(!isCommit);
	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (SqliteConn *) hash_seq_search(&scan)))
	{
		if (OidIsValid(entry->large_object) && entry->db != NULL)
		{
			end_transaction(entry);
			close_connection(entry);
		}
	}
	sqlite_lo_xact_end(isCommit);
}

/* A server changed or was dropped: reopen its file when it is next idle. */
static void
sqlite_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	SqliteConn *entry;

	hash_seq_init(&scan, ConnectionHash);
	while ((entry = (SqliteConn *) hash_seq_search(&scan)))
	{
		if (hashvalue == 0 || entry->server_hashvalue == hashvalue)
			entry->invalidated = true;
	}
}

/*
 * Prepare "sql" on "conn".  The statement is finalized by sqlite_finalize(),
 * by the reset of the current memory context, or at transaction end.
 */
SqliteStmt *
sqlite_prepare(SqliteConn *conn, const char *sql)
{
	SqliteStmt *st;
	sqlite3_stmt *stmt = NULL;
	int			rc;

	rc = sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		sqlite_report(conn, rc, sql);
	if (stmt == NULL)
		elog(ERROR, "SQLite statement is empty: %s", sql);

	st = palloc0(sizeof(SqliteStmt));
	st->stmt = stmt;
	st->conn = conn;
	st->sql = pstrdup(sql);
	dlist_push_tail(&conn->stmts, &st->node);
	st->cb.func = stmt_context_callback;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &st->cb);
	return st;
}

/* Step a statement; returns SQLITE_ROW or SQLITE_DONE, or raises an ERROR. */
int
sqlite_step(SqliteStmt *st)
{
	int			rc = sqlite3_step(st->stmt);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		sqlite_report(st->conn, rc, st->sql);
	return rc;
}

/* Reset a statement for another execution and clear its parameters. */
void
sqlite_reset(SqliteStmt *st)
{
	if (st->stmt == NULL)
		return;
	(void) sqlite3_reset(st->stmt);
	(void) sqlite3_clear_bindings(st->stmt);
}

/* Finalize a statement now; harmless if it was finalized already. */
void
sqlite_finalize(SqliteStmt *st)
{
	finalize_stmt(st);
}

static void
finalize_stmt(SqliteStmt *st)
{
	if (st->stmt == NULL)
		return;
	sqlite3_finalize(st->stmt);
	st->stmt = NULL;
	dlist_delete(&st->node);
}

static void
stmt_context_callback(void *arg)
{
	finalize_stmt((SqliteStmt *) arg);
}

/*
 * Raise an ERROR for SQLite result code "rc" on "conn", with SQLite's message
 * in the detail and the SQL in the context.  An interrupted statement is
 * reported as the cancel or termination that interrupted it.
 */
void
sqlite_report(SqliteConn *conn, int rc, const char *sql)
{
	const char *raw = conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc);
	char	   *msg = sqlite_printable(raw, strlen(raw), 1000);
	int			primary = rc & 0xff;

	/* an error a large-object read raised inside SQLite (lovfs.c) */
	sqlite_lo_rethrow();
	/* a cancel that stopped a wait or a statement is reported as such */
	CHECK_FOR_INTERRUPTS();
	if (primary == SQLITE_INTERRUPT)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to user request")));

	ereport(ERROR,
			(errcode(errcode_for_sqlite(rc)),
			 errmsg("could not read SQLite database \"%s\"", conn->path),
			 errdetail_for_sqlite(rc, msg, conn),
			 errhint_for_sqlite(rc, conn),
			 sql ? errcontext("SQLite statement: %s", sql) : 0));
}

/*
 * The message of each SQLite constraint failure, naming the table or file
 * (its SQLSTATE: errcode_for_write).
 */
static const struct
{
	int			rc;
	const char *message;
}			constraint_messages[] =
{
	{SQLITE_CONSTRAINT_UNIQUE, gettext_noop("duplicate key value violates a unique constraint of %s")},
	{SQLITE_CONSTRAINT_PRIMARYKEY, gettext_noop("duplicate key value violates a unique constraint of %s")},
	{SQLITE_CONSTRAINT_ROWID, gettext_noop("duplicate key value violates a unique constraint of %s")},
	{SQLITE_CONSTRAINT_NOTNULL, gettext_noop("null value violates a not-null constraint of %s")},
	{SQLITE_CONSTRAINT_CHECK, gettext_noop("new row violates a check constraint of %s")},
	{SQLITE_CONSTRAINT_FOREIGNKEY, gettext_noop("a change to %s violates a foreign key constraint")},
	{SQLITE_CONSTRAINT_TRIGGER, gettext_noop("a trigger of %s refused the change")},
	{SQLITE_CONSTRAINT_DATATYPE, gettext_noop("a value does not fit a column of STRICT %s")},
};

/*
 * Raise an ERROR for SQLite result code "rc" from a write to SQLite table
 * "table" (NULL: the transaction itself, BEGIN or COMMIT).  Constraint
 * failures get PostgreSQL's SQLSTATEs, with SQLite's message in the detail;
 * a write that lost a race with another connection gets 40001, so the
 * caller retries.
 */
void
sqlite_report_write(SqliteConn *conn, int rc, const char *sql,
					const char *table)
{
	const char *raw = conn->db ? sqlite3_errmsg(conn->db) : sqlite3_errstr(rc);
	char	   *msg = sqlite_printable(raw, strlen(raw), 1000);
	int			code = errcode_for_write(rc, conn);
	char	   *what;
	int			i;

	sqlite_lo_rethrow();
	CHECK_FOR_INTERRUPTS();
	if ((rc & 0xff) == SQLITE_INTERRUPT)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling statement due to user request")));

	what = table ? psprintf("SQLite table \"%s\"", table) : conn_label(conn);

	for (i = 0; i < (int) lengthof(constraint_messages); i++)
	{
		if (constraint_messages[i].rc != rc)
			continue;
		ereport(ERROR,
				(errcode(code),
				 errmsg(constraint_messages[i].message, what),
				 errdetail("SQLite: %s.", msg),
				 (rc == SQLITE_CONSTRAINT_FOREIGNKEY && table == NULL) ?
				 errhint("A deferred foreign key of the SQLite file was still violated at commit.") : 0));
	}

	if (code == ERRCODE_LOCK_NOT_AVAILABLE)
		ereport(ERROR,
				(errcode(code),
				 errmsg("could not obtain the write lock on the %s", conn_label(conn)),
				 errdetail("Another connection held it for longer than busy_timeout (%d ms).",
						   conn->busy_timeout),
				 errhint("Raise the server option \"busy_timeout\" to wait longer.")));

	if (code == ERRCODE_T_R_SERIALIZATION_FAILURE)
		ereport(ERROR,
				(errcode(code),
				 errmsg("could not serialize access to %s", what),
				 errdetail("Another connection wrote to the file after this transaction read it (SQLite: %s).",
						   msg),
				 errhint("Retry the transaction.")));

	ereport(ERROR,
			(errcode(code),
			 table ? errmsg("could not write to %s in \"%s\"", what, conn->path) :
			 errmsg("could not write to %s", what),
			 errdetail_for_sqlite(rc, msg, conn),
			 errhint_for_sqlite(rc, conn),
			 sql ? errcontext("SQLite statement: %s", sql) : 0));
}

/*
 * "SQLite database of server "name"" for messages about a cached connection
 * (stable, unlike the path), else "SQLite database "path"".
 */
static char *
conn_label(SqliteConn *conn)
{
	ForeignServer *server = NULL;

	if (OidIsValid(conn->serverid))
		server = GetForeignServerExtended(conn->serverid, FSV_MISSING_OK);
	if (server != NULL)
		return psprintf("SQLite database of server \"%s\"", server->servername);
	return psprintf("SQLite database \"%s\"", conn->path);
}

/*
 * Defer the file's foreign key checks to the end of the SQLite transaction
 * (TRUNCATE of tables that reference each other).  SQLite resets the
 * setting when the transaction ends.
 */
void
sqlite_defer_foreign_keys(SqliteConn *conn)
{
	int			rc;

	allow_defer_pragma = true;
	rc = sqlite3_exec(conn->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL);
	allow_defer_pragma = false;
	if (rc != SQLITE_OK)
		sqlite_report_write(conn, rc, "PRAGMA defer_foreign_keys = ON", NULL);
}

/* Reset the record of busy waits before a write (see errcode_for_write). */
void
sqlite_busy_reset(SqliteConn *conn)
{
	conn->busy_waited = false;
}

/*
 * The SQLSTATE for SQLite result code "rc" from a write.  SQLITE_BUSY that
 * the busy handler never saw is SQLite refusing to wait because waiting
 * could deadlock (this transaction read the file, another wants to commit),
 * and a stale WAL snapshot is a lost race: both are serialization failures.
 */
static int
errcode_for_write(int rc, SqliteConn *conn)
{
	switch (rc)
	{
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
		case SQLITE_CONSTRAINT_ROWID:
			return ERRCODE_UNIQUE_VIOLATION;
		case SQLITE_CONSTRAINT_NOTNULL:
			return ERRCODE_NOT_NULL_VIOLATION;
		case SQLITE_CONSTRAINT_CHECK:
			return ERRCODE_CHECK_VIOLATION;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return ERRCODE_FOREIGN_KEY_VIOLATION;
		case SQLITE_CONSTRAINT_TRIGGER:
			return ERRCODE_TRIGGERED_ACTION_EXCEPTION;
		case SQLITE_CONSTRAINT_DATATYPE:
			return ERRCODE_DATATYPE_MISMATCH;
		case SQLITE_BUSY_SNAPSHOT:
			return ERRCODE_T_R_SERIALIZATION_FAILURE;
		default:
			break;
	}
	if ((rc & 0xff) == SQLITE_BUSY && !conn->busy_waited &&
		conn->busy_timeout > 0)
		return ERRCODE_T_R_SERIALIZATION_FAILURE;
	if ((rc & 0xff) == SQLITE_READONLY && rc == SQLITE_READONLY)
		return ERRCODE_INSUFFICIENT_PRIVILEGE;
	return errcode_for_sqlite(rc);
}

/*
 * Add the detail for SQLite result code "rc" with SQLite's message "msg"
 * (for ereport).  SQLite says "attempt to write a readonly database" for
 * several states of the files beside the database that a read-only
 * connection cannot repair: say which.
 */
static int
errdetail_for_sqlite(int rc, const char *msg, SqliteConn *conn)
{
	switch (rc)
	{
		case SQLITE_READONLY_ROLLBACK:
			return errdetail("A writer stopped in the middle of a transaction and left the hot journal \"%s-journal\". SQLite must roll it back before the file can be read, and the server opens the file read-only (SQLite: %s).",
							 conn->path, msg);
		case SQLITE_READONLY_RECOVERY:
			return errdetail("The file's \"-wal\" file must be recovered before the file can be read, and the server opens the file read-only (SQLite: %s).",
							 msg);
		case SQLITE_READONLY_DIRECTORY:
			return errdetail("SQLite must create a \"-wal\" or \"-shm\" file beside the file to read it, and the server's OS user \"%s\" cannot write to the directory (SQLite: %s).",
							 server_os_user(), msg);
		case SQLITE_READONLY_CANTINIT:
			return errdetail("The server's OS user \"%s\" cannot write \"%s-shm\", and no process that can write it has the file open (SQLite: %s).",
							 server_os_user(), conn->path, msg);
		default:
			return errdetail_internal("%s", msg);
	}
}

/* Add the hint that fits SQLite result code "rc", if any (for ereport). */
static int
errhint_for_sqlite(int rc, SqliteConn *conn)
{
	switch (rc)
	{
		case SQLITE_READONLY_ROLLBACK:
		case SQLITE_READONLY_RECOVERY:
		case SQLITE_READONLY_CANTINIT:
			return errhint("Have the file's owner open it once, for example with: sqlite3 \"%s\" \"PRAGMA quick_check\". This completes the recovery. Then try again.",
						   conn->path);
		case SQLITE_READONLY_DIRECTORY:
			return errhint("Read the file while the application has it open (its \"-wal\" and \"-shm\" files then exist), or read a copy made by the file's owner with: sqlite3 \"%s\" \"VACUUM INTO '/path/to/copy.db'\".",
						   conn->path);
		default:
			break;
	}

	switch (rc & 0xff)
	{
		case SQLITE_BUSY:
		case SQLITE_LOCKED:
			return errhint("Another process holds a lock on the file. Raise the server option \"busy_timeout\" (now %d ms) to wait longer.",
						   conn->busy_timeout);
		case SQLITE_NOMEM:
			return errhint("SQLite ran out of memory. Raise \"sqlite_fdw_mig.sqlite_memory_limit\" if the file is trusted.");
		case SQLITE_CORRUPT:
		case SQLITE_NOTADB:
			return errhint("The file is damaged. Check it with: sqlite3 FILE \"PRAGMA integrity_check\".");
		default:
			return 0;
	}
}

/* The SQLSTATE for a SQLite result code. */
static int
errcode_for_sqlite(int rc)
{
	switch (rc)
	{
		case SQLITE_READONLY_ROLLBACK:
		case SQLITE_READONLY_RECOVERY:
			return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
		case SQLITE_READONLY_DIRECTORY:
		case SQLITE_READONLY_CANTINIT:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		default:
			break;
	}

	switch (rc & 0xff)
	{
		case SQLITE_BUSY:
		case SQLITE_LOCKED:
			return ERRCODE_LOCK_NOT_AVAILABLE;
		case SQLITE_NOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case SQLITE_CORRUPT:
		case SQLITE_NOTADB:
			return ERRCODE_DATA_CORRUPTED;
		case SQLITE_IOERR:
			return ERRCODE_IO_ERROR;
		case SQLITE_CANTOPEN:
			return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
		case SQLITE_FULL:
			return ERRCODE_DISK_FULL;
		case SQLITE_TOOBIG:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case SQLITE_AUTH:
		case SQLITE_PERM:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case SQLITE_READONLY:
			return ERRCODE_READ_ONLY_SQL_TRANSACTION;
		case SQLITE_CONSTRAINT:
			return ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;
		case SQLITE_INTERRUPT:
			return ERRCODE_QUERY_CANCELED;
		default:
			return ERRCODE_FDW_ERROR;
	}
}

/*
 * SQLite calls this while a lock it needs is held by another process.
 * Wait on the latch in short, growing steps until busy_timeout has passed,
 * and stop at once on cancel or termination.  Returns 0 to give up.
 */
static int
sqlite_busy_handler(void *arg, int count)
{
	SqliteConn *entry = (SqliteConn *) arg;
	TimestampTz now = GetCurrentTimestamp();
	long		elapsed;
	long		sleep_ms;

	if (QueryCancelPending || ProcDiePending)
		return 0;
	entry->busy_waited = true;
	if (count == 0)
		entry->busy_start = now;
	elapsed = TimestampDifferenceMilliseconds(entry->busy_start, now);
	if (elapsed >= entry->busy_timeout)
		return 0;

	sleep_ms = Min(1L << Min(count, 7), 100L);
	sleep_ms = Min(sleep_ms, entry->busy_timeout - elapsed);
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 sleep_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return (QueryCancelPending || ProcDiePending) ? 0 : 1;
}

/* Interrupt a running SQLite statement when the query is canceled. */
static int
sqlite_progress_handler(void *arg)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/*
 * Refuse ATTACH, DETACH and pragmas other than the catalog readers.  The
 * handle is opened read-only with query_only set, so writes fail anyway
 * (and SQLite checks internal UPDATEs of sqlite_schema here while it loads
 * the schema, so they cannot be refused); this keeps a name or expression
 * from the file from reaching another file or changing a setting.
 */
static int
sqlite_authorizer(void *arg, int action, const char *a1, const char *a2,
				  const char *a3, const char *a4)
{
	int			i;

	switch (action)
	{
		case SQLITE_ATTACH:
		case SQLITE_DETACH:
			return SQLITE_DENY;
		case SQLITE_PRAGMA:
			/* set by sqlite_defer_foreign_keys alone */
			if (allow_defer_pragma && a1 != NULL &&
				sqlite3_stricmp(a1, "defer_foreign_keys") == 0)
				return SQLITE_OK;
			for (i = 0; allowed_pragmas[i] != NULL; i++)
			{
				if (a1 != NULL && sqlite3_stricmp(a1, allowed_pragmas[i]) == 0)
					return SQLITE_OK;
			}
			return SQLITE_DENY;
		default:
			return SQLITE_OK;
	}
}

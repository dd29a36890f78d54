/*-------------------------------------------------------------------------
 *
 * lovfs.c
 *		  A read-only SQLite VFS whose main database file is a PostgreSQL
 *		  large object: SQLite reads an uploaded file page by page, on
 *		  demand, and nothing is written to the server's disk for it.
 *
 * The large object is opened with inv_open(INV_READ) in the caller's
 * transaction: it is read under the snapshot active at the open, registered
 * for the transaction (a concurrent lo_put or lo_unlink cannot change what
 * is read), its SELECT privilege is checked as the current user (and again
 * at every later use of the handle), and its descriptor is closed when the
 * connection is closed, at the latest at the end of the transaction
 * (connection.c).
 *
 * A large-object read can raise a PostgreSQL error (a cancel, a damaged
 * page).  SQLite calls us and must not be longjmp'd through, so each
 * callback catches the error, keeps it, and returns an I/O error to SQLite;
 * the connection code re-throws it (sqlite_lo_rethrow) once the SQLite call
 * has returned.  After an error every read fails at once.
 *
 * The file is opened immutable (no locks, no journal, no change detection).
 * A file uploaded in WAL mode arrives without its "-wal": its header is
 * shown to SQLite as a rollback-journal file so the pages it has are read,
 * and the open warns that rows committed only in the "-wal" are missing.
 * SQLite's temporary files (large sorts) go to the default VFS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq/libpq-fs.h"
#include "miscadmin.h"
#include "storage/large_object.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "sqlite_fdw_mig.h"

#define LO_VFS_NAME "sqlite_fdw_mig_lo"
#define LO_PATH_PREFIX "/sqlite_fdw_mig_lo/"

/* An open large object, as SQLite's file. */
typedef struct LoFile
{
	sqlite3_file base;			/* must be first */
	LargeObjectDesc *desc;		/* NULL once closed */
	int64		size;
	bool		patch_wal;		/* show header bytes 18-19 as 1, 1 */
} LoFile;

static sqlite3_vfs lo_vfs;
static sqlite3_vfs *default_vfs;

/* The descriptor sqlite_lo_open_uri() opened, for xOpen to take. */
static LargeObjectDesc *pending_desc = NULL;
static Oid	pending_oid = InvalidOid;
static int64 pending_size = 0;
static bool pending_wal = false;

/* The error a callback caught, to re-throw after SQLite returns. */
static ErrorData *saved_error = NULL;

/* inv_api.c's relations were opened in this transaction */
static bool lo_used = false;

/* closing during an abort: the resource owner releases the snapshots */
static bool lo_aborting = false;

static void
keep_error(MemoryContext cxt)
{
	/* freed with the transaction, if never re-thrown */
	MemoryContextSwitchTo(TopTransactionContext);
	if (saved_error == NULL)
		saved_error = CopyErrorData();
	FlushErrorState();
	MemoryContextSwitchTo(cxt);
}

/*
 * Re-throw the PostgreSQL error a VFS callback caught, if any.  Called
 * wherever a SQLite error is reported, so the user sees the real cause.
 */
void
sqlite_lo_rethrow(void)
{
	ErrorData  *edata = saved_error;

	if (edata == NULL)
		return;
	saved_error = NULL;
	/* the copy is in TopTransactionContext, freed with the transaction */
	ReThrowError(edata);
}

/*
 * Forget a caught error that was not re-thrown: at the abort of the
 * subtransaction it happened in (its resources are released with it).
 */
void
sqlite_lo_forget_error(void)
{
	saved_error = NULL;
}

/* Closing handles during an abort (no snapshot to unregister), or not. */
void
sqlite_lo_set_aborting(bool aborting)
{
	lo_aborting = aborting;
}

/*
 * The current user must be allowed to read large object "loid": checked at
 * every use of an open handle, since a handle opened by one role (a
 * SECURITY DEFINER function, SET ROLE) stays open for the transaction.
 */
void
sqlite_lo_check_access(Oid loid, Snapshot snapshot)
{
	/* in the snapshot the large object is read in */
	if (!lo_compat_privileges &&
		pg_largeobject_aclcheck_snapshot(loid, GetUserId(), ACL_SELECT,
										 snapshot) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for large object %u", loid),
				 errhint("Its owner can allow it: GRANT SELECT ON LARGE OBJECT %u TO %s.",
						 loid, quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/*
 * At the end of a transaction, once every handle on a large object is
 * closed: forget a caught error and a descriptor no open took (its memory
 * and snapshot go with the transaction), and close the relations inv_api.c
 * keeps open for the transaction.  PostgreSQL closes them only when the
 * SQL-level large-object functions were used; on commit they must be closed
 * before the resource owner is released (isCommit), on abort the release
 * does it.
 */
void
sqlite_lo_xact_end(bool isCommit)
{
	/* a caught error never re-thrown: the commit must not go through */
	if (isCommit)
		sqlite_lo_rethrow();
	saved_error = NULL;			/* in TopTransactionContext */
	lo_aborting = false;
	pending_desc = NULL;
	pending_oid = InvalidOid;
	if (lo_used)
		close_lo_relation(isCommit);
	lo_used = false;
}

static int
lo_close(sqlite3_file *f)
{
	LoFile	   *lf = (LoFile *) f;
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = SQLITE_OK;

	if (lf->desc == NULL)
		return SQLITE_OK;
	PG_TRY();
	{
		/* on abort the resource owner releases it */
		if (lf->desc->snapshot != NULL && !lo_aborting)
			UnregisterSnapshotFromOwner(lf->desc->snapshot,
										TopTransactionResourceOwner);
		inv_close(lf->desc);
	}
	PG_CATCH();
	{
		keep_error(cxt);
		rc = SQLITE_IOERR_CLOSE;
	}
	PG_END_TRY();
	lf->desc = NULL;
	return rc;
}

static int
lo_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	LoFile	   *lf = (LoFile *) f;
	MemoryContext cxt = CurrentMemoryContext;
	volatile int got = 0;
	volatile bool failed = false;

	if (lf->desc == NULL || saved_error != NULL)
		return SQLITE_IOERR_READ;
	if (off < lf->size)
	{
		PG_TRY();
		{
			if (inv_seek(lf->desc, (int64) off, SEEK_SET) != (int64) off)
				elog(ERROR, "could not seek in large object");
			got = inv_read(lf->desc, buf, amt);
		}
		PG_CATCH();
		{
			keep_error(cxt);
			failed = true;
		}
		PG_END_TRY();
	}
	if (failed)
		return SQLITE_IOERR_READ;

	/* a WAL-mode header read as rollback-journal (file header, bytes 18-19) */
	if (lf->patch_wal && off <= 19 && off + got > 18)
	{
		if (off <= 18)
			((unsigned char *) buf)[18 - off] = 1;
		if (off + got > 19)
			((unsigned char *) buf)[19 - off] = 1;
	}
	if (got < amt)
	{
		memset((char *) buf + got, 0, amt - got);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int
lo_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	return SQLITE_READONLY;
}

static int
lo_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return SQLITE_READONLY;
}

static int
lo_sync(sqlite3_file *f, int flags)
{
	return SQLITE_OK;
}

static int
lo_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	*size = ((LoFile *) f)->size;
	return SQLITE_OK;
}

static int
lo_lock(sqlite3_file *f, int level)
{
	return SQLITE_OK;
}

static int
lo_check_reserved_lock(sqlite3_file *f, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int
lo_file_control(sqlite3_file *f, int op, void *arg)
{
	return SQLITE_NOTFOUND;
}

static int
lo_sector_size(sqlite3_file *f)
{
	return 4096;
}

static int
lo_device_characteristics(sqlite3_file *f)
{
	return SQLITE_IOCAP_IMMUTABLE;
}

static const sqlite3_io_methods lo_io_methods = {
	1,							/* iVersion */
	lo_close,
	lo_read,
	lo_write,
	lo_truncate,
	lo_sync,
	lo_file_size,
	lo_lock,
	lo_lock,					/* xUnlock */
	lo_check_reserved_lock,
	lo_file_control,
	lo_sector_size,
	lo_device_characteristics,
	NULL, NULL, NULL, NULL,		/* no shared memory (version 2) */
	NULL, NULL					/* no memory mapping (version 3) */
};

/*
 * xOpen: the main database is the large object sqlite_lo_open_uri() has
 * just opened; temporary files are the default VFS's; anything else (a
 * journal, a WAL) cannot be opened.
 */
static int
lo_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		int *out_flags)
{
	LoFile	   *lf = (LoFile *) f;
	char		expected[64];

	if (flags & (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL |
				 SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_SUBJOURNAL))
		return default_vfs->xOpen(default_vfs, name, f, flags, out_flags);

	f->pMethods = NULL;
	snprintf(expected, sizeof(expected), LO_PATH_PREFIX "%u", pending_oid);
	if (!(flags & SQLITE_OPEN_MAIN_DB) || (flags & SQLITE_OPEN_READWRITE) ||
		pending_desc == NULL || name == NULL || strcmp(name, expected) != 0)
		return SQLITE_CANTOPEN;

	memset(lf, 0, sizeof(LoFile));
	lf->desc = pending_desc;
	lf->size = pending_size;
	lf->patch_wal = pending_wal;
	pending_desc = NULL;
	f->pMethods = &lo_io_methods;
	if (out_flags)
		*out_flags = SQLITE_OPEN_READONLY;
	return SQLITE_OK;
}

static int
lo_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return SQLITE_IOERR_DELETE;
}

/* No journal, WAL or shared-memory file ever exists beside a large object. */
static int
lo_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	*out = 0;
	return SQLITE_OK;
}

static int
lo_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	if ((int) strlen(name) >= n)
		return SQLITE_CANTOPEN;
	strcpy(out, name);
	return SQLITE_OK;
}

static int
lo_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return default_vfs->xRandomness(default_vfs, n, out);
}

static int
lo_sleep(sqlite3_vfs *vfs, int usec)
{
	return default_vfs->xSleep(default_vfs, usec);
}

static int
lo_current_time(sqlite3_vfs *vfs, double *out)
{
	return default_vfs->xCurrentTime(default_vfs, out);
}

static int
lo_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return 0;
}

/* Register the VFS (not as the default).  Called once, from _PG_init. */
void
sqlite_lo_vfs_register(void)
{
	int			rc;

	default_vfs = sqlite3_vfs_find(NULL);
	if (default_vfs == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("SQLite has no default VFS")));
	memset(&lo_vfs, 0, sizeof(lo_vfs));
	lo_vfs.iVersion = 1;
	lo_vfs.szOsFile = Max((int) sizeof(LoFile), default_vfs->szOsFile);
	lo_vfs.mxPathname = Max(64, default_vfs->mxPathname);
	lo_vfs.zName = LO_VFS_NAME;
	lo_vfs.xOpen = lo_open;
	lo_vfs.xDelete = lo_delete;
	lo_vfs.xAccess = lo_access;
	lo_vfs.xFullPathname = lo_full_pathname;
	lo_vfs.xRandomness = lo_randomness;
	lo_vfs.xSleep = lo_sleep;
	lo_vfs.xCurrentTime = lo_current_time;
	lo_vfs.xGetLastError = lo_get_last_error;
	rc = sqlite3_vfs_register(&lo_vfs, 0);
	if (rc != SQLITE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not register the SQLite large-object VFS: %s",
						sqlite3_errstr(rc))));
}

/*
 * Open large object "loid" for reading in the current transaction (raising
 * 42704 if it does not exist, 42501 without SELECT on it), check that it
 * holds a SQLite database, and return the URI under which sqlite3_open_v2()
 * opens it through this VFS; the open takes the descriptor.  Call
 * sqlite_lo_open_done() after sqlite3_open_v2(), whatever it returned.
 * "label" names the large object in messages.  *snapshot is set to the
 * snapshot it is read in, registered until the handle is closed.
 */
char *
sqlite_lo_open_uri(Oid loid, const char *label, Snapshot *snapshot)
{
	LargeObjectDesc *desc;
	unsigned char header[100];
	volatile int64 size = 0;
	volatile int got = 0;

	sqlite_lo_open_done();
	lo_used = true;
	desc = inv_open(loid, INV_READ, TopTransactionContext);
	PG_TRY();
	{
		size = inv_seek(desc, 0, SEEK_END);
		(void) inv_seek(desc, 0, SEEK_SET);
		got = size > 0 ? inv_read(desc, (char *) header, sizeof(header)) : 0;
		if (size == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not open SQLite database in %s: it is empty",
							label),
					 errhint("Upload the file again: \\lo_import in psql, or lo_from_bytea().")));
		if (got < (int) sizeof(header) ||
			memcmp(header, "SQLite format 3", 16) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not open SQLite database in %s: it is not a SQLite 3 database",
							label),
					 errdetail("Its first bytes are not SQLite's header (\"SQLite format 3\")."),
					 errhint("Upload the database file itself, not a compressed or exported copy.")));
	}
	PG_CATCH();
	{
		inv_close(desc);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/*
	 * inv_open() lends the active snapshot, which may end with the
	 * statement; keep our own registration of it for the transaction (as
	 * lo_open() does), so every statement reads the same image.
	 */
	if (desc->snapshot != NULL)
		desc->snapshot = RegisterSnapshotOnOwner(desc->snapshot,
												 TopTransactionResourceOwner);

	pending_wal = (header[18] == 2 || header[19] == 2);
	if (pending_wal)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s holds a SQLite database in WAL mode: rows committed only in its \"-wal\" file are missing",
						label),
				 errdetail("The \"-wal\" file beside a database in WAL mode holds its latest commits until a checkpoint; it was not uploaded."),
				 errhint("Upload a single-file copy instead: sqlite3 app.db \"VACUUM INTO 'upload.db'\".")));
	*snapshot = desc->snapshot;
	pending_desc = desc;
	pending_oid = loid;
	pending_size = size;
	return psprintf("file:" LO_PATH_PREFIX "%u?vfs=" LO_VFS_NAME "&immutable=1&mode=ro",
					loid);
}

/* After sqlite3_open_v2(): close the descriptor if SQLite did not take it. */
void
sqlite_lo_open_done(void)
{
	if (pending_desc != NULL)
	{
		if (pending_desc->snapshot != NULL)
			UnregisterSnapshotFromOwner(pending_desc->snapshot,
										TopTransactionResourceOwner);
		inv_close(pending_desc);
	}
	pending_desc = NULL;
	pending_oid = InvalidOid;
}

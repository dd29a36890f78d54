--
-- Writes through foreign tables, opt-in with the option updatable: every
-- path, the SQLSTATE of each SQLite constraint, RETURNING, SQLite's
-- defaults, COPY, TRUNCATE, savepoints, the check that SQLite stored each
-- value exactly, and ROLLBACK leaving the file byte for byte the same.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set db :abs_srcdir '/test/fixtures/writes.db'
\set mig_helpers :abs_srcdir '/test/mig_helpers.sql'

CREATE EXTENSION sqlite_fdw_mig;
\i :mig_helpers
SELECT set_config('regress.db', :'db', false) IS NOT NULL AS set;
CREATE FUNCTION file_md5() RETURNS text LANGUAGE sql
  AS $$ SELECT md5(pg_read_binary_file(current_setting('regress.db'))) $$;
CREATE TABLE sums (label text PRIMARY KEY, md5 text);
INSERT INTO sums SELECT 'start', file_md5();

-- read-only unless allowed: no write reaches the file
CREATE SERVER ro FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'db');
CREATE SCHEMA r;
IMPORT FOREIGN SCHEMA main LIMIT TO (t, seq) FROM SERVER ro INTO r;
SELECT show_error($$INSERT INTO r.t (name) VALUES ('x')$$);
SELECT show_error($$UPDATE r.t SET i = 0$$);
SELECT show_error($$DELETE FROM r.t$$);
SELECT show_error($$TRUNCATE r.seq$$);
SELECT show_error($$COPY r.seq FROM PROGRAM 'true'$$);
SELECT table_name, is_insertable_into FROM information_schema.tables
  WHERE table_schema = 'r' ORDER BY 1;
SELECT (SELECT md5 FROM sums WHERE label = 'start') = file_md5() AS unchanged;

-- setting updatable takes pg_write_server_files; its value must be a boolean
SELECT show_error($$CREATE SERVER bad FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x', updatable 'maybe')$$);
SELECT show_error($$CREATE SERVER bad FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x', batch_size '0')$$);
CREATE ROLE reader_only;
GRANT pg_read_server_files TO reader_only;
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO reader_only;
SET ROLE reader_only;
SELECT show_error($$CREATE SERVER rs FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x', updatable 'true')$$);
SELECT show_error($$CREATE SERVER rs FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database '/x', updatable 'false')$$);
RESET ROLE;
DROP SERVER rs;
REVOKE USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig FROM reader_only;
DROP ROLE reader_only;

-- the writable server
CREATE SERVER rw FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'db', updatable 'true');
CREATE SCHEMA w;
IMPORT FOREIGN SCHEMA main FROM SERVER rw INTO w;
-- raw storage classes, to see what SQLite stored
CREATE FOREIGN TABLE w.t_raw (id bigint, name sqlite_value, n sqlite_value,
  i sqlite_value, f sqlite_value, d sqlite_value, flag sqlite_value,
  data sqlite_value, j sqlite_value, u sqlite_value)
  SERVER rw OPTIONS (table 't');
CREATE FUNCTION show(v sqlite_value) RETURNS text LANGUAGE sql AS $$
  SELECT v.storage_class || ' ' || coalesce(v.int_value::text, v.real_value::text,
    CASE WHEN v.storage_class = 'text' THEN convert_from(v.bytes, 'UTF8') ELSE v.bytes::text END, '')
$$;

-- INSERT sends only the columns given: SQLite assigns the rowid and its
-- DEFAULT fills d; RETURNING shows the row as stored
INSERT INTO w.t (name, n, i, f, flag, data, j, u)
  VALUES ('three', 3.25, 3, 1.5, true, '\x0102', '{"a": [1, 2]}',
          'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
  RETURNING *;
INSERT INTO w.t (id, name) VALUES (NULL, 'four') RETURNING id, name, d;
INSERT INTO w.t (name, n) SELECT 'gen' || g, g * 1.25 FROM generate_series(1, 3) g;
SELECT id, show(name), show(n), show(i), show(f), show(d), show(flag),
       show(data), show(j), show(u) FROM w.t_raw ORDER BY id;

-- SQLite's constraints as PostgreSQL's SQLSTATEs, SQLite's message in the
-- detail; each failed write is rolled back to its savepoint
SELECT show_error($$INSERT INTO w.t (name) VALUES ('one')$$);
SELECT show_error($$INSERT INTO w.t (id, name) VALUES (1, 'other')$$);
SELECT show_error($$INSERT INTO w.t (name) VALUES (NULL)$$);
SELECT show_error($$INSERT INTO w.chk VALUES (1, -1)$$);
SELECT show_error($$INSERT INTO w.child VALUES (30, 99)$$);
SELECT show_error($$INSERT INTO w.guarded (v) VALUES ('x')$$);
CREATE FOREIGN TABLE w.strict_text (id bigint, n text)
  SERVER rw OPTIONS (table 'strict_t');
SELECT show_error($$INSERT INTO w.strict_text VALUES (1, 'abc')$$);
SELECT count(*) FROM w.t;
-- ON CONFLICT DO NOTHING skips a duplicate key and nothing else
INSERT INTO w.t (name) VALUES ('one') ON CONFLICT DO NOTHING RETURNING id;
SELECT show_error($$INSERT INTO w.t (name) VALUES (NULL) ON CONFLICT DO NOTHING$$);
SELECT show_error($$INSERT INTO w.chk VALUES (2, -5) ON CONFLICT DO NOTHING$$);
SELECT show_error($$INSERT INTO w.t (name) VALUES ('one') ON CONFLICT (name) DO UPDATE SET i = 0$$);
-- the file's triggers run: the audit trigger logged the allowed insert
INSERT INTO w.guarded (v) VALUES ('ok');
SELECT * FROM w.audit;

-- a value SQLite would not store exactly is refused, naming column, value
-- and what SQLite made of it
SELECT show_error($$INSERT INTO w.t (name, n) VALUES ('lossy', 0.12345678901234567890123)$$);
SELECT show_error($$INSERT INTO w.t (name, f) VALUES ('nan', 'NaN')$$);
CREATE FOREIGN TABLE w.t_text (id bigint, name text, i text, n text)
  SERVER rw OPTIONS (table 't');
SELECT show_error($$INSERT INTO w.t_text (name, i) VALUES ('lead0', '0123')$$);
SELECT show_error($$INSERT INTO w.t_text (name, i) VALUES ('spaces', ' 12 ')$$);
INSERT INTO w.t_text (name, i) VALUES ('plain', '123') RETURNING name, i;
SELECT show(i) FROM w.t_raw WHERE show(name) = 'text plain';
-- numeric: exact integers and decimals SQLite keeps pass; SQLite keeps a
-- number, not its scale, so 1.10 reads back as the equal 1.1
INSERT INTO w.t (name, n) VALUES ('exact', 12345678901234567), ('scaled', 1.10)
  RETURNING name, n;

-- UPDATE and DELETE find rows by the INTEGER PRIMARY KEY...
UPDATE w.t SET i = i + 10, n = n * 2 WHERE name IN ('one', 'two') RETURNING id, name, n, i;
-- ...also when it moves every row: each row is read once, before any write
UPDATE w.t SET id = id + 1000 WHERE id <= 3;
SELECT id, name FROM w.t ORDER BY id;
-- ...by the rowid, through the ctid, when it is no column...
UPDATE w.nokey SET y = y * 10 WHERE x IN ('a', 'neg') RETURNING *;
SELECT show_error($$UPDATE w.nokey SET y = 0 WHERE x = 'huge'$$);
DELETE FROM w.nokey WHERE x = 'b' RETURNING *;
-- ...by the primary key of a WITHOUT ROWID table, also when it changes...
UPDATE w.wr SET b = b + 10 WHERE a = 'x' RETURNING *;
DELETE FROM w.wr WHERE a = 'y' AND b = 1 RETURNING *;
SELECT * FROM w.wr ORDER BY a, b;
-- ...or by columns marked key 'true'
CREATE FOREIGN TABLE w.nokey_k (x text OPTIONS (key 'true'), y bigint)
  SERVER rw OPTIONS (table 'nokey');
UPDATE w.nokey_k SET y = -1 WHERE x = 'huge' RETURNING *;
-- a key that matches several rows changes nothing
INSERT INTO w.nokey (x, y) VALUES ('dup', 1), ('dup', 2);
SELECT show_error($$UPDATE w.nokey_k SET y = 7 WHERE x = 'dup'$$);
SELECT x, y FROM w.nokey ORDER BY x, y;
-- the file's ON DELETE CASCADE applies
DELETE FROM w.parent WHERE id = 1;
SELECT * FROM w.child ORDER BY id;
-- INSERT ... SELECT from the same table reads it before writing
INSERT INTO w.wr SELECT a || '2', b, v FROM w.wr;
SELECT count(*) FROM w.wr;

-- EXPLAIN VERBOSE shows the SQLite statements
EXPLAIN (VERBOSE, COSTS OFF) INSERT INTO w.t (name, i) VALUES ('e', 1);
EXPLAIN (VERBOSE, COSTS OFF) UPDATE w.t SET i = 0 WHERE id = 1 RETURNING name;
EXPLAIN (VERBOSE, COSTS OFF) DELETE FROM w.nokey WHERE y = 1;

-- subtransactions are SQLite savepoints
BEGIN;
INSERT INTO w.seq (v) VALUES ('kept1');
SAVEPOINT a;
INSERT INTO w.seq (v) VALUES ('undone');
ROLLBACK TO a;
INSERT INTO w.seq (v) VALUES ('kept2');
SAVEPOINT b;
DELETE FROM w.seq WHERE v = 'a';
RELEASE b;
COMMIT;
SELECT * FROM w.seq ORDER BY id;

-- ROLLBACK leaves the file byte for byte as it was
INSERT INTO sums SELECT 'before rollback', file_md5();
BEGIN;
INSERT INTO w.t (name) VALUES ('gone');
UPDATE w.t SET i = 0;
DELETE FROM w.wr;
TRUNCATE w.seq;
SELECT count(*) FROM w.wr;
ROLLBACK;
SELECT (SELECT md5 FROM sums WHERE label = 'before rollback') = file_md5() AS unchanged;
-- so does an error
INSERT INTO sums SELECT 'before error', file_md5();
BEGIN;
INSERT INTO w.t (name) VALUES ('gone too');
INSERT INTO w.t (name) VALUES (NULL);
COMMIT;
SELECT (SELECT md5 FROM sums WHERE label = 'before error') = file_md5() AS unchanged;
-- a deferred foreign key is checked at COMMIT: 23503, and nothing written
SELECT show_error($$INSERT INTO w.dparent VALUES (1)$$);
BEGIN;
INSERT INTO w.dchild VALUES (1, 99);
COMMIT;
SELECT count(*) FROM w.dchild;
BEGIN;
INSERT INTO w.dchild VALUES (2, 1);
COMMIT;
SELECT * FROM w.dchild;
-- a transaction that wrote cannot be prepared for two-phase commit
BEGIN;
INSERT INTO w.seq (v) VALUES ('2pc');
PREPARE TRANSACTION 'x';
SELECT count(*) FROM w.seq WHERE v = '2pc';

-- COPY into a foreign table, and batched INSERT
COPY w.seq (v) FROM stdin;
copied1
copied2
\.
ALTER FOREIGN TABLE w.seq OPTIONS (ADD batch_size '10');
INSERT INTO w.seq (v) SELECT 'batch' || g FROM generate_series(1, 25) g;
SELECT count(*), count(*) FILTER (WHERE v LIKE 'batch%') AS batched,
       count(*) FILTER (WHERE v LIKE 'copied%') AS copied FROM w.seq;

-- TRUNCATE: RESTRICT refuses a referenced table, CASCADE empties the
-- tables that reference it; RESTART IDENTITY resets AUTOINCREMENT
SELECT show_error($$TRUNCATE w.parent$$);
SELECT show_error($$TRUNCATE w.parent, w.child$$);
TRUNCATE w.parent CASCADE;
SELECT (SELECT count(*) FROM w.parent) AS parent, (SELECT count(*) FROM w.child) AS child;
-- tables that reference each other are emptied together
SELECT show_error($$TRUNCATE w.ca$$);
TRUNCATE w.ca, w.cb;
SELECT (SELECT count(*) FROM w.ca) AS ca, (SELECT count(*) FROM w.cb) AS cb;
TRUNCATE w.seq;
INSERT INTO w.seq (v) VALUES ('after truncate') RETURNING id > 3 AS continued;
TRUNCATE w.seq RESTART IDENTITY;
INSERT INTO w.seq (v) VALUES ('after restart') RETURNING id;

-- dates as SQLite text (timestamptz in UTC, whatever the session's zone),
-- or as numbers of the column's datetime_unit
SET TimeZone = 'America/New_York';
INSERT INTO w.dates (id, ts, tz, day)
  VALUES (1, '2024-02-29 13:14:15.25', '2024-06-01 12:00:00+02', '2024-12-31');
CREATE FOREIGN TABLE w.dates_n (id bigint,
  secs timestamptz OPTIONS (datetime_unit 'unixepoch'),
  ms timestamptz OPTIONS (datetime_unit 'unixepoch_ms'),
  jd timestamp OPTIONS (datetime_unit 'julianday'))
  SERVER rw OPTIONS (table 'dates');
UPDATE w.dates_n SET secs = '2024-01-02 03:04:05+00', ms = '2024-01-02 03:04:05.678+00',
  jd = '2024-01-02 12:00:00' WHERE id = 1;
INSERT INTO w.dates_n (id, secs) VALUES (2, '2024-01-02 03:04:05.5+00');
CREATE FOREIGN TABLE w.dates_raw (id bigint, ts sqlite_value, tz sqlite_value,
  day sqlite_value, secs sqlite_value, ms sqlite_value, jd sqlite_value)
  SERVER rw OPTIONS (table 'dates');
SELECT id, show(ts), show(tz), show(day), show(secs), show(ms), show(jd)
  FROM w.dates_raw ORDER BY id;
SELECT id, ts, tz, day FROM w.dates ORDER BY id;
SELECT * FROM w.dates_n ORDER BY id;
RESET TimeZone;
SELECT show_error($$INSERT INTO w.dates (id, day) VALUES (3, 'infinity')$$);
SELECT show_error($$INSERT INTO w.dates (id, ts) VALUES (3, '10000-01-01 00:00')$$);

-- sqlite_value writes any storage class exactly, invalid UTF-8 included
CREATE FOREIGN TABLE w.raw_v (id bigint, v sqlite_value)
  SERVER rw OPTIONS (table 'raw');
INSERT INTO w.raw_v VALUES
  (1, ROW('integer', 9223372036854775807, NULL, NULL)),
  (2, ROW('real', NULL, -0.5, NULL)),
  (3, ROW('text', NULL, NULL, '\x61ff62')),
  (4, ROW('blob', NULL, NULL, '\x00ff')),
  (5, ROW('null', NULL, NULL, NULL))
  RETURNING *;
SELECT id, show(v) FROM w.raw_v WHERE id <> 3 ORDER BY id;
SELECT show_error($$INSERT INTO w.raw_v VALUES (6, ROW('integer', NULL, 1.5, NULL))$$);

-- a generated column of the foreign table is computed by PostgreSQL (SQLite
-- computes its own), and RETURNING shows it
CREATE FOREIGN TABLE w.t_gen (id bigint, name text,
  shout text GENERATED ALWAYS AS (upper(name) || '!') STORED)
  SERVER rw OPTIONS (table 't');
INSERT INTO w.t_gen (name) VALUES ('generated') RETURNING name, shout;
-- a BEFORE ROW trigger's changes are written, also to columns not named
CREATE FOREIGN TABLE w.t_trig (id bigint, name text, i bigint)
  SERVER rw OPTIONS (table 't');
CREATE FUNCTION set_i() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN NEW.i := 99; RETURN NEW; END $$;
CREATE TRIGGER set_i BEFORE INSERT OR UPDATE ON w.t_trig
  FOR EACH ROW EXECUTE FUNCTION set_i();
INSERT INTO w.t_trig (name) VALUES ('triggered') RETURNING name, i;
UPDATE w.t_trig SET name = 'retriggered' WHERE name = 'generated' RETURNING name, i;
SELECT show(name), show(i) FROM w.t_raw WHERE show(name) LIKE 'text %trigger%' ORDER BY 1;
DROP TRIGGER set_i ON w.t_trig;

-- an UPDATE through a parent table reads each child once: every row moves
-- once, though its rowid moves ahead of the scan
CREATE TABLE w.moved (id bigint, name text);
CREATE FOREIGN TABLE w.t_inh () INHERITS (w.moved) SERVER rw OPTIONS (table 't');
SELECT count(*) AS rows_before, max(id) < 10000 AS all_small FROM w.t;
UPDATE w.moved SET id = id + 10000;
SELECT count(*) AS rows_after, min(id) >= 10000 AND max(id) < 20000 AS each_moved_once FROM w.t;
-- an INSERT whose SELECT reads the same table after other rows were
-- written reads what was there before the statement
CREATE TABLE w.local_rows (a text, b bigint, v text);
INSERT INTO w.local_rows VALUES ('l', 1, 'local');
SELECT count(*) FROM w.wr;
INSERT INTO w.wr SELECT * FROM w.local_rows UNION ALL SELECT a || 'u', b, v FROM w.wr;
SELECT count(*) FROM w.wr;

-- a server owned by a role that may not write files is never written
-- through, whoever made its table updatable
CREATE ROLE file_reader;
GRANT pg_read_server_files TO file_reader;
GRANT USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig TO file_reader;
CREATE SERVER rw2 FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'db');
ALTER SERVER rw2 OWNER TO file_reader;
CREATE FOREIGN TABLE w.t2 (id bigint, name text) SERVER rw2
  OPTIONS (table 't', updatable 'true');
SELECT show_error($$INSERT INTO w.t2 (name) VALUES ('through rw2')$$);
SELECT show_error($$DELETE FROM w.t2$$);
SELECT show_error($$TRUNCATE w.t2$$);
DROP FOREIGN TABLE w.t2;
DROP SERVER rw2;
REVOKE USAGE ON FOREIGN DATA WRAPPER sqlite_fdw_mig FROM file_reader;
DROP ROLE file_reader;

-- floats written to a TEXT column as their shortest text are found again
-- as keys
CREATE FOREIGN TABLE w.fk (k float8 OPTIONS (key 'true'), v bigint)
  SERVER rw OPTIONS (table 'ftext');
INSERT INTO w.fk VALUES (5, 1), (1e20, 2), (0.1::float8 + 0.2::float8, 3);
UPDATE w.fk SET v = v + 10 RETURNING *;
DELETE FROM w.fk WHERE v = 12 RETURNING *;
SELECT * FROM w.fk ORDER BY v;

-- a table that is not updatable though its server is
ALTER FOREIGN TABLE w.chk OPTIONS (ADD updatable 'false');
SELECT show_error($$INSERT INTO w.chk VALUES (3, 1)$$);

DROP SCHEMA w CASCADE;
DROP SCHEMA r CASCADE;
DROP SERVER rw;
DROP SERVER ro;
DROP TABLE sums;
DROP FUNCTION file_md5(), show(sqlite_value), set_i();
DROP FUNCTION show_error(text), mig_norm(text, regtype, text), mig_diff, mig_check;
DROP EXTENSION sqlite_fdw_mig;

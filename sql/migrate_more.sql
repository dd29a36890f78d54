--
-- COLLATE NOCASE keys, expression indexes, DEFERRABLE foreign keys and
-- generated columns.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set more_db :abs_srcdir '/test/fixtures/mig_more.db'

CREATE EXTENSION sqlite_fdw_mig;
SET sqlite_fdw_mig.report_timings = off;
SET client_min_messages = warning;
CREATE SCHEMA mm;
SELECT source_table, target_table, source_rows, target_rows, status, detail
  FROM migrate_sqlite(:'more_db', 'mm');

-- the rows arrive frozen and every page all-visible (as after COPY FREEZE):
-- no hint-bit or freeze writes after the cut-over
CREATE EXTENSION pg_visibility;
CREATE FUNCTION pages_frozen(nsp name) RETURNS TABLE (tbl name, pages bool, all_visible bool, all_frozen bool)
LANGUAGE sql AS $$
  SELECT c.relname, pg_relation_size(c.oid) > 0,
         v.all_visible = pg_relation_size(c.oid) / 8192,
         v.all_frozen = pg_relation_size(c.oid) / 8192
    FROM pg_class c, pg_visibility_map_summary(c.oid) v
   WHERE c.relnamespace = nsp::regnamespace AND c.relkind = 'r'
   ORDER BY 1 $$;
SELECT * FROM pages_frozen('mm');
SELECT count(*) AS tuples_not_frozen
  FROM pg_class c, pg_check_frozen(c.oid)
 WHERE c.relnamespace = 'mm'::regnamespace AND c.relkind = 'r';

-- not in a REPEATABLE READ transaction that already holds its snapshot
-- (COPY FREEZE's rule): the rows are written as usual, and the report says
CREATE SCHEMA mm2;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) > 0 AS snapshot_taken FROM pg_class;
SELECT source_table, status, detail
  FROM migrate_sqlite(:'more_db', 'mm2', tables => ARRAY['shapes']);
COMMIT;
SELECT * FROM pages_frozen('mm2');
DROP SCHEMA mm2 CASCADE;

-- NOCASE: PostgreSQL compares case-sensitively, but keys fold ASCII letters
-- only, as SQLite does: 'Äpfel' and 'äpfel' are two keys, 'rust' is 'Rust'
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) AS definition
  FROM pg_index WHERE indrelid IN ('mm.tags'::regclass, 'mm.users'::regclass)
 ORDER BY 1::text;
\set VERBOSITY terse
INSERT INTO mm.tags VALUES ('rust', 'dup in SQLite too');
INSERT INTO mm.tags VALUES ('ÄPFEL', 'folds to Äpfel: dup in SQLite too');
INSERT INTO mm.tags VALUES ('ÄPFEL ', 'not a dup');
INSERT INTO mm.users (login) VALUES ('ANN');
INSERT INTO mm.users (email) VALUES ('bob@EXAMPLE.com');
\set VERBOSITY default
SELECT name FROM mm.tags ORDER BY name COLLATE "C";

-- DEFERRABLE and INITIALLY DEFERRED kept
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'mm.users'::regclass AND contype = 'f' ORDER BY conname;

-- generated columns: kept where PostgreSQL computes SQLite's values
SELECT attname, attgenerated, pg_get_expr(d.adbin, d.adrelid) AS expression
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'mm.shapes'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT * FROM mm.shapes ORDER BY id;
INSERT INTO mm.shapes (id, w, h, label) VALUES (3, 4, 5, '4x5');
SELECT * FROM mm.shapes WHERE id = 3;

-- clean up
DROP SCHEMA mm CASCADE;
DROP FUNCTION pages_frozen(name);
DROP EXTENSION pg_visibility;
DROP EXTENSION sqlite_fdw_mig;

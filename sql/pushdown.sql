--
-- Which conditions SQLite evaluates, and that the result is always what
-- PostgreSQL alone would return, whatever storage classes the column holds.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set values_db :abs_srcdir '/test/fixtures/values.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER values_srv FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'values_db');
CREATE FOREIGN TABLE v (id bigint, note text, x text) SERVER values_srv;
CREATE FOREIGN TABLE vi (id integer, note varchar(40), x text) SERVER values_srv OPTIONS (table 'v');

-- pushed: =, <>, ranges and IS [NOT] NULL on integers, = and <> on text
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE id = 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE id >= 10 AND id < 20 OR id <> 3;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE NOT (id > 3 AND note = 'int 0');
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE x IS NULL;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM vi WHERE note = 'int 0' AND id IS NOT NULL;
-- not pushed: text ranges (SQLite orders bytes, PostgreSQL by collation),
-- LIKE, functions, non-deterministic expressions
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE note < 'm';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE note LIKE 'int%';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE lower(note) = 'null';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM v WHERE id = random()::int;
-- parameters are bound, never pasted
PREPARE q(bigint, text) AS SELECT id, note FROM v WHERE id = $1 OR note = $2 ORDER BY id;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q(1, 'null');
EXECUTE q(1, 'null');
EXECUTE q(2, 'it''s "quoted"; DROP TABLE v; --');

-- results: x holds integers, reals, text and blobs.  Read as text, the
-- integer 1 and the real 1.0 are both '1', so x = '1' must find them even
-- though SQLite's own comparison of 1 with '1' is false.  ("clean" leaves
-- out the invalid UTF-8, NUL and blob rows, which cannot be read as text.)
CREATE VIEW clean AS SELECT * FROM v WHERE id < 27 OR (id > 28 AND id < 50) OR id >= 60;
SELECT id, x FROM clean WHERE x = '1' ORDER BY id;
SELECT id, x FROM clean WHERE x = '42' ORDER BY id;
SELECT id, x FROM clean WHERE x = '3.7' OR x = 'Infinity' ORDER BY id;
SELECT count(*) FROM clean WHERE x <> 'abc';
SELECT count(*) FROM clean WHERE x IS NULL;
SELECT count(*) FROM clean WHERE x IS NOT NULL;
-- the same queries on a local copy give the same answers
CREATE TABLE local_v AS SELECT * FROM clean;
SELECT (SELECT array_agg(id ORDER BY id) FROM clean WHERE x = '1' OR id > 90 OR NOT (id < 5 OR x <> '42'))
     = (SELECT array_agg(id ORDER BY id) FROM local_v WHERE x = '1' OR id > 90 OR NOT (id < 5 OR x <> '42')) AS same;
SELECT (SELECT count(*) FROM clean WHERE NOT (x = 'abc' AND id >= 20) AND id <> 22)
     = (SELECT count(*) FROM local_v WHERE NOT (x = 'abc' AND id >= 20) AND id <> 22) AS same;

-- a float column against a NaN parameter
CREATE FOREIGN TABLE vf (id bigint, x float8) SERVER values_srv OPTIONS (table 'v');
SELECT id, x FROM vf WHERE id BETWEEN 10 AND 19 AND x < 'NaN'::float8 ORDER BY id;
SELECT id, x FROM vf WHERE id BETWEEN 10 AND 19 AND x >= 3.7 ORDER BY id;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM vf WHERE x > 1.5;

-- rescans with new parameter values (a nested loop over a local table)
CREATE TABLE wanted (id bigint);
INSERT INTO wanted VALUES (1), (2), (20), (60);
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT w.id, v.note FROM wanted w JOIN LATERAL (SELECT note FROM v WHERE v.id = w.id) v ON true ORDER BY w.id;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- a UTF-16 file: text is compared in PostgreSQL only (values that differ
-- in unpaired surrogates are different bytes to SQLite but the same text
-- once read); integers still go to SQLite, and so does count(*)
\set utf16_db :abs_srcdir '/test/fixtures/utf16.db'
CREATE SERVER utf16_srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'utf16_db');
CREATE FOREIGN TABLE t16 (id bigint, s text, n bigint) SERVER utf16_srv;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM t16 WHERE s = 'abc' AND n > 1;
SELECT id FROM t16 WHERE s = 'abc' AND n > 1 ORDER BY id;
SELECT id, s FROM t16 WHERE s = 'Äpfel' OR s = '😀' ORDER BY id;
SET sqlite_fdw_mig.aggregate_pushdown = always;
EXPLAIN (VERBOSE, COSTS OFF) SELECT s, count(*) FROM t16 GROUP BY s;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*), sum(n) FROM t16;
SELECT count(*), sum(n) FROM t16;
RESET sqlite_fdw_mig.aggregate_pushdown;

-- clean up
SET client_min_messages = warning;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP TABLE local_v, wanted;

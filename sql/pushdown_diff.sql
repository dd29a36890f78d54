--
-- Differential test of push-down: several hundred generated queries over
-- columns holding values of every storage class, each run with
-- sqlite_fdw_mig.enable_pushdown on and off.  Every query must return the
-- same rows both ways (or fail the same way), and a good share of them must
-- really send a condition to SQLite, or the comparison proves nothing.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set pd_db :abs_srcdir '/test/fixtures/pushdown.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER pd_srv FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'pd_db');
CREATE FOREIGN TABLE t (id bigint, i bigint, s text, r double precision, d timestamp)
  SERVER pd_srv;
CREATE FOREIGN TABLE dpk (x bigint, y text) SERVER pd_srv;
CREATE FOREIGN TABLE vm (id bigint, c text) SERVER pd_srv;
CREATE FOREIGN TABLE t_tz (id integer, i numeric, s varchar(10), r real, d timestamptz)
  SERVER pd_srv OPTIONS (table 't');
CREATE FOREIGN TABLE u_num (id bigint, n double precision, s text)
  SERVER pd_srv OPTIONS (table 'u');
CREATE FOREIGN TABLE u_numeric (id bigint, n numeric, s text)
  SERVER pd_srv OPTIONS (table 'u');
SET timezone = 'UTC';

SHOW sqlite_fdw_mig.enable_pushdown;

-- the conditions: one column against one constant, then pairs of them
-- joined by AND, OR and NOT
CREATE TEMP TABLE atoms (n serial, tbl text, cond text);
INSERT INTO atoms (tbl, cond)
SELECT tbl, format('%I %s %s', col, op, val)
  FROM (VALUES ('t', 'id', ARRAY['0', '1', '5', '9', '15', '-1', '9223372036854775807']),
               ('t', 'i', ARRAY['0', '1', '-1', '7', '2', '9223372036854775807', '(-9223372036854775807 - 1)', '9007199254740993', 'NULL']),
               ('t', 's', ARRAY['''''', '''abc''', '''ABC''', '''10''', '''7''', '''Äpfel''', '''äpfel''', ''' 7''', '''a''''b''', 'NULL']),
               ('t', 'r', ARRAY['0', '''-0''::float8', '0.1', '1.5', '''Infinity''', '''-Infinity''', '''NaN''', '1e300', '100', '9007199254740992']),
               ('t', 'd', ARRAY['''2024-01-02''', '''2024-01-02 03:04:05''', '''2024-01-02 03:04:05.5''', '''1970-01-01''', '''infinity''']),
               ('t_tz', 'id', ARRAY['1', '14', '2147483647']),
               ('t_tz', 'i', ARRAY['0', '7', '2.5', '9223372036854775807']),
               ('t_tz', 's', ARRAY['''abc''', '''7''', '''''']),
               ('t_tz', 'r', ARRAY['0', '1.5', '''Infinity''', '''NaN''']),
               ('t_tz', 'd', ARRAY['''2024-01-02 00:00:00+00''', '''2024-01-02 03:04:05+02''']),
               ('u_num', 'n', ARRAY['7', '7.0', '10', '2.5', '0', '''-0''::float8', '1000', '1e3', '''Infinity''', '''NaN''']),
               ('u_num', 's', ARRAY['''7''', '''10''', '''abc''', '''''', '''1000''', '''7.0''']),
               ('u_numeric', 'n', ARRAY['7', '7.00', '2.5', '0', '1000', '''Infinity''', '''NaN''']),
               ('u_numeric', 's', ARRAY['''7''', '''1000'''])) AS c(tbl, col, vals),
       unnest(vals) AS val,
       unnest(ARRAY['=', '<>', '<', '<=', '>', '>=']) AS op
 ORDER BY 1, 2;
INSERT INTO atoms (tbl, cond)
SELECT tbl, format('%I IS %sNULL', col, neg)
  FROM (VALUES ('t', 'i'), ('t', 's'), ('t', 'r'), ('t', 'd'), ('u_num', 'n'), ('u_num', 's')) AS c(tbl, col),
       unnest(ARRAY['', 'NOT ']) AS neg;

CREATE TEMP TABLE queries AS
SELECT tbl, cond FROM atoms
UNION ALL
SELECT a.tbl, format('(%s) %s (%s)', a.cond, op, b.cond)
  FROM atoms a JOIN atoms b ON a.tbl = b.tbl AND a.n < b.n AND (a.n * 7 + b.n * 3) % 97 = 0,
       unnest(ARRAY['AND', 'OR']) AS op
UNION ALL
SELECT tbl, format('NOT (%s)', cond) FROM atoms WHERE n % 3 = 0;

-- run one query; its sorted ids, or the SQLSTATE it failed with
CREATE FUNCTION run_ids(q text, pushdown bool) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  result text;
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', pushdown::text, true);
  EXECUTE format('SELECT coalesce(string_agg(id::text, '','' ORDER BY id), ''(none)'') FROM (%s) q', q)
    INTO result;
  RETURN result;
EXCEPTION WHEN others THEN
  RETURN 'ERROR ' || SQLSTATE;
END $$;

-- does the plan send a WHERE to SQLite?
CREATE FUNCTION pushed(q text) RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', 'on', true);
  FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q LOOP
    IF line ~ 'SQLite query: .* WHERE ' THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
EXCEPTION WHEN others THEN
  RETURN false;
END $$;

CREATE TEMP TABLE results AS
SELECT tbl, cond, q,
       run_ids(q, true) AS with_pushdown,
       run_ids(q, false) AS without,
       pushed(q) AS pushed
  FROM (SELECT tbl, cond, format('SELECT id FROM %I WHERE %s', tbl, cond) AS q FROM queries) s;

-- how many, how many sent a condition to SQLite, how many failed both ways
SELECT count(*) AS queries, count(*) >= 400 AS several_hundred,
       count(*) FILTER (WHERE pushed) AS pushed,
       count(*) FILTER (WHERE pushed) >= 150 AS many_pushed,
       count(*) FILTER (WHERE without LIKE 'ERROR%') AS failed_without_pushdown
  FROM results;

-- the differences: none
SELECT tbl, cond, with_pushdown, without
  FROM results
 WHERE with_pushdown IS DISTINCT FROM without
   AND NOT (without LIKE 'ERROR%' AND with_pushdown NOT LIKE 'ERROR%')
 ORDER BY 1, 2;
-- A condition sent to SQLite skips rows before their values are converted,
-- so a query that fails without push-down, because a row it does not want
-- holds a value its column's type cannot hold (1e300 in a real), can succeed
-- with it.  Never the other way round.
SELECT tbl, cond, with_pushdown, without
  FROM results
 WHERE without LIKE 'ERROR%' AND with_pushdown NOT LIKE 'ERROR%'
 ORDER BY 1, 2;

-- a sample, to see that the answers are not trivial
SELECT cond, with_pushdown, pushed FROM results
 WHERE tbl = 'u_num' AND cond IN ('n = 7', 's = ''7''', 'n = ''NaN''', 'n > ''-0''::float8', 's IS NULL')
 ORDER BY 1;
SELECT cond, with_pushdown, pushed FROM results
 WHERE tbl = 't' AND cond IN ('i = 7', 's = ''7''', 's = ''Äpfel''', 'r = ''-0''::float8', 'r = ''NaN''', 'i = 9223372036854775807')
 ORDER BY 1;

-- off really is off
SET sqlite_fdw_mig.enable_pushdown = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM t WHERE i = 7;
-- Joins by a value SQLite can look up (the INTEGER PRIMARY KEY, the first
-- column of an index): a parameterized scan per outer row sends the join
-- clause with the outer value, and returns the same rows as without
-- push-down, storage classes mixed or not.
RESET sqlite_fdw_mig.enable_pushdown;
CREATE TEMP TABLE keys_i (k bigint);
INSERT INTO keys_i VALUES (0), (1), (-1), (7), (2), (100), (42), (NULL),
  (9223372036854775807), (-9223372036854775808), (9007199254740993);
CREATE TEMP TABLE keys_s (k text);
INSERT INTO keys_s VALUES (''), ('abc'), ('ABC'), ('10'), ('7'), ('Äpfel'),
  (' 7'), ('a''b'), ('1000'), ('7.0'), ('010'), (NULL), ('nope');
ANALYZE keys_i;
ANALYZE keys_s;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (VERBOSE, COSTS OFF) SELECT t.id FROM keys_i k JOIN t ON t.id = k.k;
EXPLAIN (VERBOSE, COSTS OFF) SELECT t.id FROM keys_s k JOIN t ON t.s = k.k;
CREATE TEMP TABLE join_results AS
SELECT q, run_ids(q, true) AS with_pushdown, run_ids(q, false) AS without, pushed(q) AS pushed
  FROM unnest(ARRAY[
    'SELECT t.id FROM keys_i k JOIN t ON t.id = k.k',
    'SELECT t.id FROM keys_i k JOIN t ON t.i = k.k',
    'SELECT t.id FROM keys_i k JOIN t ON k.k = t.i AND t.r > 0',
    'SELECT t.id FROM keys_s k JOIN t ON t.s = k.k',
    'SELECT t.id FROM keys_s k JOIN t_tz t ON t.s = k.k',
    'SELECT u.id FROM keys_s k JOIN u_num u ON u.s = k.k',
    'SELECT t.id FROM keys_i k LEFT JOIN t ON t.i = k.k',
    'SELECT t.id FROM keys_i k JOIN t ON t.i = k.k + 1',
    'SELECT t.id FROM t WHERE t.i IN (SELECT k FROM keys_i)']) AS q;
SELECT q, with_pushdown, with_pushdown = without AS same, pushed FROM join_results;
RESET enable_hashjoin;
RESET enable_mergejoin;

-- Rows in the order of the INTEGER PRIMARY KEY come from SQLite's b-tree,
-- forwards or backwards, in the order PostgreSQL's sort gives
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM t ORDER BY id DESC LIMIT 3;
CREATE FUNCTION pg_temp.explain_lines(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', 'on', true);
  RETURN QUERY EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || q;
END $$;
CREATE FUNCTION ordered_ids(q text, pushdown bool) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  result text;
BEGIN
  PERFORM set_config('sqlite_fdw_mig.enable_pushdown', pushdown::text, true);
  EXECUTE format('SELECT string_agg(coalesce(id::text, ''NULL''), '','') FROM (%s) q', q) INTO result;
  RETURN result;
END $$;
SELECT q, ordered_ids(q, true) AS with_pushdown,
       ordered_ids(q, true) = ordered_ids(q, false) AS same
  FROM unnest(ARRAY[
    'SELECT id FROM t ORDER BY id DESC LIMIT 4',
    'SELECT id FROM t WHERE i > 0 ORDER BY id',
    'SELECT id FROM t_tz ORDER BY id DESC',
    'SELECT id FROM t ORDER BY id, s LIMIT 5',
    'SELECT id FROM t ORDER BY -id LIMIT 3',
    'SELECT x AS id FROM dpk ORDER BY x LIMIT 2',
    'SELECT x AS id FROM dpk ORDER BY x DESC LIMIT 2']) AS q;
-- LIMIT and OFFSET go to SQLite when every condition is exact (none,
-- IS [NOT] NULL, or on the INTEGER PRIMARY KEY): the rows OFFSET skips are
-- never converted
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, s FROM t ORDER BY id DESC LIMIT 3 OFFSET 2;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM t WHERE i > 0 ORDER BY id LIMIT 3;
CREATE TEMP TABLE limit_results AS
SELECT q, ordered_ids(q, true) AS with_pushdown, ordered_ids(q, false) AS without,
       (SELECT bool_or(line ~ 'LIMIT coalesce') FROM
          (SELECT * FROM pg_temp.explain_lines(q)) e(line)) AS pushed
  FROM (SELECT format('SELECT id FROM %s%s ORDER BY id%s LIMIT %s OFFSET %s', tbl, w, d, l, o) AS q
          FROM unnest(ARRAY['t', 't_tz']) AS tbl,
               unnest(ARRAY['', ' WHERE id > 3', ' WHERE id <= 12 AND id <> 5', ' WHERE id IS NOT NULL',
                            ' WHERE i > 0', ' WHERE s = ''7''']) AS w,
               unnest(ARRAY['', ' DESC']) AS d,
               unnest(ARRAY['0', '1', '4', '100', 'NULL']) AS l,
               unnest(ARRAY['0', '3', '14', '20', 'NULL']) AS o) s;
SELECT count(*) AS queries, count(*) FILTER (WHERE pushed) AS pushed,
       count(*) FILTER (WHERE with_pushdown IS DISTINCT FROM without) AS differ
  FROM limit_results;
SELECT q, with_pushdown, pushed FROM limit_results
 WHERE q IN ('SELECT id FROM t ORDER BY id DESC LIMIT 4 OFFSET 3',
             'SELECT id FROM t_tz WHERE id > 3 ORDER BY id LIMIT 4 OFFSET 3',
             'SELECT id FROM t WHERE i > 0 ORDER BY id LIMIT 4 OFFSET 3')
 ORDER BY q;
-- expressions in the select list are computed by the scan, for the rows
-- returned; a volatile one stays above PostgreSQL's Limit, which runs it
-- for the skipped rows too
EXPLAIN (VERBOSE, COSTS OFF) SELECT id * 2, upper(s) FROM t ORDER BY id LIMIT 2 OFFSET 3;
SELECT id * 2, upper(s) FROM t ORDER BY id LIMIT 2 OFFSET 3;
CREATE SEQUENCE lim_seq;
EXPLAIN (COSTS OFF) SELECT nextval('lim_seq'), id FROM t ORDER BY id LIMIT 2 OFFSET 5;
SELECT nextval('lim_seq'), id FROM t ORDER BY id LIMIT 2 OFFSET 5;
SELECT q, ordered_ids(q, true) AS with_pushdown, ordered_ids(q, true) = ordered_ids(q, false) AS same
  FROM unnest(ARRAY['SELECT id FROM (SELECT id, id * 2 AS d FROM t ORDER BY id DESC LIMIT 3 OFFSET 1) s',
                    'SELECT id FROM t WHERE s IS NULL OR id > 13 ORDER BY id LIMIT 5',
                    'SELECT id FROM t WHERE s IS NOT NULL ORDER BY id LIMIT 3 OFFSET 12']) AS q;
-- without ORDER BY, and with parameters, negative ones failing as PostgreSQL fails
SELECT run_ids('SELECT id FROM t LIMIT 5 OFFSET 2', true) = run_ids('SELECT id FROM t LIMIT 5 OFFSET 2', false) AS same;
PREPARE lim(bigint, bigint) AS SELECT id FROM t ORDER BY id LIMIT $1 OFFSET $2;
EXECUTE lim(2, 13);
EXECUTE lim(NULL, 13);
EXECUTE lim(-1, 0);
EXECUTE lim(1, -1);
EXECUTE lim(-1, -1);
-- a generic plan keeps the parameters
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE lim(2, 13);
EXECUTE lim(2, 13);
EXECUTE lim(3, 0);
RESET plan_cache_mode;
DEALLOCATE lim;

-- an INTEGER PRIMARY KEY DESC column may hold NULLs: not ordered by SQLite
EXPLAIN (VERBOSE, COSTS OFF) SELECT x FROM dpk ORDER BY x LIMIT 2;
-- equality on a view's text column holding numbers keeps its guard
SELECT q, run_ids(q, true) AS with_pushdown, run_ids(q, true) = run_ids(q, false) AS same
  FROM unnest(ARRAY['SELECT id FROM vm WHERE c = ''5''',
                    'SELECT id FROM vm WHERE c = ''7''']) AS q;
-- a lateral reference reaches the foreign scan
SELECT count(*), count(lx), sum(lx)
  FROM (VALUES (1::bigint), (3)) l(x)
  LEFT JOIN LATERAL (SELECT t.i, l.x AS lx FROM t) s ON true;

EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM t WHERE i = 7;

DROP EXTENSION sqlite_fdw_mig CASCADE;

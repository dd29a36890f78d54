--
-- Zero data loss on the write path: hundreds of PostgreSQL values written
-- through foreign tables into SQLite columns of every affinity, each read
-- back through the same foreign table.  Every value is either stored so
-- that it reads back equal, or refused (42804 and friends) with nothing
-- written; none may come back changed.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set rt_db :abs_srcdir '/test/fixtures/roundtrip.db'

CREATE EXTENSION sqlite_fdw_mig;
CREATE SERVER rt FOREIGN DATA WRAPPER sqlite_fdw_mig
  OPTIONS (database :'rt_db', updatable 'true');
SET timezone = 'Asia/Kolkata';

-- (PostgreSQL type, SQLite column) pairs, and the values written to each
CREATE TEMP TABLE pairs (typ text, col text);
INSERT INTO pairs VALUES
  ('numeric', 'n'), ('numeric', 't'), ('numeric', 'x'), ('numeric', 'f'),
  ('bigint', 'n'), ('bigint', 'i'), ('bigint', 't'), ('bigint', 'f'),
  ('integer', 'i'), ('smallint', 'x'),
  ('double precision', 'f'), ('double precision', 'i'), ('double precision', 't'),
  ('double precision', 'n'), ('real', 'f'),
  ('text', 'i'), ('text', 'n'), ('text', 'f'), ('text', 't'), ('text', 'x'),
  ('varchar(5)', 't'),
  ('boolean', 'i'), ('boolean', 'x'),
  ('bytea', 'b'), ('bytea', 'x'),
  ('timestamp', 'd'), ('timestamp', 't'), ('timestamptz', 'd'), ('date', 'd'),
  ('time', 't'), ('uuid', 't'), ('interval', 't'), ('jsonb', 't');
CREATE TEMP TABLE vals (typ text, val text);
INSERT INTO vals SELECT 'numeric', unnest(ARRAY['0', '1', '-1', '1.5', '0.1', '1.10', '-0.0',
  '12345678901234567', '9223372036854775807', '9223372036854775808', '-9223372036854775808',
  '123456789012345678901234567890', '0.123456789012345678', '3.14159265358979', '1e-20',
  '1e20', '100.000', 'NaN', 'Infinity', '-Infinity']);
INSERT INTO vals SELECT t, unnest(ARRAY['0', '1', '-1', '32767', '-32768'])
  FROM unnest(ARRAY['bigint', 'integer', 'smallint']) t;
INSERT INTO vals SELECT 'bigint', unnest(ARRAY['9223372036854775807', '-9223372036854775808',
  '9007199254740993']);
INSERT INTO vals SELECT t, unnest(ARRAY['0', '-0', '1.5', '0.1', '1e308', '-1e-308', '5e-324',
  '3.141592653589793', '9007199254740993', 'Infinity', '-Infinity', 'NaN', '1e15', '123'])
  FROM unnest(ARRAY['double precision', 'real']) t;
INSERT INTO vals SELECT t, unnest(ARRAY['', 'abc', '0123', '123', ' 12 ', '12.50', '1e5',
  '-0', '0x10', 'Infinity', 'NULL', 'x''y', 'Äpfel', '😀', E'tab\there', '9223372036854775808',
  '1.0', '007', '+5'])
  FROM unnest(ARRAY['text', 'varchar(5)']) t;
INSERT INTO vals SELECT 'boolean', unnest(ARRAY['true', 'false']);
INSERT INTO vals SELECT 'bytea', unnest(ARRAY['\x', '\x00', '\xff00', '\x61626364', '\x313233']);
INSERT INTO vals SELECT t, unnest(ARRAY['2024-02-29 13:14:15', '2024-02-29 13:14:15.123456',
  '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:00',
  '2000-01-01 00:00:00.5', '0044-03-15 12:00:00 BC', 'infinity', '10000-01-01 00:00:00'])
  FROM unnest(ARRAY['timestamp', 'timestamptz']) t;
INSERT INTO vals SELECT 'timestamptz', unnest(ARRAY['2024-06-01 12:00:00+02', '2024-12-31 23:30:00-11']);
INSERT INTO vals SELECT 'date', unnest(ARRAY['2024-02-29', '0001-01-01', '9999-12-31', '1999-12-31',
  'infinity', '0044-03-15 BC']);
INSERT INTO vals SELECT 'time', unnest(ARRAY['00:00:00', '13:14:15.25', '23:59:59.999999', '24:00:00']);
INSERT INTO vals SELECT 'uuid', unnest(ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '00000000-0000-0000-0000-000000000000']);
INSERT INTO vals SELECT 'interval', unnest(ARRAY['1 day', '-1 mon 2 hours', '00:00:00.5']);
INSERT INTO vals SELECT 'jsonb', unnest(ARRAY['{"a": 1}', '[1, 2.50, "x"]', '"1e400"', 'null']);

-- one foreign table per pair, named after it
DO $$
DECLARE
  p record;
BEGIN
  FOR p IN SELECT * FROM pairs LOOP
    EXECUTE format('CREATE FOREIGN TABLE %I (id bigint, v %s OPTIONS (column_name %L)) SERVER rt OPTIONS (table %L)',
                   'rt_' || regexp_replace(p.typ, '[^a-z]', '', 'g') || '_' || p.col, p.typ, p.col, 'r');
  END LOOP;
END $$;

-- write one value, read it back: 'ok', 'refused SQLSTATE', or what changed
CREATE FUNCTION roundtrip(tbl text, typ text, val text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  newid bigint;
  same bool;
  got text;
BEGIN
  BEGIN
    EXECUTE format('INSERT INTO %I (v) VALUES (%L::%s) RETURNING id', tbl, val, typ) INTO newid;
  EXCEPTION WHEN OTHERS THEN
    RETURN 'refused ' || SQLSTATE;
  END;
  BEGIN
    EXECUTE format('SELECT v IS NOT DISTINCT FROM %L::%s, v::text FROM %I WHERE id = %s',
                   val, typ, tbl, newid) INTO same, got;
  EXCEPTION WHEN OTHERS THEN
    RETURN 'UNREADABLE ' || SQLSTATE;
  END;
  RETURN CASE WHEN same THEN 'ok' ELSE 'CHANGED to ' || coalesce(got, 'NULL') END;
END $$;

CREATE TEMP TABLE results AS
SELECT p.typ, p.col, v.val,
       roundtrip('rt_' || regexp_replace(p.typ, '[^a-z]', '', 'g') || '_' || p.col,
                 p.typ, v.val) AS r
  FROM pairs p JOIN vals v ON v.typ = p.typ OR (p.typ = 'varchar(5)' AND v.typ = 'text');

-- the promise: nothing written comes back different
SELECT count(*) AS written_or_refused,
       count(*) FILTER (WHERE r = 'ok') AS exact,
       count(*) FILTER (WHERE r LIKE 'refused%') AS refused,
       count(*) FILTER (WHERE r NOT LIKE 'refused%' AND r <> 'ok') AS changed
  FROM results;
SELECT typ, col, val, r FROM results
 WHERE r NOT LIKE 'refused%' AND r <> 'ok' ORDER BY 1, 2, 3;
-- what was refused, and why
SELECT typ, col, r, string_agg(val, ' | ' ORDER BY val) AS vals
  FROM results WHERE r LIKE 'refused%' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
-- and a refused value left no row behind
SELECT count(*) = (SELECT count(*) FROM results WHERE r NOT LIKE 'refused%') AS rows_match
  FROM rt_bigint_i;

-- a Julian day means what SQLite's own date functions read: milliseconds
CREATE FOREIGN TABLE jd (id bigint, v timestamp OPTIONS (datetime_unit 'julianday'))
  SERVER rt;
SELECT id, v FROM jd ORDER BY id;
SELECT roundtrip('jd', 'timestamp', '2024-02-29 13:14:15.123') AS whole_ms,
       roundtrip('jd', 'timestamp', '2024-02-29 13:14:15') AS whole_s,
       roundtrip('jd', 'timestamp', '2024-02-29 13:14:15.123456') AS sub_ms;

DROP EXTENSION sqlite_fdw_mig CASCADE;

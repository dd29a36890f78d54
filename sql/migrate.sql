--
-- migrate_sqlite(): the type rule, keys, indexes, foreign keys, sequences,
-- reruns, the plan, and a value-by-value check of every migrated table.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set types_db :abs_srcdir '/test/fixtures/mig_types.db'
\set keys_db :abs_srcdir '/test/fixtures/mig_keys.db'

CREATE EXTENSION sqlite_fdw_mig;
\set mig_helpers :abs_srcdir '/test/mig_helpers.sql'
\i :mig_helpers

-- the SQLite side of the value check: every table of each file, as foreign tables
CREATE SERVER types_src FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'types_db');
CREATE SCHEMA types_src;
IMPORT FOREIGN SCHEMA main FROM SERVER types_src INTO types_src;
CREATE SERVER keys_src FOREIGN DATA WRAPPER sqlite_fdw_mig OPTIONS (database :'keys_db');
CREATE SCHEMA keys_src;
IMPORT FOREIGN SCHEMA main FROM SERVER keys_src INTO keys_src;

-- the objects a migration may leave behind, to compare before and after
CREATE FUNCTION leftovers() RETURNS TABLE (servers bigint, temp_relations bigint, relations bigint)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'sqlite\_mig\_%'),
         (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()),
         (SELECT count(*) FROM pg_class)
$$;
CREATE TABLE before AS SELECT * FROM leftovers();

-- column types of the tables in a schema
CREATE FUNCTION columns_of(nsp name)
RETURNS TABLE (tbl name, col name, type text, not_null boolean, identity "char")
LANGUAGE sql AS $$
  SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = nsp::regnamespace AND c.relkind = 'r' AND a.attnum > 0
     AND NOT a.attisdropped
   ORDER BY c.relname, a.attnum
$$;

--
-- options
--
SELECT show_error($$SELECT * FROM migrate_sqlite(NULL)$$);
SELECT show_error($$SELECT * FROM migrate_sqlite('mig_types.db')$$);
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L)', :'types_db', 'no_such_schema'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L)', :'types_db', 'pg_catalog'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, if_exists => %L)', :'types_db', 'skip'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, on_mismatch => %L)', :'types_db', 'ignore'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, tables => %L)', :'types_db', '{clean,NULL}'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, tables => %L)', :'types_db', '{clean,no_such_table}'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, type_overrides => %L)', :'types_db', '["x"]'));
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, datetime_numbers => %L)', :'types_db', 'seconds'));
SELECT show_error($$SELECT * FROM migrate_sqlite('/no/such/file.db')$$);
SELECT * FROM leftovers() EXCEPT SELECT * FROM before;

--
-- every declared type family with clean data, and the widenings that
-- change no value (automatic and reported)
--
CREATE SCHEMA mt;
SELECT * FROM migrate_sqlite(:'types_db', 'mt',
  tables => ARRAY['clean', 'bools', 'blobs', 'dates_naive', 'dates_offset',
                  'w_ints', 'w_numeric', 'w_varchar', 'w_date', 'w_json']);
SELECT * FROM columns_of('mt');
SELECT * FROM mig_check('mt', 'types_src');
-- a few values, as PostgreSQL shows them
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SELECT id, si, mi, n52, b, vc, ch, bl, ts, tstz, tm, u, j FROM mt.clean ORDER BY id;
SELECT id, b, bt FROM mt.bools ORDER BY id;
SELECT id, length(data) AS bytes, md5(data), anything FROM mt.blobs ORDER BY id;
SELECT * FROM mt.dates_naive ORDER BY id;
SELECT * FROM mt.dates_offset ORDER BY id;
SELECT * FROM mt.w_numeric ORDER BY id;
RESET timezone;
RESET datestyle;

--
-- each kind of mismatch: the default is an error, and nothing is written
--
CREATE SCHEMA mm;
SELECT t AS "table", show_error(format('SELECT * FROM migrate_sqlite(%L, %L, tables => ARRAY[%L])',
                                       :'types_db', 'mm', t))
  FROM unnest(ARRAY['m_int', 'm_real', 'm_bool', 'm_bool_text', 'm_date', 'm_date_junk',
                    'm_time', 'm_uuid', 'm_json', 'm_numeric', 'm_text_blob', 'm_text_nul',
                    'm_text_utf8', 'm_blob_num', 'm_mixed', 'm_norowid']) AS t;
-- the whole file stops at the first column with a mismatch
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L)', :'types_db', 'mm'));
SELECT count(*) AS relations_in_mm FROM pg_class WHERE relnamespace = 'mm'::regnamespace;
SELECT count(*) AS history_rows FROM sqlite_migration_history;
SELECT servers, temp_relations FROM leftovers();
-- numbers in a date column: the hint names the option that says what they mean
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, tables => ARRAY[%L])', :'types_db', 'mm', 'm_date'))
       LIKE '%datetime_numbers%' AS hint_names_datetime_numbers;

-- with on_mismatch => 'widen': the narrowest type that holds every value
SELECT * FROM migrate_sqlite(:'types_db', 'mm', on_mismatch => 'widen',
  tables => ARRAY['m_int', 'm_real', 'm_bool', 'm_bool_text', 'm_date', 'm_date_junk',
                  'm_time', 'm_uuid', 'm_json', 'm_numeric', 'm_text_blob', 'm_text_nul',
                  'm_text_utf8', 'm_norowid']);
SELECT * FROM columns_of('mm');
SELECT * FROM mig_check('mm', 'types_src');
SELECT id, note, length(note) FROM mm.m_text_nul ORDER BY id;
SELECT id, note FROM mm.m_text_utf8 ORDER BY id;
SELECT id, qty FROM mm.m_int ORDER BY id;
-- numbers and blobs in one column: no type holds both
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, on_mismatch => %L, tables => ARRAY[%L])',
                         :'types_db', 'mm', 'widen', t))
  FROM unnest(ARRAY['m_blob_num', 'm_mixed']) AS t;

--
-- datetime_numbers: what a number in a date column means
--
CREATE SCHEMA dn_s;
CREATE SCHEMA dn_ms;
CREATE SCHEMA dn_jd;
SELECT * FROM migrate_sqlite(:'types_db', 'dn_s', datetime_numbers => 'unixepoch', tables => ARRAY['dt_numbers']);
SELECT * FROM migrate_sqlite(:'types_db', 'dn_ms', datetime_numbers => 'unixepoch_ms', tables => ARRAY['dt_ms']);
SELECT * FROM migrate_sqlite(:'types_db', 'dn_jd', datetime_numbers => 'julianday', tables => ARRAY['dt_julian']);
SELECT * FROM mig_check('dn_s', 'types_src', 'unixepoch');
SELECT * FROM mig_check('dn_ms', 'types_src', 'unixepoch_ms');
SELECT * FROM mig_check('dn_jd', 'types_src', 'julianday');
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SELECT * FROM dn_s.dt_numbers ORDER BY id;
SELECT * FROM dn_ms.dt_ms ORDER BY id;
SELECT * FROM dn_jd.dt_julian ORDER BY id;
RESET timezone;
RESET datestyle;
-- 86400001 ms is not a whole day: the DATE column must become a timestamp
-- (reported), or the migration must stop before writing with a mismatch
-- that names the column; never an error from inside the copy
CREATE SCHEMA dn_frac;
CREATE TABLE outcome (what text);
DO $$
BEGIN
  PERFORM * FROM migrate_sqlite(current_setting('regress.abs_srcdir') || '/test/fixtures/mig_types.db',
                                'dn_frac', datetime_numbers => 'unixepoch_ms',
                                tables => ARRAY['dt_day_fraction']);
  INSERT INTO outcome SELECT 'migrated as ' || format_type(atttypid, atttypmod) FROM pg_attribute
   WHERE attrelid = 'dn_frac.dt_day_fraction'::regclass AND attname = 'day';
EXCEPTION WHEN OTHERS THEN
  INSERT INTO outcome VALUES ('error: ' || SQLERRM);
END
$$;
SELECT what IN ('migrated as timestamp without time zone',
                'error: column "day" of SQLite table "dt_day_fraction" holds values that type date cannot represent')
       AS correct
  FROM outcome;
--
-- type_overrides: the DBA's type, still checked against every value
--
CREATE SCHEMA ov;
SELECT * FROM migrate_sqlite(:'types_db', 'ov', tables => ARRAY['m_int', 'w_ints', 'clean'],
  type_overrides => '{"m_int.qty": "text", "W_INTS.Small": "numeric(12,0)", "clean.ts": "text"}');
SELECT * FROM columns_of('ov') WHERE col IN ('qty', 'small', 'ts');
SELECT * FROM mig_check('ov', 'types_src');
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, tables => ARRAY[%L], type_overrides => %L)',
                         :'types_db', 'ov', 'm_real', o))
  FROM unnest(ARRAY['{"m_real.x": "bigint"}', '{"m_real.x": "no_such_type"}', '{"m_real.x": 5}']) AS o;

--
-- results do not depend on TimeZone or DateStyle
--
CREATE SCHEMA tz1;
CREATE SCHEMA tz2;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SELECT count(*) FROM migrate_sqlite(:'types_db', 'tz1', datetime_numbers => 'unixepoch',
  tables => ARRAY['clean', 'dates_naive', 'dates_offset', 'w_date', 'dt_numbers']);
SET timezone = 'Pacific/Chatham';
SET datestyle = 'SQL, DMY';
SELECT count(*) FROM migrate_sqlite(:'types_db', 'tz2', datetime_numbers => 'unixepoch',
  tables => ARRAY['clean', 'dates_naive', 'dates_offset', 'w_date', 'dt_numbers']);
RESET timezone;
RESET datestyle;
SELECT t, (SELECT count(*) FROM ((SELECT * FROM tz1.clean EXCEPT ALL SELECT * FROM tz2.clean)
                            UNION ALL (SELECT * FROM tz2.clean EXCEPT ALL SELECT * FROM tz1.clean)) x) AS clean,
       (SELECT count(*) FROM ((SELECT * FROM tz1.dates_naive EXCEPT ALL SELECT * FROM tz2.dates_naive)
                            UNION ALL (SELECT * FROM tz2.dates_naive EXCEPT ALL SELECT * FROM tz1.dates_naive)) x) AS naive,
       (SELECT count(*) FROM ((SELECT * FROM tz1.dates_offset EXCEPT ALL SELECT * FROM tz2.dates_offset)
                            UNION ALL (SELECT * FROM tz2.dates_offset EXCEPT ALL SELECT * FROM tz1.dates_offset)) x) AS offs,
       (SELECT count(*) FROM ((SELECT * FROM tz1.w_date EXCEPT ALL SELECT * FROM tz2.w_date)
                            UNION ALL (SELECT * FROM tz2.w_date EXCEPT ALL SELECT * FROM tz1.w_date)) x) AS w_date,
       (SELECT count(*) FROM ((SELECT * FROM tz1.dt_numbers EXCEPT ALL SELECT * FROM tz2.dt_numbers)
                            UNION ALL (SELECT * FROM tz2.dt_numbers EXCEPT ALL SELECT * FROM tz1.dt_numbers)) x) AS numbers
  FROM (VALUES ('rows differing')) v(t);
SELECT * FROM mig_check('tz2', 'types_src', 'unixepoch');

--
-- keys, indexes, foreign keys, identities; what is reported, not migrated
--
CREATE SCHEMA mk;
SELECT * FROM migrate_sqlite(:'keys_db', 'mk',
  tables => ARRAY['parent', 'composite', 'kv', 'kv2', 'child', 'tree', 'cyc_a', 'cyc_b',
                  'idx', 'autoinc', 'plain_id', 'empty_id', 'int_pk', 'null_pk', 'no_pk', 'docs']);
SELECT * FROM columns_of('mk');
SELECT conrelid::regclass, contype, pg_get_constraintdef(oid), convalidated
  FROM pg_constraint WHERE connamespace = 'mk'::regnamespace
 ORDER BY conrelid::regclass::text, contype, pg_get_constraintdef(oid);
SELECT indrelid::regclass, indexrelid::regclass, pg_get_indexdef(indexrelid)
  FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'mk'::regnamespace)
 ORDER BY indrelid::regclass::text, indexrelid::regclass::text;
SELECT * FROM mig_check('mk', 'keys_src');
-- the shadow tables of the virtual table, sqlite_sequence and sqlite_stat1 are not tables here
SELECT relname FROM pg_class WHERE relnamespace = 'mk'::regnamespace
   AND (relname LIKE 'docs%' OR relname LIKE 'sqlite%');

-- identities: AUTOINCREMENT continues above sqlite_sequence (5), not max(id) (3)
SELECT pg_get_serial_sequence('mk.autoinc', 'id'), pg_get_serial_sequence('mk.plain_id', 'id');
INSERT INTO mk.autoinc (v) VALUES ('six') RETURNING id;
INSERT INTO mk.plain_id (v) VALUES ('after twenty') RETURNING id;
INSERT INTO mk.plain_id (id, v) VALUES (100, 'explicit') RETURNING id;
INSERT INTO mk.empty_id (v) VALUES ('first') RETURNING id;
INSERT INTO mk.tree (parent, name) VALUES (3, 'new leaf') RETURNING id;
-- the foreign keys act as declared
DELETE FROM mk.parent WHERE id = 3;
SELECT id, parent_id, parent_code FROM mk.child ORDER BY id;
UPDATE mk.parent SET id = 10 WHERE id = 2;
SELECT id, parent_id, parent_code FROM mk.child ORDER BY id;
UPDATE mk.composite SET b = 'z' WHERE a = 1 AND b = 'y';
SELECT id, ca, cb FROM mk.child ORDER BY id;
SELECT show_error('DELETE FROM mk.composite WHERE a = 2');
SELECT show_error($$INSERT INTO mk.tree (parent, name) VALUES (99, 'orphan')$$);
SELECT show_error($$INSERT INTO mk.kv VALUES ('a', 3)$$);
SELECT show_error($$INSERT INTO mk.idx (a, b) VALUES (1, 'p')$$);

-- orphans: NOT VALID with a WARNING, and the rows are kept
CREATE SCHEMA mo;
\pset format unaligned
SELECT source_table, status, detail FROM migrate_sqlite(:'keys_db', 'mo', tables => ARRAY['parent', 'orphans']);
SELECT conrelid::regclass, pg_get_constraintdef(oid), convalidated
  FROM pg_constraint WHERE connamespace = 'mo'::regnamespace AND contype = 'f'
 ORDER BY 2;
SELECT count(*) AS orphans_rows FROM mo.orphans;
SELECT * FROM mig_check('mo', 'keys_src');
\pset format aligned

-- a foreign key to a table left out by "tables" is reported, not created
CREATE SCHEMA mc;
SELECT * FROM migrate_sqlite(:'keys_db', 'mc', tables => ARRAY['CHILD', 'composite']);
SELECT conrelid::regclass, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'mc'::regnamespace AND contype = 'f';

--
-- reruns
--
CREATE TABLE counts AS SELECT * FROM leftovers();
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, tables => ARRAY[%L, %L])',
                         :'keys_db', 'mk', 'parent', 'tree'));
SELECT (SELECT relations FROM leftovers()) - relations AS new_relations FROM counts;
SELECT count(*) AS autoinc_rows FROM mk.autoinc;
-- replace: the tables an earlier migration created are rebuilt from the file
SELECT source_table, target_table, source_rows, target_rows, status
  FROM migrate_sqlite(:'keys_db', 'mk', if_exists => 'replace', tables => ARRAY['autoinc', 'tree']);
SELECT count(*) AS autoinc_rows FROM mk.autoinc;
INSERT INTO mk.autoinc (v) VALUES ('six again') RETURNING id;
-- a table it did not create blocks replace
CREATE SCHEMA mu;
CREATE TABLE mu.tree (id int);
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, if_exists => %L, tables => ARRAY[%L])',
                         :'keys_db', 'mu', 'replace', 'tree'));
SELECT count(*) AS relations_in_mu FROM pg_class WHERE relnamespace = 'mu'::regnamespace;
-- a view the user made on a migrated table stops replace (never CASCADE)
CREATE VIEW mk.tree_names AS SELECT name FROM mk.tree;
SELECT show_error(format('SELECT * FROM migrate_sqlite(%L, %L, if_exists => %L, tables => ARRAY[%L])',
                         :'keys_db', 'mk', 'replace', 'tree'));
SELECT count(*) AS tree_names_rows FROM mk.tree_names;
DROP VIEW mk.tree_names;

--
-- the plan: the statements, and nothing left behind
--
CREATE SCHEMA mp;
CREATE TABLE counts2 AS SELECT * FROM leftovers();
SELECT step, phase, object,
       regexp_replace(statement, 'sqlite_mig_[0-9_]+', 'sqlite_mig_N', 'g') AS statement,
       regexp_replace(detail, 'sqlite_mig_[0-9_]+', 'sqlite_mig_N', 'g') AS detail
  FROM migrate_sqlite_plan(:'keys_db', 'mp', tables => ARRAY['parent', 'orphans', 'autoinc']);
SELECT * FROM leftovers() EXCEPT SELECT * FROM counts2;
SELECT count(*) AS relations_in_mp FROM pg_class WHERE relnamespace = 'mp'::regnamespace;
SELECT show_error(format('SELECT * FROM migrate_sqlite_plan(%L, %L, tables => ARRAY[%L])', :'types_db', 'mp', 'm_int'));
SELECT show_error(format('SELECT * FROM migrate_sqlite_plan(%L, %L, tables => ARRAY[%L])', :'keys_db', 'mk', 'tree'));
SELECT * FROM leftovers() EXCEPT SELECT * FROM counts2;

--
-- the staging server and foreign tables are gone after success and after an error
--
SELECT servers, temp_relations FROM leftovers();
BEGIN;
SELECT count(*) FROM migrate_sqlite(:'types_db', 'mp', tables => ARRAY['bools']);
SELECT servers, temp_relations FROM leftovers();
SAVEPOINT s;
SELECT * FROM migrate_sqlite(:'types_db', 'mp', tables => ARRAY['m_int']);
ROLLBACK TO s;
SELECT servers, temp_relations FROM leftovers();
ROLLBACK;
SELECT * FROM migrate_sqlite(:'types_db', 'mp', tables => ARRAY['m_int']);
SELECT * FROM leftovers() EXCEPT SELECT * FROM counts2;

-- the history: one row per successful run
SELECT target_schema, options ->> 'if_exists' AS if_exists, options ->> 'on_mismatch' AS on_mismatch,
       objects -> 'tables' AS tables, jsonb_array_length(report) AS report_rows,
       database = :'types_db' OR database = :'keys_db' AS database_ok, file_size > 0 AS size_ok,
       finished_at >= started_at AS times_ok, migrated_by = current_user AS by_ok
  FROM sqlite_migration_history ORDER BY id;

-- only migrate_sqlite may write the history: no row can be planted for a
-- later if_exists => 'replace' to trust
CREATE ROLE regress_mig_history IN ROLE pg_read_server_files;
SET ROLE regress_mig_history;
SELECT sqlite_fdw_mig_record_history(now(), '/x.db', 0, 'public', '{}', '[]', '{}');
INSERT INTO sqlite_migration_history (started_at, finished_at, database, target_schema, options, objects, report)
  VALUES (now(), now(), '/x.db', 'public', '{}', '{"tables": ["victim"]}', '[]');
SELECT count(*) >= 0 AS can_read FROM sqlite_migration_history;
RESET ROLE;
DROP ROLE regress_mig_history;

-- clean up
DROP SCHEMA mt, mm, dn_s, dn_ms, dn_jd, dn_frac, ov, tz1, tz2, mk, mo, mc, mu, mp CASCADE;
DROP EXTENSION sqlite_fdw_mig CASCADE;
DROP SCHEMA types_src, keys_src;
DROP TABLE before, counts, counts2, outcome;
RESET client_min_messages;
DROP FUNCTION show_error, mig_norm, mig_diff, mig_check, leftovers, columns_of;

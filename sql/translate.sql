--
-- translate: SQLite expressions from the file become PostgreSQL text only
-- through the parser and the allow-list, or are refused with a reason.
--
CREATE EXTENSION sqlite_fdw_mig;
\pset null '(null)'

-- the columns a, b, Name and "Mixed Case" exist; their types are not known
CREATE FUNCTION pg_temp.tr(e text, k text DEFAULT 'check', t regtype DEFAULT NULL)
RETURNS text LANGUAGE sql
AS $$ SELECT sqlite_translate_expr(e, k, t, '{a,b,Name,"Mixed Case"}') $$;

-- =====================================================================
-- allowed constructs (CHECK)
-- =====================================================================
CREATE TEMP TABLE allowed (e text);
INSERT INTO allowed VALUES
 ('a > 0'), ('a == 1 AND b != 2'), ('a <> 1 OR NOT b = 2'),
 ('a IS NULL OR b ISNULL'), ('a NOTNULL'), ('a NOT NULL'), ('a IS NOT NULL'),
 ('a IS b'), ('a IS NOT 5'), ('a IS NOT DISTINCT FROM b'),
 ('a BETWEEN 1 AND 10'), ('a NOT BETWEEN -1 AND +1'), ('a NOT IN (1, 2, 3)'),
 ('a + b * 2 - 1 >= 0'), ('a / 2.0 > 1'), ('-a < 3'), ('((a)) > (0)'),
 ('name LIKE ''%@%'''), ('name LIKE ''Abc%'''), ('name NOT LIKE ''a!%%'' ESCAPE ''!'''),
 ('"Mixed Case" LIKE name'), ('name GLOB ''a*b?'''), ('name GLOB ''50%_*'''),
 ('name > ''m'''), ('name BETWEEN ''a'' AND ''n'''),
 ('CASE WHEN a > 0 THEN 1 ELSE 0 END = 1'), ('CASE a WHEN 1 THEN ''x'' END IS NOT NULL'),
 ('iif(a > 1, 1, 0) = 1'), ('CAST(5 AS TEXT) = name'), ('CAST(5 AS VARCHAR(3)) = name'),
 ('abs(a) < 10'), ('coalesce(a, b, 0) > 1'), ('ifnull(a, 0) > 1'), ('nullif(a, 0) IS NOT NULL'),
 ('length(name) > 2'), ('lower(name) = ''x'''), ('upper(name) = ''X'''),
 ('instr(name, ''@'') > 0'), ('substr(name, 1, 3) = ''abc'''), ('substr(name, 2) <> '''''),
 ('trim(name) <> '''''), ('ltrim(name, ''x'') = rtrim(name)'), ('replace(name, ''a'', ''b'') = ''b'''),
 ('"Name" = ''a'''), ('[a] = `b`'), ('"Mixed Case" IS NULL'), ('x''0aff'' IS NOT NULL'),
 ('0x10 = a'), ('0xffffffffffffffff = a'), ('1e3 > a'), ('.5 < a'),
 ('a == TRUE OR a = FALSE'), ('TRUE'), ('1 /* ) */'), ('a > 0 -- ) OR 1'),
 ('''it''''s'' = name'), ('''back\slash'' = name');
SELECT e AS sqlite, pg_temp.tr(e) AS postgresql FROM allowed;

-- every one of them is accepted by PostgreSQL as a CHECK of a real table
DO $$
DECLARE
  r record;
  n int := 0;
BEGIN
  FOR r IN SELECT e, pg_temp.tr(e) AS t FROM allowed LOOP
    EXECUTE format('CREATE TEMP TABLE tt (a int, b int, name text, "mixed case" text, CHECK (%s))', r.t);
    DROP TABLE tt;
    n := n + 1;
  END LOOP;
  RAISE NOTICE '% CHECK constraints created', n;
END
$$;

-- ... and mean what they meant in SQLite
CREATE TEMP TABLE sem (name text);
CREATE FUNCTION pg_temp.holds(e text, v text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE res boolean;
BEGIN
  EXECUTE format('SELECT %s FROM (SELECT $1::text AS name) s',
                 sqlite_translate_expr(e, 'check', NULL, '{name}')) INTO res USING v;
  RETURN res;
END $$;
SELECT e, v, pg_temp.holds(e, v) FROM (VALUES
 ('name LIKE ''abc%''', 'ABCdef'),		-- LIKE folds ASCII case
 ('name LIKE ''abc%''', 'xabc'),
 ('name LIKE ''é%''', 'É'),			-- ... and only ASCII case
 ('name LIKE ''a\%''', 'a\x'),			-- no escape character
 ('name LIKE ''a_c''', 'aéc'),			-- _ is one character
 ('lower(name) = ''àbc''', 'ÀBC'),		-- lower() is ASCII-only
 ('upper(name) = ''ABC''', 'abc'),
 ('name GLOB ''a*''', 'Abc'),			-- GLOB is case-sensitive
 ('name GLOB ''a%''', 'a%'),			-- % is not a wildcard in GLOB
 ('name GLOB ''a%''', 'ab'),
 ('name > ''Z''', 'a'),				-- byte order, as BINARY
 ('name IS NULL', NULL),
 ('name IS ''x''', NULL),			-- IS: NULL-safe equality
 ('instr(name, ''c'') = 3', 'abc'),
 ('substr(name, 2, 2) = ''bc''', 'abcd'),
 ('trim(name) = ''x''', '  x  ')
) x(e, v);

-- =====================================================================
-- other kinds
-- =====================================================================
SELECT pg_temp.tr('lower(name)', 'index');
SELECT pg_temp.tr('a * 2 + b', 'generated');
SELECT pg_temp.tr('a IS NOT NULL AND b > 0', 'where');
-- a bare column of unknown type is passed as is (a number becomes x <> 0)
SELECT pg_temp.tr('a', 'where');
SELECT pg_temp.tr('abs(a)', 'check');
SELECT pg_temp.tr('count(*)', 'index');
SELECT pg_temp.tr('CURRENT_TIMESTAMP', 'check');
SELECT pg_temp.tr('datetime(''now'')', 'generated');
SELECT pg_temp.tr('a + 1', 'default');
SELECT sqlite_translate_expr('1', 'bogus');
SELECT sqlite_translate_expr(NULL, 'check');

-- =====================================================================
-- DEFAULT: the current time, per target type (SQLite: UTC text)
-- =====================================================================
SELECT e, t, pg_temp.tr(e, 'default', t::regtype) AS postgresql FROM (VALUES
 ('CURRENT_TIMESTAMP', 'timestamp'), ('CURRENT_TIMESTAMP', 'timestamptz'),
 ('CURRENT_TIMESTAMP', 'date'), ('(CURRENT_TIMESTAMP)', 'text'),
 ('CURRENT_DATE', 'date'), ('CURRENT_DATE', 'varchar'),
 ('CURRENT_TIME', 'time'), ('CURRENT_TIME', 'text'),
 ('datetime(''now'')', 'timestamp'), ('(datetime(''NOW''))', 'text'),
 ('date(''now'')', 'date'), ('time(''now'')', 'time'),
 ('strftime(''%s'', ''now'')', 'bigint'), ('strftime(''%s'',''now'')', 'text'),
 ('CURRENT_TIMESTAMP', NULL)
) x(e, t);
-- refused
SELECT pg_temp.tr('CURRENT_TIMESTAMP', 'default', 'integer');
SELECT pg_temp.tr('CURRENT_DATE', 'default', 'timestamp');
SELECT pg_temp.tr('datetime(''now'', ''localtime'')', 'default', 'timestamp');
SELECT pg_temp.tr('strftime(''%Y'', ''now'')', 'default', 'text');
SELECT pg_temp.tr('datetime(''now'') || ''x''', 'default', 'text');

-- DEFAULT literals: PostgreSQL casts them to the column type
SELECT e, t, pg_temp.tr(e, 'default', t::regtype) AS postgresql FROM (VALUES
 ('0', 'boolean'), ('1', 'boolean'), ('TRUE', 'boolean'), ('FALSE', 'integer'),
 ('''abc''', 'text'), ('-5', 'integer'), ('2.0', 'integer'), ('1.5', 'real'),
 ('(1 + 2)', 'integer'), ('x''00ff''', 'bytea'), ('NULL', 'date'),
 ('''2020-01-02''', 'date'), ('''2020-01-02 03:04:05''', 'timestamp'),
 ('''2020-01-02T03:04:05.5''', 'timestamptz'), ('''03:04''', 'time'),
 ('''it''''s''', NULL), ('0x7fffffffffffffff', 'bigint')
) x(e, t);
-- refused
SELECT pg_temp.tr('1.5', 'default', 'integer');
SELECT pg_temp.tr('1.50', 'default', 'text');
SELECT pg_temp.tr('2', 'default', 'boolean');
SELECT pg_temp.tr('''now''', 'default', 'timestamp');
SELECT pg_temp.tr('''01/02/2020''', 'default', 'date');
SELECT pg_temp.tr('''2020-01-02 03:04:05+02''', 'default', 'timestamptz');
SELECT pg_temp.tr('x''00''', 'default', 'text');

-- accepted by PostgreSQL as defaults, with the right values
DO $$
DECLARE
  r record;
  ok boolean;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('CURRENT_TIMESTAMP', 'timestamp', 'v = date_trunc(''second'', now() AT TIME ZONE ''UTC'') OR abs(extract(epoch FROM v - (now() AT TIME ZONE ''UTC''))) < 1'),
      ('CURRENT_TIMESTAMP', 'timestamptz', 'v = now()'),
      ('CURRENT_DATE', 'date', 'v = (now() AT TIME ZONE ''UTC'')::date'),
      ('CURRENT_TIME', 'time', 'v = (now() AT TIME ZONE ''UTC'')::time(0)'),
      ('CURRENT_TIMESTAMP', 'text', 'v = to_char(now() AT TIME ZONE ''UTC'', ''YYYY-MM-DD HH24:MI:SS'')'),
      ('CURRENT_DATE', 'text', 'v ~ ''^\d{4}-\d\d-\d\d$'''),
      ('CURRENT_TIME', 'text', 'v ~ ''^\d\d:\d\d:\d\d$'''),
      ('strftime(''%s'',''now'')', 'bigint', 'v = floor(extract(epoch FROM now()))'),
      ('1', 'boolean', 'v'),
      ('''2020-01-02T03:04:05.5''', 'timestamptz', 'v = ''2020-01-02 03:04:05.5+00'''),
      ('x''00ff''', 'bytea', 'v = ''\x00ff''::bytea'),
      ('2.0', 'integer', 'v = 2')
    ) x(e, t, test) LOOP
    EXECUTE format('CREATE TEMP TABLE td (i int, v %s DEFAULT %s)', r.t,
                   sqlite_translate_expr(r.e, 'default', r.t::regtype));
    INSERT INTO td (i) VALUES (1);
    EXECUTE format('SELECT %s FROM td', r.test) INTO ok;
    IF NOT ok THEN
      RAISE NOTICE 'wrong default for % on %', r.e, r.t;
    END IF;
    DROP TABLE td;
  END LOOP;
  RAISE NOTICE 'defaults checked';
END
$$;

-- the same result under another time zone
SET TimeZone = 'Pacific/Kiritimati';
CREATE TEMP TABLE tz (i int, v timestamp DEFAULT (CURRENT_TIMESTAMP AT TIME ZONE 'UTC'));
SELECT pg_temp.tr('CURRENT_TIMESTAMP', 'default', 'timestamp') = '(CURRENT_TIMESTAMP AT TIME ZONE ''UTC'')' AS same_text;
INSERT INTO tz (i) VALUES (1);
SELECT abs(extract(epoch FROM v - (now() AT TIME ZONE 'UTC'))) < 1 AS utc FROM tz;
RESET TimeZone;

-- =====================================================================
-- refused: untrusted text never gets through
-- =====================================================================
SELECT e AS sqlite, pg_temp.tr(e) AS postgresql FROM (VALUES
 ('1; DROP TABLE t'), ('1;'), ('1) FROM pg_class WHERE (1'), ('a > 0) OR (1 = 1'),
 ('pg_read_file(''/etc/passwd'')'), ('pg_terminate_backend(1)'),
 ('pg_catalog.lower(name)'), ('public.f(a)'),
 ('(SELECT 1)'), ('EXISTS (SELECT 1)'), ('a IN (SELECT 1)'), ('a IN t'), ('a IN ()'),
 ('random()'), ('zzz > 1'), ('"nosuch" = 1'), ('t.a > 1'), ('main.t.a > 1'),
 ('((1)'), ('(1))'), ('''abc'), ('"abc'), ('[abc'), ('x''0a'), ('x''zz'''),
 ('a = $1'), ('a = ?'), ('a = :x'), ('a = @x'), ('1 1'), ('a AND'), (''), ('  /* */ '),
 ('a > b'), ('a / 2'), ('a / 0.0'), ('a % 2 = 0'), ('a & 1'), ('~a'), ('a << 1'),
 ('a -> ''$.x'''), ('name REGEXP ''x'''), ('name MATCH ''x'''),
 ('name COLLATE NOCASE = ''x'''), ('name COLLATE RTRIM = ''x'''), ('name || ''x'' = ''yx'''),
 ('max(a, b) > 1'), ('count(*) > 1'), ('sum(a) > 1'), ('count(a) OVER () > 1'),
 ('a IS TRUE'), ('datetime(''now'') > ''x'''), ('julianday(name) > 0'), ('typeof(a) = ''integer'''),
 ('round(a) = 1'), ('CAST(a AS INTEGER) = 1'), ('CAST(''12abc'' AS INTEGER) = 12'), ('CAST(1.0 AS TEXT) = ''1.0'''),
 ('substr(name, -1) = ''x'''), ('substr(name, 0, 2) = ''x'''), ('substr(name, a) = ''x'''),
 ('name LIKE ''x'' ESCAPE ''ab'''), ('name GLOB ''[a-z]*'''), ('name GLOB b'),
 ('RAISE(ABORT, ''x'')'), ('CASE END'), ('CAST(a AS)'), ('99999999999999999999 > a'), ('0x1ffffffffffffffff'),
 ('12abc'), ('1.2.3'), ('''text'''), ('(a, b) = (1, 2)'), ('nextval(''s'')'), ('current_setting(''x'')'),
 ('lower(name) COLLATE "C"'), ('a::text'), ('E''\x41'' = name'), ('$$x$$ = name'), ('a ~ ''x''')
) x(e);

-- very long input, and too deep nesting
SELECT pg_temp.tr(repeat('a + ', 2500) || 'a > 0');
SELECT pg_temp.tr(repeat('(', 40) || 'a' || repeat(')', 40));
SELECT pg_temp.tr(repeat('a + ', 1100) || 'a');
SELECT length(pg_temp.tr(repeat('a + ', 900) || 'a', 'index')) > 0 AS long_chain_ok;

DROP EXTENSION sqlite_fdw_mig;

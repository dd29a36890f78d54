-- Functions shared by the pg_regress tests (sql/*.sql include this file).

-- read column x of row "id" of foreign table tbl, or the error it raises
CREATE FUNCTION try_read(tbl regclass, ids int[])
RETURNS TABLE (id int, result text) LANGUAGE plpgsql AS $$
DECLARE
  i int;
  r text;
BEGIN
  FOREACH i IN ARRAY ids LOOP
    BEGIN
      EXECUTE format('SELECT x::text FROM %s WHERE id = $1', tbl) INTO STRICT r USING i;
      id := i;
      result := coalesce(r, 'NULL');
    EXCEPTION WHEN OTHERS THEN
      id := i;
      result := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

-- pg_vigil regression suites: shared setup.
CREATE EXTENSION pg_vigil;

-- try(sql) runs a statement and returns 'ok' or a stable 'SQLSTATE: message' line.
CREATE FUNCTION public.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_vigil';

-- The extension's objects as a catalog sees them: an updated install must equal a fresh one.
SELECT 'member', pg_catalog.pg_describe_object(classid, objid, objsubid)
  FROM pg_catalog.pg_depend
 WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_vigil')
 ORDER BY 2;
SELECT 'relation', c.relname, c.relkind, c.relacl::text, c.relrowsecurity, c.relpersistence
  FROM pg_catalog.pg_class c WHERE c.relnamespace = 'vigil'::regnamespace ORDER BY 2;
-- Columns in order (an update drops and adds columns: numbers differ, order may not).
SELECT 'column', c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, a.attacl::text
  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'vigil'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 2, 3;
SELECT 'index', indexname, indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'vigil' ORDER BY 2;
SELECT 'constraint', conrelid::regclass, conname, pg_catalog.pg_get_constraintdef(oid)
  FROM pg_catalog.pg_constraint WHERE connamespace = 'vigil'::regnamespace ORDER BY conrelid::regclass::text, 3;
SELECT 'view', viewname, definition FROM pg_catalog.pg_views WHERE schemaname = 'vigil' ORDER BY 2;
SELECT 'function', p.oid::regprocedure, pg_catalog.pg_get_function_result(p.oid), p.prokind, p.provolatile, p.proparallel,
       p.prosecdef, p.proisstrict, p.proconfig, p.proacl::text, p.probin, pg_catalog.md5(p.prosrc)
  FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'vigil'::regnamespace ORDER BY p.oid::regprocedure::text;
SELECT 'aggregate', a.aggfnoid::regprocedure, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn, a.aggtranstype::regtype
  FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
 WHERE p.pronamespace = 'vigil'::regnamespace ORDER BY a.aggfnoid::regprocedure::text;
SELECT 'type', t.typname, t.typtype FROM pg_catalog.pg_type t WHERE t.typnamespace = 'vigil'::regnamespace ORDER BY 2;
SELECT 'policy', tablename, policyname, cmd, roles, qual, with_check FROM pg_catalog.pg_policies WHERE schemaname = 'vigil' ORDER BY 2, 3;
SELECT 'trigger', tgrelid::regclass, tgname, pg_catalog.pg_get_triggerdef(oid)
  FROM pg_catalog.pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = 'vigil'::regnamespace)
 ORDER BY tgrelid::regclass::text, 3;
SELECT 'event trigger', evtname, evtevent, evtfoid::regprocedure, evttags, evtenabled FROM pg_catalog.pg_event_trigger ORDER BY 2;
SELECT 'config dump', x.c::regclass, x.cond
  FROM pg_catalog.pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, cond) WHERE e.extname = 'pg_vigil' ORDER BY x.c::regclass::text;
SELECT 'schema', nspname, nspacl::text FROM pg_catalog.pg_namespace WHERE nspname = 'vigil';

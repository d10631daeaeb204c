-- pg_vigil 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION pg_vigil UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 changes no SQL object. What changed is inside the library, and it reads what 0.1.0
-- stored: statistics deltas may carry a new frame (per column, the rows where it alone was
-- NULL), which windows written by 0.1.0 simply lack; scoring memos keep their format.

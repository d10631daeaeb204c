-- pg_vigil catalog: configuration and records. Users read them through views (or, for
-- vigil.quarantine, through row-level security) and change them only through vigil.* functions.

GRANT USAGE ON SCHEMA vigil TO PUBLIC;

-- Tables and columns are referred to by name, so pg_dump/pg_restore carries the contract to a
-- database where OIDs and attribute numbers differ: relid is a regclass (dumped as the table's
-- name, read back as the new OID), columns are kept by name, and renames are followed by the
-- vigil_ddl_end event trigger.

-- One row per declared constraint.
CREATE TABLE vigil.constraint_def (
    constraint_id   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid           regclass NOT NULL,
    constraint_name text NOT NULL,
    kind            text NOT NULL,
    on_violation    text NOT NULL,
    mostly          double precision NOT NULL DEFAULT 1.0,
    params          jsonb NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    column_name     text,                  -- NULL: a constraint on the table (row count)
    UNIQUE (relid, constraint_name)
);

-- One row per constraint and write batch that violated it (warn, quarantine and repair modes).
CREATE TABLE vigil.violation_log (
    violation_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid            regclass NOT NULL,
    constraint_id    integer,
    constraint_name  text NOT NULL,
    column_name      text,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    txid             bigint NOT NULL DEFAULT txid_current(),
    batch_rows       bigint NOT NULL,
    unexpected_count bigint,               -- NULL for batch-level constraints (an aggregate, no rows)
    action           text NOT NULL,
    sample           jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX violation_log_relid_idx ON vigil.violation_log (relid, detected_at);

-- Rows diverted by on_violation => 'quarantine': nothing is lost, release_quarantine puts them back.
CREATE TABLE vigil.quarantine (
    quarantine_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid            regclass NOT NULL,
    constraint_names text[] NOT NULL,
    row_data         jsonb NOT NULL,
    captured_at      timestamptz NOT NULL DEFAULT now(),
    txid             bigint NOT NULL DEFAULT txid_current(),
    -- 'insert', or 'update': then the table kept old_row_data and row_data is the refused version.
    operation        text NOT NULL DEFAULT 'insert' CHECK (operation IN ('insert', 'update')),
    old_row_data     jsonb
);
CREATE INDEX quarantine_relid_idx ON vigil.quarantine (relid);
ALTER TABLE vigil.quarantine ENABLE ROW LEVEL SECURITY;
CREATE POLICY quarantine_readers ON vigil.quarantine FOR SELECT
    USING (pg_catalog.has_table_privilege(relid, 'SELECT'));

-- Watched tables: which columns are profiled, in which windows.
CREATE TABLE vigil.watch_def (
    relid        regclass PRIMARY KEY,
    window_size  interval NOT NULL,
    -- The key each watched column's statistics are stored under (its attnum when watched, in the
    -- database the watch was made in), in the order of `columns`, ascending.
    attnums      smallint[] NOT NULL,
    epoch        integer NOT NULL DEFAULT 1, -- bumped by TRUNCATE: older statistics stop counting
    baseline_from timestamptz,             -- vigil.set_baseline; NULL: compare with the history
    baseline_to  timestamptz,
    evaluated_through timestamptz,         -- the latest finished window scored for alerts
    created_at   timestamptz NOT NULL DEFAULT now(),
    time_column  text,                     -- NULL: a row belongs to the window it was written in
    columns      text[] NOT NULL,          -- the watched columns' names
    grace        interval,                 -- vigil.set_grace; NULL: vigil.grace, else learned
    evaluate_after timestamptz             -- when evaluation next has something to judge
);

-- Windows marked by vigil.mark_window: invalid ones stop counting as history and baseline.
CREATE TABLE vigil.window_mark (
    relid        regclass NOT NULL,
    window_start timestamptz NOT NULL,
    valid        boolean NOT NULL,
    marked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (relid, window_start)
);

-- Statistics: append-only deltas, one row per write statement and window, written in the same
-- transaction as the data (a rolled-back write leaves none), merged on read, compacted later.
-- payload holds the serialized profile of every watched column (src/profile/window.rs).
-- Two partitions (src/catalog/compact.rs): the delta of a small write (under 16 rows in its
-- window) goes unindexed to profile_delta_unindexed, where writing it is a heap insert alone; its
-- writer soon merges it into profile_delta_indexed, which holds everything else, so the
-- unindexed partition stays small enough for readers to scan whole.
CREATE TABLE vigil.profile_delta (
    -- The write path inserts rows directly in this column order (catalog::compact::insert_into).
    relid        regclass NOT NULL,
    epoch        integer NOT NULL,
    window_start timestamptz,              -- NULL: rows whose time value is NULL
    row_count    bigint NOT NULL,          -- rows profiled in this delta (drives compaction tiers)
    payload      bytea NOT NULL,
    indexed      boolean NOT NULL          -- the partition: whether the window index lists it
) PARTITION BY LIST (indexed);
CREATE TABLE vigil.profile_delta_indexed PARTITION OF vigil.profile_delta FOR VALUES IN (true);
CREATE TABLE vigil.profile_delta_unindexed PARTITION OF vigil.profile_delta FOR VALUES IN (false);
CREATE INDEX profile_delta_window_idx ON vigil.profile_delta_indexed (relid, epoch, window_start)
    -- One entry per delta: a deduplicated posting list cannot be marked dead while any delta in it
    -- lives, so scans would fetch every merged-away delta again until VACUUM.
    WITH (deduplicate_items = off);
-- Deltas of up to a few hundred rows stay in the row (no TOAST table round trip); merged deltas
-- are deleted often, so VACUUM them early.
ALTER TABLE vigil.profile_delta_indexed SET (toast_tuple_target = 8160, autovacuum_vacuum_scale_factor = 0.01,
                                             autovacuum_vacuum_threshold = 1000);
ALTER TABLE vigil.profile_delta_unindexed SET (toast_tuple_target = 8160, autovacuum_vacuum_scale_factor = 0.01,
                                               autovacuum_vacuum_threshold = 1000);
-- Reads decompress every payload: lz4 is several times faster than pglz (where available).
DO $$
BEGIN
    ALTER TABLE vigil.profile_delta_indexed ALTER COLUMN payload SET COMPRESSION lz4;
    ALTER TABLE vigil.profile_delta_unindexed ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END $$;

-- Alerts: one row per incident (columns breaking together, over one or more windows).
CREATE TABLE vigil.alert (
    alert_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid           regclass NOT NULL,
    window_start    timestamptz NOT NULL,  -- the first window of the incident
    last_window     timestamptz NOT NULL,  -- the latest window that alerted in it
    opened_at       timestamptz NOT NULL DEFAULT now(),
    severity        text NOT NULL CHECK (severity IN ('warning', 'critical')),
    score           double precision NOT NULL,
    columns         text[] NOT NULL,
    summary         text NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    acknowledged_at timestamptz,
    resolved_at     timestamptz
);
CREATE INDEX alert_relid_idx ON vigil.alert (relid) WHERE state <> 'resolved';

-- Scoring memos (src/drift/memo.rs): each evaluated window's drift per column, the statistics
-- it was scored on and their raw scores. A memo holds while the window's row count and validity
-- are unchanged (and those of the windows before it); the newest also keeps the reference the
-- next window is compared with (window payload format). A cache that vigil.evaluate() rebuilds,
-- so pg_dump leaves it out.
CREATE TABLE vigil.window_memo (
    relid        oid NOT NULL,
    epoch        integer NOT NULL,
    window_start timestamptz NOT NULL,
    row_count    bigint NOT NULL,
    valid        boolean NOT NULL,
    memo         bytea NOT NULL,
    reference    bytea,
    PRIMARY KEY (relid, epoch, window_start)
);
-- Reading status decompresses a year of memos: lz4, as for the deltas.
DO $$
BEGIN
    ALTER TABLE vigil.window_memo ALTER COLUMN memo SET COMPRESSION lz4, ALTER COLUMN reference SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END $$;

REVOKE ALL ON vigil.watch_def, vigil.profile_delta, vigil.profile_delta_indexed, vigil.profile_delta_unindexed,
              vigil.window_mark, vigil.alert, vigil.window_memo FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('vigil.alert', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.window_mark', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.watch_def', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.profile_delta_indexed', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.profile_delta_unindexed', '');

REVOKE ALL ON vigil.constraint_def, vigil.violation_log, vigil.quarantine FROM PUBLIC;
GRANT SELECT ON vigil.quarantine TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('vigil.constraint_def', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.violation_log', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.quarantine', '');
-- Their identity counters too: restored rows keep their ids, new ones must not collide.
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.constraint_def', 'constraint_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.violation_log', 'violation_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.quarantine', 'quarantine_id')::pg_catalog.regclass, '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('vigil.alert', 'alert_id')::pg_catalog.regclass, '');

-- Scale-out (src/remote): data nodes, distributed tables, and the commit decisions of the
-- two-phase transactions pg_vigil runs on nodes. Servers are kept by name, as dumps keep them.
CREATE TABLE vigil.node (
    server           text PRIMARY KEY,     -- a postgres_fdw foreign server (with a user mapping)
    added_at         timestamptz NOT NULL DEFAULT now(),
    pg_vigil_version text,
    last_contact     timestamptz           -- the last time it answered
);
-- Partitioned tables whose partitions are foreign tables on nodes: the nodes enforce and
-- profile, every change of the contract reaches them in the changing transaction.
CREATE TABLE vigil.distributed (
    relid          regclass PRIMARY KEY,
    distributed_at timestamptz NOT NULL DEFAULT now()
);
-- One row per node transaction pg_vigil prepared, written in the coordinator's transaction: the
-- decision vigil.recover_nodes() reads (present: commit it; absent and over: roll it back).
CREATE TABLE vigil.node_txn (
    gid        text PRIMARY KEY,
    server     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The nodes' statistics of distributed tables, as last fetched (src/remote/stats.rs): per node's
-- table and window, the node's merged profile under the coordinator's column keys. Readers
-- merge the nodes' windows as they merge deltas; a node out of reach keeps its last copy.
CREATE TABLE vigil.node_window (
    relid        regclass NOT NULL,
    source       text NOT NULL,            -- the server and the node's table, 'n1:public.readings'
    node_epoch   integer NOT NULL,         -- the node's statistics epoch the copy belongs to
    window_start timestamptz,              -- NULL: rows whose time value is NULL
    row_count    bigint NOT NULL,
    payload      bytea NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (relid, source, window_start)
);
REVOKE ALL ON vigil.node, vigil.distributed, vigil.node_txn, vigil.node_window FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('vigil.node', '');
SELECT pg_catalog.pg_extension_config_dump('vigil.distributed', '');

-- Rows are shown only to roles that may read the source table.
CREATE VIEW vigil.constraints WITH (security_barrier) AS
SELECT c.constraint_name,
       c.relid,
       c.column_name,
       c.kind,
       c.on_violation,
       c.mostly,
       c.params,
       c.enabled
  FROM vigil.constraint_def c
 WHERE pg_catalog.has_table_privilege(c.relid, 'SELECT');

CREATE VIEW vigil.violations WITH (security_barrier) AS
SELECT v.relid,
       v.constraint_name,
       v.column_name,
       v.detected_at,
       v.txid,
       v.batch_rows,
       v.unexpected_count,
       v.action,
       v.sample,
       v.violation_id
  FROM vigil.violation_log v
 WHERE pg_catalog.has_table_privilege(v.relid, 'SELECT');

GRANT SELECT ON vigil.constraints, vigil.violations TO PUBLIC;

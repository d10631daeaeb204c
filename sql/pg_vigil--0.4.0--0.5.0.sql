-- pg_vigil 0.4.0 -> 0.5.0
\echo Use "ALTER EXTENSION pg_vigil UPDATE TO '0.5.0'" to load this file. \quit

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

-- pg_vigil::api::nodes::_add_node
CREATE  FUNCTION "_add_node"(
	"server" TEXT /* Option < & str > */
) RETURNS bool /* bool */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'add_node_wrapper';

-- pg_vigil::api::nodes::_apply_contract
CREATE  FUNCTION "_apply_contract"(
	"tbl" oid, /* Option < Oid > */
	"contract" jsonb /* Option < pgrx :: JsonB > */
) RETURNS bool /* bool */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'apply_contract_wrapper';

-- pg_vigil::api::nodes::_distribute
CREATE  FUNCTION "_distribute"(
	"tbl" oid /* Option < Oid > */
) RETURNS INT /* i32 */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'distribute_wrapper';

-- pg_vigil::api::nodes::_nodes
CREATE  FUNCTION "_nodes"() RETURNS TABLE (
	"server" TEXT,  /* String */
	"reachable" bool,  /* bool */
	"pg_vigil_version" TEXT,  /* Option < String > */
	"last_contact" timestamp with time zone,  /* Option < TimestampWithTimeZone > */
	"problem" TEXT  /* Option < String > */
)
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'nodes_wrapper';

-- pg_vigil::api::nodes::_recover_nodes
CREATE  FUNCTION "_recover_nodes"() RETURNS TABLE (
	"server" TEXT,  /* String */
	"gid" TEXT,  /* Option < String > */
	"action" TEXT  /* String */
)
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'recover_nodes_wrapper';

-- pg_vigil::api::nodes::_remove_node
CREATE  FUNCTION "_remove_node"(
	"server" TEXT /* Option < & str > */
) RETURNS bool /* bool */

SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'remove_node_wrapper';

-- pg_vigil::api::nodes::_statistics_keys
CREATE  FUNCTION "_statistics_keys"(
	"tbl" oid /* Oid */
) RETURNS TABLE (
	"epoch" INT,  /* i32 */
	"attnums" smallint[],  /* Vec < i16 > */
	"columns" TEXT[]  /* Vec < String > */
)
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'statistics_keys_wrapper';

-- pg_vigil::api::nodes::_window_payloads
CREATE  FUNCTION "_window_payloads"(
	"tbl" oid, /* Oid */
	"epoch" INT, /* i32 */
	"have" jsonb /* pgrx :: JsonB */
) RETURNS TABLE (
	"window_usecs" bigint,  /* Option < i64 > */
	"row_count" bigint,  /* i64 */
	"payload" bytea  /* :: std :: option :: Option < Vec < u8 > > */
)
STRICT 
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'window_payloads_wrapper';


-- Scale-out: data nodes (postgres_fdw servers whose databases run pg_vigil) and distributed
-- tables (partitioned, their partitions foreign tables on the nodes). See src/remote.
CREATE FUNCTION vigil.add_node(server text)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._add_node(server) $$;

CREATE FUNCTION vigil.remove_node(server text)
RETURNS boolean LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._remove_node(server) $$;

CREATE FUNCTION vigil.distribute(tbl regclass)
RETURNS integer LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT vigil._distribute(tbl) $$;

CREATE FUNCTION vigil.recover_nodes()
RETURNS TABLE (server text, gid text, action text) LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM vigil._recover_nodes() $$;

-- Every registered node, contacted when read.
CREATE VIEW vigil.nodes AS SELECT * FROM vigil._nodes();
GRANT SELECT ON vigil.nodes TO PUBLIC;

-- A dropped distributed table leaves no record of its distribution or its nodes' statistics.
CREATE OR REPLACE FUNCTION vigil._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    obj record;
    dropped record;
    discarded bigint;
BEGIN
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
                WHERE object_type IN ('table', 'table column') LOOP
        IF obj.object_type = 'table' THEN
            FOR dropped IN DELETE FROM vigil.constraint_def WHERE relid = obj.objid
                           RETURNING constraint_name LOOP
                RAISE NOTICE 'pg_vigil constraint "%" dropped with table %',
                    dropped.constraint_name, obj.object_identity;
            END LOOP;
            DELETE FROM vigil.violation_log WHERE relid = obj.objid;
            DELETE FROM vigil.watch_def WHERE relid = obj.objid;
            DELETE FROM vigil.window_mark WHERE relid = obj.objid;
            DELETE FROM vigil.profile_delta WHERE relid = obj.objid;
            DELETE FROM vigil.window_memo WHERE relid = obj.objid;
            DELETE FROM vigil.alert WHERE relid = obj.objid;
            DELETE FROM vigil.distributed WHERE relid = obj.objid;
            DELETE FROM vigil.node_window WHERE relid = obj.objid;
            DELETE FROM vigil.quarantine WHERE relid = obj.objid;
            GET DIAGNOSTICS discarded = ROW_COUNT;
            IF discarded > 0 THEN
                RAISE NOTICE 'pg_vigil discarded % quarantined rows of dropped table %',
                    discarded, obj.object_identity;
            END IF;
        ELSE
            -- address_names: {schema, table, column}.
            FOR dropped IN DELETE FROM vigil.constraint_def
                            WHERE relid = obj.objid
                              AND (column_name = obj.address_names[3] OR params->'columns' ? obj.address_names[3])
                           RETURNING constraint_name, relid LOOP
                RAISE NOTICE 'pg_vigil constraint "%" dropped with column %',
                    dropped.constraint_name, obj.object_identity;
                PERFORM vigil._sync_triggers(dropped.relid);
            END LOOP;
        END IF;
    END LOOP;
END $$;

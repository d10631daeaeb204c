-- Great Expectations suites in and out: import declares a suite's expectations in one
-- transaction (all or nothing); export gives the table's contract as a suite that imports back
-- to the same contract.
CREATE TABLE feed (id int, price float8, day date, size text, qty int, total int);
SELECT * FROM vigil.import_expectations('feed', $${
  "name": "feed_suite",
  "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "price", "min_value": 0, "max_value": 100, "mostly": 0.95},
     "meta": {"pg_vigil": {"on_violation": "warn", "name": "price_range"}}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "day", "min_value": "2024-01-01", "max_value": {"$PARAMETER": "datetime(2030, 1, 1) - timedelta(days=1)"}}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "size", "value_set": ["S", "M", "L"]},
     "meta": {"pg_vigil": {"on_violation": "quarantine"}}},
    {"expectation_type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "total", "column_B": "qty", "or_equal": true}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id", "result_format": "COMPLETE"}},
    {"type": "expect_column_quantile_values_to_be_between", "kwargs": {"column": "price", "quantile_ranges": {"quantiles": [0.5, 0.9], "value_ranges": [[1, 50], [null, 99]]}}},
    {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": ["id", "price", "day", "size", "qty", "total"]}}
  ]}$$);
SELECT constraint_name, column_name, kind, on_violation, mostly FROM vigil.constraints
 WHERE relid = 'feed'::regclass ORDER BY constraint_name;
-- The imported contract works like a declared one.
SELECT try($$INSERT INTO feed VALUES (1, 10, '2024-03-01', 'S', 2, 1)$$);
INSERT INTO feed VALUES (1, 10, '2024-03-01', 'S', 2, 2), (2, 20, '2024-03-01', 'XL', 1, 1);
SELECT count(*) AS stored, (SELECT count(*) FROM vigil.quarantine WHERE relid = 'feed'::regclass) AS quarantined FROM feed;

-- Export: GE's names and arguments, pg_vigil's settings under meta.pg_vigil.
SELECT e->>'type' AS type, e->'kwargs' AS kwargs, e->'meta'->'pg_vigil'->>'on_violation' AS on_violation
  FROM jsonb_array_elements(vigil.export_expectations('feed')->'expectations') e;
-- Round trip: an export imported into another table gives the same contract.
CREATE TABLE feed_copy (LIKE feed);
SELECT count(*) AS declared FROM vigil.import_expectations('feed_copy', vigil.export_expectations('feed'));
SELECT (SELECT jsonb_agg(e) FROM jsonb_array_elements(vigil.export_expectations('feed')->'expectations') e)
     = (SELECT jsonb_agg(e) FROM jsonb_array_elements(vigil.export_expectations('feed_copy')->'expectations') e) AS same_contract;

-- All or nothing: one expectation that cannot be honoured declares none of the suite.
CREATE TABLE empty_contract (id int, v text);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "id", "threshold": 0.1}}]}')$$);
SELECT count(*) AS constraints FROM vigil.constraints WHERE relid = 'empty_contract'::regclass;
SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    {"type": "expect_column_kl_divergence_to_be_less_than", "kwargs": {"column": "id", "threshold": 0.1}}]}', on_unsupported => 'skip');
-- Bad input names the expectation and changes nothing.
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "nope"}}]}')$$);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "id", "value_set": ["one"]}}]}')$$);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "v", "row_condition": "id > 1"}}]}')$$);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "id", "min_value": {"$PARAMETER": "now(); DROP TABLE feed"}}}]}')$$);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": {}}')$$);
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": []}', on_unsupported => 'ignore')$$);
SELECT count(*) AS constraints FROM vigil.constraints WHERE relid = 'empty_contract'::regclass;

-- Only the owner declares; export needs SELECT on the table.
CREATE ROLE suite_reader;
SET ROLE suite_reader;
SELECT try($$SELECT * FROM vigil.import_expectations('empty_contract', '{"expectations": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}}]}')$$);
SELECT try($$SELECT vigil.export_expectations('feed')$$);
RESET ROLE;
GRANT SELECT ON feed TO suite_reader;
SET ROLE suite_reader;
SELECT jsonb_array_length(vigil.export_expectations('feed')->'expectations') AS exported;
RESET ROLE;
-- (The NOTICEs of dropped constraints come in no fixed order across tables.)
SET client_min_messages = warning;
DROP TABLE feed, feed_copy, empty_contract;
RESET client_min_messages;
DROP ROLE suite_reader;

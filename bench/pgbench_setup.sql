-- Single-row INSERT throughput: the same 22-column table, unwatched and watched on all columns.
CREATE TABLE pb_plain (LIKE b_plain);
CREATE TABLE pb_watched (LIKE b_plain);
SELECT vigil.watch('pb_watched', time_column => 'ts', window_size => '1 day');
CREATE TABLE pgbench_result (tbl text, round int, tps float8);

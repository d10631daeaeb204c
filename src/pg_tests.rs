//! `#[pg_test]`: trigger and SPI behaviour inside a real backend (each test runs in its own
//! transaction, rolled back at the end).
#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    fn run(sql: &str) {
        Spi::run(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn count(sql: &str) -> i64 {
        Spi::get_one::<i64>(sql).unwrap_or_else(|e| panic!("{sql}: {e}")).unwrap_or(-1)
    }

    /// The SQLSTATE a statement fails with, caught in a subtransaction.
    fn sqlstate_of(sql: &str) -> String {
        let quoted = sql.replace('\'', "''");
        Spi::get_one::<String>(&format!("SELECT pg_temp.try_sql('{quoted}')"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_default()
    }

    fn install_try() {
        run("CREATE FUNCTION pg_temp.try_sql(q text) RETURNS text LANGUAGE plpgsql AS $$
             BEGIN EXECUTE q; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$");
    }

    #[pg_test]
    fn warn_records_one_violation_per_statement() {
        run("CREATE TABLE t (x float8)");
        run("SELECT vigil.expect_between('t', 'x', 0, 1, on_violation => 'warn')");
        run("INSERT INTO t SELECT g / 10.0 FROM generate_series(0, 20) g");
        assert_eq!(count("SELECT count(*) FROM t"), 21);
        assert_eq!(count("SELECT count(*) FROM vigil.violations"), 1);
        assert_eq!(count("SELECT unexpected_count FROM vigil.violations"), 10);
        assert_eq!(count("SELECT batch_rows FROM vigil.violations"), 21);
    }

    #[pg_test]
    fn rule_cache_follows_declare_and_drop_within_a_transaction() {
        install_try();
        run("CREATE TABLE c (x int)");
        run("SELECT vigil.expect_between('c', 'x', 0, 10)");
        // The first write compiles and caches the rules of c.
        run("INSERT INTO c VALUES (5)");
        assert_eq!(sqlstate_of("INSERT INTO c VALUES (50)"), "23514");
        run("SELECT vigil.drop_constraint('c', 'c_x_between')");
        assert_eq!(sqlstate_of("INSERT INTO c VALUES (50)"), "ok");
        run("SELECT vigil.expect_between('c', 'x', 0, 100)");
        assert_eq!(sqlstate_of("INSERT INTO c VALUES (500)"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO c VALUES (60)"), "ok");
        // Without constraints the triggers are gone, not left to do nothing.
        run("SELECT vigil.drop_constraint('c', 'c_x_between')");
        assert_eq!(count("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'c'::regclass"), 0);
    }

    #[pg_test]
    fn quarantine_flushes_large_batches_without_losing_rows() {
        run("CREATE TABLE q (id int, payload text, v float8)");
        run("SELECT vigil.expect_between('q', 'v', 0, 1, on_violation => 'quarantine')");
        // ~4 MB of quarantined rows: several flushes inside the statement.
        run("INSERT INTO q SELECT g, repeat('x', 400), CASE WHEN g % 2 = 0 THEN 5 ELSE 0.5 END
               FROM generate_series(1, 20000) g");
        assert_eq!(count("SELECT count(*) FROM q"), 10000);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine"), 10000);
        assert_eq!(count("SELECT count(DISTINCT (row_data->>'id')::int) FROM vigil.quarantine"), 10000);
        assert_eq!(count("SELECT unexpected_count FROM vigil.violations WHERE action = 'quarantine'"), 10000);
    }

    #[pg_test]
    fn rolled_back_subtransaction_leaves_no_records() {
        run("CREATE TABLE s (v float8)");
        run("SELECT vigil.expect_between('s', 'v', 0, 1, on_violation => 'quarantine')");
        run("SELECT vigil.expect_finite('s', 'v', on_violation => 'warn')");
        run("DO $$ BEGIN
               INSERT INTO s VALUES (5), (0.5), ('NaN');
               RAISE EXCEPTION 'undo';
             EXCEPTION WHEN raise_exception THEN NULL; END $$");
        assert_eq!(count("SELECT count(*) FROM s"), 0);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine"), 0);
        assert_eq!(count("SELECT count(*) FROM vigil.violations"), 0);
        run("INSERT INTO s VALUES (7)");
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine"), 1);
    }

    #[pg_test]
    fn outer_quarantined_rows_survive_an_inner_rollback() {
        // a's row trigger buffers a quarantined row; before a's statement trigger writes it, a
        // user trigger on a writes into b inside a subtransaction that rolls back. b's statement
        // trigger must not write a's rows into that doomed subtransaction.
        run("CREATE TABLE a (v float8)");
        run("CREATE TABLE b (v float8)");
        run("SELECT vigil.expect_between('a', 'v', 0, 1, on_violation => 'quarantine')");
        run("SELECT vigil.expect_between('b', 'v', 0, 1, on_violation => 'quarantine')");
        run("CREATE FUNCTION pg_temp.poke() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               BEGIN
                 INSERT INTO b VALUES (9);
                 RAISE EXCEPTION 'undo';
               EXCEPTION WHEN raise_exception THEN NULL;
               END;
               RETURN NULL;
             END $$");
        run("CREATE TRIGGER poke AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION pg_temp.poke()");
        run("INSERT INTO a VALUES (5), (0.5)");
        assert_eq!(count("SELECT count(*) FROM a"), 1);
        assert_eq!(count("SELECT count(*) FROM b"), 0);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine WHERE relid = 'a'::regclass"), 1);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine WHERE relid = 'b'::regclass"), 0);
    }

    #[pg_test]
    fn multi_column_quarantine_follows_subtransactions() {
        // A row-local multi-column rule diverts in the row trigger, its tally counted per
        // subtransaction: a rolled-back savepoint takes its diverted rows and records with it.
        run("CREATE TABLE m (a int, b int)");
        run("SELECT vigil.expect_sum_equal('m', ARRAY['a', 'b'], 10, on_violation => 'quarantine')");
        run("DO $$ BEGIN
               INSERT INTO m VALUES (1, 2), (4, 6);
               RAISE EXCEPTION 'undo';
             EXCEPTION WHEN raise_exception THEN NULL; END $$");
        assert_eq!(count("SELECT count(*) FROM m"), 0);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine"), 0);
        assert_eq!(count("SELECT count(*) FROM vigil.violations"), 0);
        run("INSERT INTO m VALUES (1, 2), (4, 6), (3, 3)");
        assert_eq!(count("SELECT count(*) FROM m"), 1);
        assert_eq!(count("SELECT count(*) FROM vigil.quarantine WHERE relid = 'm'::regclass"), 2);
        assert_eq!(count("SELECT sum(unexpected_count)::bigint FROM vigil.violations WHERE action = 'quarantine'"), 2);
    }

    #[pg_test]
    fn batch_uniqueness_reads_toasted_and_numeric_keys() {
        install_try();
        run("CREATE TABLE u (doc text, amount numeric)");
        run("SELECT vigil.expect_unique('u', 'doc')");
        run("SELECT vigil.expect_unique('u', 'amount', name => 'amount_unique')");
        // Two compressed (TOASTed) values that differ only at their end, and numerics beyond a
        // double's precision: all distinct.
        run("INSERT INTO u SELECT repeat('x', 100000) || g, 12345678901234567890 + g FROM generate_series(1, 2) g");
        assert_eq!(sqlstate_of("INSERT INTO u VALUES (repeat('y', 100000), 1), (repeat('y', 100000), 2)"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO u VALUES ('p', 2.50), ('q', 2.5)"), "23514");
        assert_eq!(count("SELECT count(*) FROM u"), 2);
    }

    #[pg_test]
    fn numeric_bounds_compare_exactly() {
        install_try();
        run("CREATE TABLE n (x numeric)");
        run("SELECT vigil.expect_between('n', 'x', 0.1, 0.3)");
        assert_eq!(sqlstate_of("INSERT INTO n VALUES (0.3)"), "ok");
        // Equal to 0.3 as a double, but not as a numeric.
        assert_eq!(sqlstate_of("INSERT INTO n VALUES (0.30000000000000000001)"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO n VALUES ('NaN')"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO n VALUES (NULL)"), "ok");
    }

    #[pg_test]
    fn toasted_text_is_checked_and_domains_resolve() {
        run("CREATE DOMAIN pg_temp.prob AS float8");
        run("CREATE TABLE big (doc text, p pg_temp.prob)");
        run("ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL");
        run("SELECT vigil.expect_length_between('big', 'doc', 0, 5000, on_violation => 'warn')");
        run("SELECT vigil.expect_match('big', 'doc', 'needle', on_violation => 'warn')");
        run("SELECT vigil.expect_between('big', 'p', 0, 1, on_violation => 'warn')");
        // 3 rows stored out of line (> 2 kB), one of them too long, one without the needle.
        run("INSERT INTO big VALUES (repeat('a', 3000) || 'needle', 0.5),
                                    (repeat('b', 9000) || 'needle', 2),
                                    (repeat('c', 4000), 0.1)");
        assert_eq!(count("SELECT unexpected_count FROM vigil.violations WHERE constraint_name = 'big_doc_length_between'"), 1);
        assert_eq!(count("SELECT unexpected_count FROM vigil.violations WHERE constraint_name = 'big_doc_match'"), 1);
        assert_eq!(count("SELECT unexpected_count FROM vigil.violations WHERE constraint_name = 'big_p_between'"), 1);
        assert_eq!(count("SELECT unexpected_count FROM vigil.validate('big') WHERE kind = 'match'"), 1);
    }

    #[pg_test]
    fn on_conflict_update_checks_both_sides() {
        install_try();
        run("CREATE TABLE u (id int PRIMARY KEY, v int)");
        run("INSERT INTO u VALUES (1, 1)");
        run("SELECT vigil.expect_between('u', 'v', 0, 10)");
        assert_eq!(sqlstate_of("INSERT INTO u VALUES (1, 50) ON CONFLICT (id) DO UPDATE SET v = excluded.v"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO u VALUES (2, 50) ON CONFLICT (id) DO UPDATE SET v = excluded.v"), "23514");
        assert_eq!(sqlstate_of("INSERT INTO u VALUES (1, 7) ON CONFLICT (id) DO UPDATE SET v = excluded.v"), "ok");
        assert_eq!(count("SELECT v FROM u WHERE id = 1"), 7);
    }
}

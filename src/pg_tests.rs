//! `#[pg_test]`: trigger and SPI behaviour inside a real backend.
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
}

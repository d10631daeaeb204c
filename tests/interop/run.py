#!/usr/bin/env python3
"""Sketch interoperability: the KLL and frequent-items sketches inside a serialized profile
(`vigil.profile(...)`, the form statistics deltas store) are Apache DataSketches images. This
reads them with the Python `datasketches` package and checks them against SQL over the same rows.

    run.py HOST PORT DB        prints what it compared; exits 1 on a mismatch
"""
import base64
import struct
import subprocess
import sys

import datasketches

FORMAT_SKETCHES = 3


def sql(conn, query):
    host, port, db = conn
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres",
                          "-d", db, "-c", query], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def sketches(blob):
    """The README's layout of a profile in sketch form: format (1 byte), kind (1), rows, nulls,
    NaN, infinite (4 x u64), the moments (u64 count, f64 mean, m2, min, max), then the KLL, the
    distinct-count and the frequent-items images, each after its u32 length (little-endian)."""
    assert blob[0] == FORMAT_SKETCHES, "a profile of this many values is in sketch form"
    rows, nulls, nan, infinite = struct.unpack_from("<4Q", blob, 2)
    n, mean, m2, lo, hi = struct.unpack_from("<Q4d", blob, 34)
    at, parts = 74, []
    for _ in range(3):
        (length,) = struct.unpack_from("<I", blob, at)
        parts.append(blob[at + 4:at + 4 + length])
        at += 4 + length
    return {"rows": rows, "nulls": nulls, "n": n, "mean": mean, "min": lo, "max": hi,
            "kll": parts[0], "distinct": parts[1], "top": parts[2]}


def main():
    conn = tuple(sys.argv[1:4])
    failures = []

    def check(what, ok, detail):
        print("%-58s %s  %s" % (what, "ok" if ok else "MISMATCH", detail))
        if not ok:
            failures.append(what)

    sql(conn, "CREATE EXTENSION IF NOT EXISTS pg_vigil")
    sql(conn, "DROP TABLE IF EXISTS interop; CREATE TABLE interop AS SELECT g, (g * 7919 % 10007) / 100.0 AS x, "
              "CASE WHEN g % 50 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue', 'amber'])[1 + g % 4 + (g % 7 = 0)::int % 4] END AS c "
              "FROM generate_series(1, 20000) g")
    numbers = sketches(base64.b64decode(sql(conn, "SELECT encode(vigil.profile(x::float8), 'base64') FROM interop")))
    kll = datasketches.kll_doubles_sketch.deserialize(numbers["kll"])
    count = int(sql(conn, "SELECT count(x) FROM interop"))
    check("KLL sketch: values counted", kll.n == count == numbers["n"], "%d in the sketch, %d in SQL" % (kll.n, count))
    lo, hi = (float(v) for v in sql(conn, "SELECT min(x), max(x) FROM interop").split("|"))
    check("KLL sketch: min and max", kll.get_min_value() == lo and kll.get_max_value() == hi,
          "%s..%s, SQL %s..%s" % (kll.get_min_value(), kll.get_max_value(), lo, hi))
    bound = kll.normalized_rank_error(False)
    for q in (0.01, 0.1, 0.5, 0.9, 0.99):
        exact = float(sql(conn, "SELECT percentile_disc(%s) WITHIN GROUP (ORDER BY x) FROM interop" % q))
        rank = kll.get_rank(exact)
        check("KLL sketch: quantile %s" % q, abs(rank - q) <= bound + 1.0 / count,
              "SQL's %s has rank %.4f in the sketch (error bound %.4f)" % (exact, rank, bound))
    labels = sketches(base64.b64decode(sql(conn, "SELECT encode(vigil.profile(c), 'base64') FROM interop")))
    top = datasketches.frequent_strings_sketch.deserialize(labels["top"])
    exact = dict(line.split("|") for line in sql(conn, "SELECT c, count(*) FROM interop WHERE c IS NOT NULL GROUP BY c").splitlines())
    for label, n in sorted(exact.items()):
        check("frequent items: count of %r" % label, top.get_estimate(label) == int(n),
              "%d in the sketch, %s in SQL" % (top.get_estimate(label), n))
    check("frequent items: rows and NULLs", labels["rows"] == 20000 and labels["nulls"] == int(sql(conn, "SELECT count(*) - count(c) FROM interop")),
          "%d rows, %d NULL" % (labels["rows"], labels["nulls"]))
    sql(conn, "DROP TABLE interop")
    if failures:
        print("sketch interoperability: FAILED (%s)" % ", ".join(failures))
        sys.exit(1)
    print("sketch interoperability: ok")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""GATE baseline for the alert quality benchmark (bench/alerts.sh).

    gate.py HOST PORT DBNAME FEED SEED

Runs GATE (PyPI gate-drift 0.1.5, Shankar et al., "Moving Fast With Broken Data") on the watched
table `w` as bench/alerts_seed.sql left it for FEED and SEED, and records one row per judged day
(the days of the feed after its first 28, as for the other systems) in alert_day.

How GATE is used here, from its code (gate/summarize.py, gate/summary.py, gate/drift.py):
  * gate.summarize(df, columns, partition_key) computes one Summary per partition (here: per day)
    with per-column statistics: coverage, mean, p50, p95 for numbers; coverage, num_unique_values,
    occurrence_ratio for strings. A day's summary depends on that day's rows only, so all days are
    summarized in one call.
  * gate.detect_drift(current, previous, cluster=False) z-normalizes every (column, statistic)
    over the previous partitions and the current one, and scores every partition by the mean
    distance to its k=3 nearest neighbours (cKDTree). There is no model kept between calls: it is
    "refit" on the whole history at every call, which is cheap, so every judged day is scored
    against all the days before it (no every-7-days shortcut).
      - score:       DriftResult.score (the current day's mean distance to its 3 nearest days)
      - alerted:     DriftResult.is_drifted (score percentile >= 0.95 among the previous days' scores)
      - top_column:  DriftResult.drifted_columns(limit=1), the column of the statistic with the
                     largest |z-score| on the day (NULL if all are 0)
  * "No clustering": detect_drift(cluster=False). With cluster=True (the default) and >= 10
    columns (weather has 10; pizza 5 and births 3 never reach it), GATE groups columns with
    agglomerative clustering on a mix of their z-scores and a sentence embedding of
    "<name> is of type <type>" (SentenceTransformer clip-ViT-B-32, downloaded from Hugging Face)
    and scores clusters instead of columns. cluster=False skips all of it: the kNN runs on the
    per-column z-scores. HF_HUB_OFFLINE=1 is set so that nothing is ever downloaded.
  * All previous days are passed as valid (detect_drift's validity list left empty): the bench
    does not tell a system which earlier days were bugs.
  * Columns: the feed's columns (bench feed_column), numbers as float, categories and keys as
    text. The timestamp `ts` is left out: GATE's summaries accept only int, float, string and
    boolean columns (Summary.fromRaw asserts so). GATE has no row-count statistic.
"""
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import warnings

warnings.filterwarnings("ignore")

SYSTEM = "GATE (gate-drift, no clustering)"
WARMUP_DAYS = 28


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    host, port, dbname, feed, seed = sys.argv[1:]
    seed = int(seed)
    # This file is gate.py too: drop its directory from the path so that `import gate` finds the
    # package, not this script.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        import gate
        import pandas as pd
        import psycopg
    except Exception as e:  # noqa: BLE001 - any import failure means: skip
        print(f"GATE skipped for {feed} seed {seed}: cannot import gate-drift/psycopg ({e.__class__.__name__}: {e})")
        return 0

    started = time.time()
    with psycopg.connect(host=host, port=int(port), dbname=dbname, user="postgres") as conn:
        conn.execute("SET timezone = 'UTC'")
        cols = conn.execute(
            "SELECT col, kind FROM feed_column WHERE feed = %s ORDER BY position", (feed,)
        ).fetchall()
        if not cols:
            raise SystemExit(f"gate.py: unknown feed {feed!r}")
        # The watched table, wide, one row per loaded row, with its day (UTC, like cells()).
        select = ", ".join(
            f'"{c}"::float8' if k == "num" else f'"{c}"::text' for c, k in cols
        )
        cur = conn.execute(f"SELECT ts::date, {select} FROM w")
        rows = cur.fetchall()
        names = [c for c, _ in cols]
        df = pd.DataFrame(rows, columns=["day"] + names)
        for c, k in cols:
            df[c] = df[c].astype("float64") if k == "num" else df[c].astype("object")
        # Days as ISO strings: GATE's partition key just has to sort and compare.
        df["day"] = df["day"].map(lambda d: d.isoformat())
        # The judged days, as in alerts_seed.sql's judged_days (from the raw feed).
        raw = f"raw_{feed}"
        judged = [
            r[0]
            for r in conn.execute(
                f"SELECT DISTINCT day FROM {raw} WHERE day > (SELECT min(day) FROM {raw}) + %s ORDER BY 1",
                (WARMUP_DAYS,),
            ).fetchall()
        ]

        summaries = gate.summarize(df, columns=names, partition_key="day")
        summaries.sort(key=lambda s: s.partition)
        by_day = {s.partition: i for i, s in enumerate(summaries)}

        out = []
        for d in judged:
            i = by_day.get(d.isoformat())
            if i is None or i < 5:
                # No rows that day (GATE has nothing to summarize) or too little history
                # (detect_drift needs 5 previous partitions): no score, no alert.
                out.append((SYSTEM, feed, seed, d, None, False, None))
                continue
            result = gate.detect_drift(summaries[i], summaries[:i], cluster=False)
            top = result.drifted_columns(limit=1)
            top_column = None
            if len(top) > 0 and abs(float(top["z-score"].iloc[0])) > 0:
                top_column = str(top.index[0])
            score = float(result.score)
            out.append((SYSTEM, feed, seed, d, score, bool(result.is_drifted), top_column))

        with conn.cursor() as cur:
            cur.execute("DELETE FROM alert_day WHERE system = %s AND feed = %s AND seed = %s", (SYSTEM, feed, seed))
            cur.executemany(
                "INSERT INTO alert_day (system, feed, seed, day, score, alerted, top_column)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                out,
            )
    alerts = sum(1 for r in out if r[5])
    print(f"GATE {feed} seed {seed}: {len(out)} days judged, {alerts} alerts, {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Great Expectations' own test cases (tests/ge/definitions, Apache-2.0) run through pg_vigil.

Every case that applies to PostgreSQL (GE's `only_for` / `suppress_test_for`) of an expectation
pg_vigil has becomes a table with GE's data and column types, the matching `vigil.expect_*`
declaration, and `vigil.validate`. A case agrees when pg_vigil gives GE's success (and, where GE
lists them, the same unexpected values), or refuses what GE expects to fail with an error.

    run.py HOST PORT DB [--min-agree N]    prints one line per disagreement and a summary;
                                           exits 1 when fewer than N cases agree, declared
                                           with vigil.expect_* or imported as a GE suite
"""
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))

# GE's expectation -> how pg_vigil declares it. Row-level ones compare unexpected values too.
ROW_LEVEL = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_match_like_pattern",
    "expect_column_values_to_not_match_like_pattern",
    "expect_column_values_to_match_like_pattern_list",
    "expect_column_values_to_not_match_like_pattern_list",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_multicolumn_sum_to_equal",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_values_to_be_increasing",
    "expect_column_values_to_be_decreasing",
}
AGGREGATE = {
    "expect_column_mean_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_quantile_values_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_table_row_count_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_sum_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_unique_value_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_column_distinct_values_to_be_in_set",
    "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
    "expect_column_most_common_value_to_be_in_set",
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_column_to_exist",
}


VALUE_SETS = {"expect_column_distinct_values_to_be_in_set", "expect_column_distinct_values_to_contain_set",
              "expect_column_distinct_values_to_equal_set", "expect_column_most_common_value_to_be_in_set"}


def applies(test):
    only = test.get("only_for")
    if only and not any(b in only for b in ("postgresql", "sqlalchemy")):
        return False
    suppressed = test.get("suppress_test_for") or []
    return "postgresql" not in suppressed and "sqlalchemy" not in suppressed


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "'%s'" % ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def column_types(dataset):
    """GE's PostgreSQL column types, or what its loader infers from the values (pandas dtypes)."""
    schema = (dataset.get("schemas") or {}).get("postgresql")
    types = {}
    for name, values in dataset["data"].items():
        if schema and name in schema:
            types[name] = schema[name].replace("_", " ")  # SQLAlchemy's DOUBLE_PRECISION
            continue
        present = [v for v in values if v is not None]
        if not present:
            # Nothing to infer from: the type GE gives the column for another backend, if any.
            types[name] = other_backend_type(dataset, name)
        elif all(isinstance(v, bool) for v in present):
            types[name] = "BOOLEAN"
        elif present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            types[name] = "BIGINT" if len(present) == len(values) else "DOUBLE PRECISION"
        elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            types[name] = "DOUBLE PRECISION"
        else:
            types[name] = "TEXT"
    return types


OTHER_TYPES = {"integertype": "INTEGER", "integer": "INTEGER", "int": "INTEGER", "longtype": "BIGINT",
               "floattype": "DOUBLE PRECISION", "doubletype": "DOUBLE PRECISION", "float": "DOUBLE PRECISION",
               "stringtype": "TEXT", "varchar": "TEXT", "text": "TEXT", "booleantype": "BOOLEAN"}


def other_backend_type(dataset, name):
    for schema in (dataset.get("schemas") or {}).values():
        found = OTHER_TYPES.get(str(schema.get(name, "")).lower())
        if found:
            return found
    return "TEXT"


def evaluation_parameter(expression):
    """GE's evaluation parameters (Python expressions GE evaluates when it validates) as the SQL
    expression a pg_vigil declaration takes, evaluated once when it is declared."""
    sql = re.sub(r"timedelta\((\w+)=([^)]*)\)", r"make_interval(\1 => \2)", expression)
    # datetime(year, month, day[, hour, minute, second])
    sql = re.sub(r"datetime\(([^)]*)\)", lambda m: "make_timestamp(%s)" % ", ".join(
        [x.strip() for x in m.group(1).split(",")] + ["0"] * (6 - len(m.group(1).split(",")))), sql)
    return sql


def table_sql(dataset, types):
    names = list(dataset["data"].keys())
    rows = len(next(iter(dataset["data"].values()))) if names else 0
    cols = ", ".join("%s %s" % (ident(n), types[n]) for n in names)
    out = ["DROP TABLE IF EXISTS ge_case", "CREATE TABLE ge_case (%s)" % cols]
    for i in range(rows):
        values = ", ".join("%s::%s" % (literal(dataset["data"][n][i]), types[n]) for n in names)
        out.append("INSERT INTO ge_case VALUES (%s)" % values)
    return out


def declarations(expectation, kwargs, types):
    """The vigil.expect_* calls for one case (None: pg_vigil cannot express these arguments)."""
    col = kwargs.get("column")
    typ = types.get(col, "TEXT")
    mostly = kwargs.get("mostly")
    common = ", mostly => %s" % literal(mostly) if mostly is not None else ""
    c = literal(col)

    def bound(v, cast):
        return "%s::%s" % (literal(v), cast)

    def value_bound(v):
        # As GE passes them: numbers as numbers, strings as strings (dates and times as the
        # column's type, which GE parses them to); pg_vigil checks they fit the column.
        if v is None:
            return "NULL::%s" % typ
        if isinstance(v, dict) and "$PARAMETER" in v:
            return "(%s)::%s" % (evaluation_parameter(v["$PARAMETER"]), typ)
        if isinstance(v, str):
            temporal = typ.upper().startswith(("TIMESTAMP", "DATE"))
            return "%s::%s" % (literal(v), typ if temporal else "text")
        return "%s::%s" % (literal(v), "numeric" if isinstance(v, int) else "float8")

    if expectation == "expect_column_values_to_not_be_null":
        return ["SELECT vigil.expect_not_null('ge_case', %s%s)" % (c, common)]
    if expectation == "expect_column_values_to_be_null":
        return ["SELECT vigil.expect_null('ge_case', %s%s)" % (c, common)]
    if expectation == "expect_column_values_to_be_between":
        return ["SELECT vigil.expect_between('ge_case', %s, %s, %s, strict_min => %s, strict_max => %s%s)" % (
            c, value_bound(kwargs.get("min_value")), value_bound(kwargs.get("max_value")),
            literal(bool(kwargs.get("strict_min", False))), literal(bool(kwargs.get("strict_max", False))), common)]
    if expectation in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        fn = "expect_in_set" if expectation.endswith("to_be_in_set") and "not" not in expectation else "expect_not_in_set"
        if kwargs.get("value_set") is None:
            return ["SELECT vigil.%s('ge_case', %s, NULL::%s[]%s)" % (fn, c, typ, common)]
        values = ", ".join(literal(v) for v in kwargs["value_set"])
        return ["SELECT vigil.%s('ge_case', %s, ARRAY[%s]::%s[]%s)" % (fn, c, values, typ, common)]
    if expectation in ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex"):
        fn = "expect_not_match" if "not_match" in expectation else "expect_match"
        return ["SELECT vigil.%s('ge_case', %s, %s%s)" % (fn, c, literal(kwargs.get("regex")), common)]
    if expectation == "expect_column_value_lengths_to_be_between":
        return ["SELECT vigil.expect_length_between('ge_case', %s, %s, %s%s)" % (
            c, bound(kwargs.get("min_value"), "integer"), bound(kwargs.get("max_value"), "integer"), common)]
    if expectation in ("expect_column_values_to_match_regex_list", "expect_column_values_to_match_like_pattern_list"):
        fn = "expect_like_list" if "like" in expectation else "expect_match_list"
        patterns = ", ".join(literal(p) for p in kwargs.get("regex_list") or kwargs.get("like_pattern_list") or [])
        return ["SELECT vigil.%s('ge_case', %s, ARRAY[%s]::text[], match_on => %s%s)" % (
            fn, c, patterns, literal(kwargs.get("match_on", "any")), common)]
    if expectation in ("expect_column_values_to_not_match_regex_list", "expect_column_values_to_not_match_like_pattern_list"):
        fn = "expect_not_like_any" if "like" in expectation else "expect_not_match_any"
        patterns = ", ".join(literal(p) for p in kwargs.get("regex_list") or kwargs.get("like_pattern_list") or [])
        return ["SELECT vigil.%s('ge_case', %s, ARRAY[%s]::text[]%s)" % (fn, c, patterns, common)]
    if expectation in ("expect_column_values_to_match_like_pattern", "expect_column_values_to_not_match_like_pattern"):
        fn = "expect_not_like" if "not_match" in expectation else "expect_like"
        return ["SELECT vigil.%s('ge_case', %s, %s%s)" % (fn, c, literal(kwargs.get("like_pattern")), common)]
    if expectation == "expect_column_unique_value_count_to_be_between":
        return ["SELECT vigil.expect_unique_count_between('ge_case', %s, %s, %s)" % (
            c, bound(kwargs.get("min_value"), "bigint"), bound(kwargs.get("max_value"), "bigint"))]
    if expectation == "expect_table_row_count_to_equal":
        return ["SELECT vigil.expect_row_count_equal('ge_case', %s)" % bound(kwargs.get("value"), "bigint")]
    if expectation == "expect_column_value_lengths_to_equal":
        return ["SELECT vigil.expect_length_equal('ge_case', %s, %s%s)" % (c, bound(kwargs.get("value"), "integer"), common)]
    aggregates = {"expect_column_mean_to_be_between": "expect_mean_between",
                  "expect_column_stdev_to_be_between": "expect_stddev_between",
                  "expect_column_proportion_of_unique_values_to_be_between": "expect_unique_fraction_between",
                  "expect_column_min_to_be_between": "expect_min_between",
                  "expect_column_max_to_be_between": "expect_max_between",
                  "expect_column_sum_to_be_between": "expect_sum_between",
                  "expect_column_median_to_be_between": "expect_median_between"}
    if expectation in aggregates:
        fn = aggregates[expectation]
        return ["SELECT vigil.%s('ge_case', %s, %s, %s, strict_min => %s, strict_max => %s)" % (
            fn, c, bound(kwargs.get("min_value"), "float8"), bound(kwargs.get("max_value"), "float8"),
            literal(bool(kwargs.get("strict_min", False))), literal(bool(kwargs.get("strict_max", False))))]
    ignore = ", ignore_row_if => %s" % literal(kwargs["ignore_row_if"]) if "ignore_row_if" in kwargs else ""
    columns = "ARRAY[%s]::text[]" % ", ".join(literal(x) for x in kwargs.get("column_list") or [])
    if expectation == "expect_column_pair_values_a_to_be_greater_than_b":
        return ["SELECT vigil.expect_pair_greater('ge_case', %s, %s, or_equal => %s%s%s)" % (
            literal(kwargs.get("column_A")), literal(kwargs.get("column_B")), literal(bool(kwargs.get("or_equal"))), ignore, common)]
    if expectation == "expect_column_pair_values_to_be_equal":
        return ["SELECT vigil.expect_pair_equal('ge_case', %s, %s%s%s)" % (
            literal(kwargs.get("column_A")), literal(kwargs.get("column_B")), ignore, common)]
    if expectation == "expect_multicolumn_sum_to_equal":
        return ["SELECT vigil.expect_sum_equal('ge_case', %s, %s%s%s)" % (columns, bound(kwargs.get("sum_total"), "float8"), ignore, common)]
    if expectation == "expect_select_column_values_to_be_unique_within_record":
        return ["SELECT vigil.expect_unique_within_record('ge_case', %s%s%s)" % (columns, ignore, common)]
    if expectation == "expect_compound_columns_to_be_unique":
        return ["SELECT vigil.expect_compound_unique('ge_case', %s%s%s)" % (columns, ignore, common)]
    if expectation == "expect_column_values_to_be_unique":
        return ["SELECT vigil.expect_unique('ge_case', %s%s)" % (c, common)]
    if expectation in ("expect_column_values_to_be_increasing", "expect_column_values_to_be_decreasing"):
        fn = "expect_increasing" if expectation.endswith("increasing") else "expect_decreasing"
        return ["SELECT vigil.%s('ge_case', %s, strictly => %s%s)" % (fn, c, literal(bool(kwargs.get("strictly"))), common)]
    value_sets = {"expect_column_distinct_values_to_be_in_set": "expect_distinct_in_set",
                  "expect_column_distinct_values_to_contain_set": "expect_distinct_contain_set",
                  "expect_column_distinct_values_to_equal_set": "expect_distinct_equal_set",
                  "expect_column_most_common_value_to_be_in_set": "expect_most_common_in_set"}
    if expectation in value_sets:
        if kwargs.get("value_set") is None:
            values = "NULL::%s[]" % typ
        else:
            values = "ARRAY[%s]::%s[]" % (", ".join(literal(v) for v in kwargs["value_set"]), typ)
        ties = ", ties_okay => %s" % literal(bool(kwargs["ties_okay"])) if "ties_okay" in kwargs else ""
        return ["SELECT vigil.%s('ge_case', %s, %s%s)" % (value_sets[expectation], c, values, ties)]
    def names(v):
        return "NULL::text[]" if v is None else "ARRAY[%s]::text[]" % ", ".join(literal(x) for x in v)
    if expectation == "expect_table_columns_to_match_set":
        return ["SELECT vigil.expect_columns_match_set('ge_case', %s, exact_match => %s)" % (
            names(kwargs.get("column_set")), literal(kwargs.get("exact_match", True)))]
    if expectation == "expect_table_columns_to_match_ordered_list":
        return ["SELECT vigil.expect_columns_match_list('ge_case', %s)" % names(kwargs.get("column_list"))]
    if expectation == "expect_table_column_count_to_be_between":
        return ["SELECT vigil.expect_column_count_between('ge_case', %s, %s)" % (
            bound(kwargs.get("min_value"), "integer"), bound(kwargs.get("max_value"), "integer"))]
    if expectation == "expect_table_column_count_to_equal":
        return ["SELECT vigil.expect_column_count_equal('ge_case', %s)" % bound(kwargs.get("value"), "integer")]
    if expectation == "expect_column_to_exist":
        return ["SELECT vigil.expect_column_to_exist('ge_case', %s, %s)" % (c, bound(kwargs.get("column_index"), "integer"))]
    if expectation == "expect_column_quantile_values_to_be_between":
        ranges = kwargs.get("quantile_ranges") or {}
        qs, rs = ranges.get("quantiles") or [], ranges.get("value_ranges") or []
        if len(qs) != len(rs):
            return None
        return ["SELECT vigil.expect_quantile_between('ge_case', %s, %s, %s, %s, name => 'q%d')" % (
            c, literal(q), bound(r[0], "float8"), bound(r[1], "float8"), i) for i, (q, r) in enumerate(zip(qs, rs))]
    if expectation == "expect_table_row_count_to_be_between":
        return ["SELECT vigil.expect_row_count_between('ge_case', %s, %s)" % (
            bound(kwargs.get("min_value"), "bigint"), bound(kwargs.get("max_value"), "bigint"))]
    return None


def run_psql(conn, statements):
    host, port, db = conn
    script = ";\n".join(statements) + ";\n"
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres", "-d", db],
        input=script, capture_output=True, text=True)


def same_values(expected, got):
    """GE's unexpected values against pg_vigil's (as JSON), as multisets; numbers by value."""
    def key(v):
        if isinstance(v, (list, dict)):
            items = v.items() if isinstance(v, dict) else enumerate(v)
            return "c:" + repr(sorted((str(k), key(x)) for k, x in items))
        if isinstance(v, bool) or v is None:
            return repr(v)
        if isinstance(v, (int, float)):
            return "n:%r" % float(v)
        try:
            return "n:%r" % float(v)
        except (TypeError, ValueError):
            return "s:" + str(v)
    return Counter(map(key, expected)) == Counter(map(key, got))


def judge(expectation, test, result, imported=False):
    out = test["out"]
    expects_error = "error" in test or "traceback_substring" in out or (test["in"].get("catch_exceptions") and "success" not in out)
    if result.returncode != 0:
        errors = [l for l in result.stderr.splitlines() if l.startswith("ERROR:") or "ERROR:" in l]
        return expects_error, (errors or result.stderr.strip().splitlines() or ["?"])[0]
    if expects_error:
        return False, "accepted what GE refuses"
    lines = result.stdout.strip().splitlines()
    if imported:
        lines = lines[1:]  # the count of declared constraints
    rows = [line.split("|", 2) for line in lines if line.count("|") >= 2]
    if not rows:
        return False, "no result"
    success = all(r[0] == "t" for r in rows)
    if "success" in out and success != out["success"]:
        return False, "success %s, GE %s" % (success, out["success"])
    if expectation in ROW_LEVEL and "unexpected_list" in out and len(rows) == 1:
        got = json.loads(rows[0][2])
        expected = out["unexpected_list"]
        if len(expected) <= 20 and not same_values(expected, got):
            return False, "unexpected %s, GE %s" % (got, expected)
    observed = out.get("observed_value", (out.get("result") or {}).get("observed_value"))
    if expectation in VALUE_SETS and isinstance(observed, list) and len(rows) == 1:
        got = (json.loads(rows[0][2]) or [{}])[0].get("observed_value")
        if not same_values(observed, got or []):
            return False, "observed %s, GE %s" % (got, observed)
    return True, ""


def main():
    args = sys.argv[1:]
    minimum = None
    if "--min-agree" in args:
        i = args.index("--min-agree")
        minimum = int(args[i + 1])
        del args[i:i + 2]
    conn = tuple(args[:3])
    run_psql(conn, ["CREATE EXTENSION IF NOT EXISTS pg_vigil", "SET client_min_messages = warning"])
    per = Counter()
    agreed = {"declared": Counter(), "imported": Counter()}
    for file in sorted(os.listdir(os.path.join(HERE, "definitions"))):
        if not file.endswith(".json"):
            continue
        with open(os.path.join(HERE, "definitions", file)) as f:
            spec = json.load(f)
        # A file per expectation; some hold more cases of another one (..._between_tz_naive).
        expectation = spec.get("expectation_type") or file[:-5]
        name = file[:-5]
        if expectation not in ROW_LEVEL | AGGREGATE:
            continue
        for dataset in spec["datasets"]:
            types = column_types(dataset)
            for test in dataset["tests"]:
                if not applies(test):
                    continue
                per[name] += 1
                check = ["SELECT success, unexpected_count, partial_unexpected_list::text FROM vigil.validate('ge_case')"]
                # Declared with vigil.expect_* as a user would write it ...
                decl = declarations(expectation, test["in"], types)
                if decl is None:
                    print("differs: %s / %s: arguments pg_vigil cannot express" % (name, test["title"]))
                else:
                    statements = ["SET client_min_messages = warning"] + table_sql(dataset, types) + decl + check
                    ok, why = judge(expectation, test, run_psql(conn, statements))
                    if ok:
                        agreed["declared"][name] += 1
                    else:
                        print("differs: %s / %s: %s" % (name, test["title"], why))
                # ... and imported as a one-expectation suite with GE's own arguments.
                suite = json.dumps({"expectations": [{"type": expectation, "kwargs": test["in"]}]})
                imported = ["SELECT count(*) FROM vigil.import_expectations('ge_case', $ge$%s$ge$::jsonb)" % suite]
                statements = ["SET client_min_messages = warning"] + table_sql(dataset, types) + imported + check
                ok, why = judge(expectation, test, run_psql(conn, statements), imported=True)
                if ok:
                    agreed["imported"][name] += 1
                else:
                    print("differs (imported): %s / %s: %s" % (name, test["title"], why))
    total = sum(per.values())
    for name in sorted(per):
        print("%-60s %3d %3d of %3d" % (name, agreed["declared"][name], agreed["imported"][name], per[name]))
    failed = False
    for path in ("declared", "imported"):
        good = sum(agreed[path].values())
        print("GE cases %s: %d of %d applicable cases agree (%.1f%%)" % (path, good, total, 100.0 * good / max(total, 1)))
        failed |= minimum is not None and good < minimum
    run_psql(conn, ["DROP TABLE IF EXISTS ge_case"])
    if failed:
        print("GE cases: FAILED (fewer than %d agree)" % minimum)
        sys.exit(1)
    print("GE cases: ok")


if __name__ == "__main__":
    main()

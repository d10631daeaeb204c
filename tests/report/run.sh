#!/usr/bin/env bash
# The report in a real browser: runs the demo (demo/migration.sql, demo/demo.sql: six weeks of a
# feature table's loads, two alerts, quarantine and repairs) in a database of the regression
# cluster, writes vigil.report('features') to a file, and renders it in headless Chromium: a
# screenshot (its path is printed), no console messages, and the DOM holds the timeline (one
# mark per window), the alerts, one chart per watched column and the newest alert's
# distribution. The page must stay under 1 MB. Prints "report: ok" or fails.
#   run.sh HOST PORT      (TMP: where files go, default /tmp/pg_vigil)
set -euo pipefail
host=${1:?socket dir} port=${2:?port}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${TMP:-/tmp/pg_vigil}/report
rm -rf "$out" && mkdir -p "$out/export" && chown postgres:postgres "$out/export"
sql() { psql -X -q -h "$host" -p "$port" -U postgres "$@"; }
sql -d postgres -c "DROP DATABASE IF EXISTS vigil_report" -c "CREATE DATABASE vigil_report"
sql -d vigil_report -v ON_ERROR_STOP=1 -f "$root/demo/migration.sql" > "$out/demo.log" 2>&1
sql -d vigil_report -v ON_ERROR_STOP=1 -v export_dir="$out/export" -v report_file="$out/report.html" \
    -f "$root/demo/demo.sql" >> "$out/demo.log" 2>&1 || { tail -20 "$out/demo.log"; echo "report: FAILED (the demo did not run)"; exit 1; }
size=$(stat -c %s "$out/report.html")
expected=$(sql -d vigil_report -At -c "SELECT (SELECT count(*) FROM vigil.window_status WHERE relid = 'features'::regclass)
                                         || ' ' || (SELECT count(*) FROM vigil.alerts WHERE relid = 'features'::regclass)
                                         || ' ' || (SELECT count(DISTINCT column_name) FROM vigil.column_stats WHERE relid = 'features'::regclass)")
read -r windows alerts columns <<< "$expected"

browser() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
           --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" --enable-logging=stderr --v=0 "$@"
}
browser --window-size=1280,2400 --hide-scrollbars --screenshot="$out/report.png" "file://$out/report.html" 2> "$out/chromium.log" >/dev/null
browser --dump-dom "file://$out/report.html" > "$out/dom.html" 2>> "$out/chromium.log"
[ -s "$out/report.png" ] || { tail -5 "$out/chromium.log"; echo "report: FAILED (no screenshot)"; exit 1; }

python3 - "$out" "$windows" "$alerts" "$columns" "$size" <<'PY'
import re, sys
out, windows, alerts, columns, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dom = open(out + "/dom.html").read()
log = open(out + "/chromium.log").read()
timeline = re.search(r'<svg id="timeline".*?</svg>', dom, re.S)
checks = {
    "no console messages": "CONSOLE" not in log,
    "timeline: one mark per window (%d)" % windows: bool(timeline) and timeline.group(0).count("<rect") == windows,
    "alerts: one row per alert (%d)" % alerts: dom.count("<tr>", dom.find('id="alerts"'), dom.find("</table>", dom.find('id="alerts"'))) == alerts + 1,
    "one chart per watched column (%d)" % columns: dom.count('class="chart"') == columns,
    "the newest alert's distribution": 'id="distribution"' in dom and "<polyline" in dom[dom.find('id="distribution"'):],
    "violations and contract": 'id="violations"' in dom and 'id="contract"' in dom,
    "nothing fetched": not re.search(r'<(script|img|link|iframe)\b|\bsrc=|url\(', dom),
    "under 1 MB (%d bytes)" % size: size < 1_000_000,
}
for what, ok in checks.items():
    print("%-50s %s" % (what, "ok" if ok else "FAILED"))
sys.exit(0 if all(checks.values()) else 1)
PY
echo "screenshot: $out/report.png (the page: $out/report.html)"
echo "report: ok"

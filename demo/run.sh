#!/usr/bin/env bash
# pg_vigil demo: a feature table guarded by data-quality rules, loaded by a pipeline that
# sometimes breaks. Starts a throwaway PostgreSQL 15 cluster in DIR on PORT and runs, in database
# vigil_demo, demo/migration.sql (table and contract) then demo/demo.sql (the batches and what
# was caught). It LEAVES THE CLUSTER RUNNING so you can look around afterwards.
#
#   bash demo/run.sh DIR PORT        (make demo does this after installing the extension)
#
# A rerun starts from scratch: cluster.sh start wipes DIR first.
set -euo pipefail

usage="usage: demo/run.sh DIR PORT"
DIR=${1:?$usage}
PORT=${2:?$usage}
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER="$HERE/../pg_test_config/cluster.sh"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# The socket directory must be an absolute path for psql -h.
DIR=$(realpath -m "$DIR")

SECONDS=0
echo "pg_vigil demo: starting a throwaway PostgreSQL 15 cluster in $DIR (port $PORT)"
"$CLUSTER" start "$DIR" "$PORT"

psql() { "$PGBIN/psql" -X -h "$DIR" -p "$PORT" -U postgres "$@"; }

psql -q -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE vigil_demo"

cat <<MSG

################################################################################
# 1-2. Setup: database vigil_demo, the extension, a feature table and its data contract
#      (demo/migration.sql, shown as it runs; each expect_* returns the constraint's name)
################################################################################

MSG
psql -d vigil_demo -v ON_ERROR_STOP=1 --quiet --tuples-only --echo-all -f "$HERE/migration.sql"

# demo.sql writes the batch CSV files into DIR (owned by the server's user) and COPYs them back.
psql -d vigil_demo -v ON_ERROR_STOP=1 -v export_dir="$DIR" -v report_file="$DIR/report.html" -f "$HERE/demo.sql"

cat <<MSG

================================================================================
 Demo finished in ${SECONDS}s. The report is at $DIR/report.html (open it in a browser).
 The cluster is still running. Look around with:

   psql -h $DIR -p $PORT -U postgres vigil_demo

   e.g.  SELECT * FROM vigil.constraints;
         SELECT constraint_name, action, unexpected_count, sample FROM vigil.violations;
         SELECT constraint_names, row_data FROM vigil.quarantine;
         SELECT * FROM vigil.validate('features');

 Stop and remove it with:

   $(realpath "$CLUSTER") stop $DIR
   (or make clean in the repository, which also removes the build output)
================================================================================
MSG

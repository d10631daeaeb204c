#!/usr/bin/env bash
# Installs what the GATE baseline of the alert benchmark (bench/gate.py) needs, only when missing
# (safe to run again): gate-drift 0.1.5 and the psycopg 3 driver, from PyPI, for python3.
# Exits non-zero when they still cannot be imported (bench/alerts.sh then skips GATE).
# Note: gate-drift depends on sentence-transformers, hence torch: a first install is large.
set -uo pipefail
GATE_VER=0.1.5
PY=${PYTHON:-python3}

have() { "$PY" - "$GATE_VER" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version
assert version("gate-drift") == sys.argv[1]
import psycopg  # noqa: F401
PY
}

have && exit 0
need=("gate-drift==$GATE_VER")
"$PY" -c "import psycopg" >/dev/null 2>&1 || need+=("psycopg[binary]")
echo "setup_gate: installing ${need[*]}"
opts=(-q --disable-pip-version-check)
# Outside a virtualenv and not root: install for the user.
if [ "$(id -u)" != 0 ] && ! "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  opts+=(--user)
fi
if ! "$PY" -m pip install "${opts[@]}" "${need[@]}" 2>/tmp/setup_gate.$$.err; then
  # A distribution's Python refuses pip outside a virtualenv (PEP 668).
  if grep -q externally-managed-environment /tmp/setup_gate.$$.err; then
    "$PY" -m pip install "${opts[@]}" --break-system-packages "${need[@]}" || true
  else
    cat /tmp/setup_gate.$$.err >&2
  fi
fi
rm -f /tmp/setup_gate.$$.err
have

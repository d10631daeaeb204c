#!/usr/bin/env bash
# Installs what building and testing pg_vigil needs, only when missing (safe to run again):
# Debian packages, cargo-pgrx 0.18.1, pgrx's registration of the system PostgreSQL 15, and the
# Python `datasketches` package (the sketch interoperability test reads pg_vigil's sketches with it);
# chromium renders vigil.report in the report test.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGRX_VER=0.18.1
export PATH="$HOME/.cargo/bin:$PATH"

need=()
for pkg in postgresql-15 postgresql-server-dev-15 libpq-dev pkg-config postgresql-15-cron libclang-dev clang sudo chromium; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! cargo pgrx --version 2>/dev/null | grep -q " $PGRX_VER"; then
  echo "setup: installing cargo-pgrx $PGRX_VER"
  cargo install cargo-pgrx --version "$PGRX_VER" --locked
fi

if ! grep -qs "^pg15 = \"$PG_CONFIG\"" "$HOME/.pgrx/config.toml"; then
  echo "setup: registering PostgreSQL 15 with pgrx"
  cargo pgrx init --pg15 "$PG_CONFIG"
fi

if ! python3 -c 'import datasketches' 2>/dev/null; then
  echo "setup: installing the Python datasketches package"
  # A Debian-managed Python refuses pip installs unless told (PEP 668); others take it as is.
  python3 -m pip install --quiet --disable-pip-version-check datasketches==5.2.0 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages datasketches==5.2.0
fi

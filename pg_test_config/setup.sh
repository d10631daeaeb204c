#!/usr/bin/env bash
# Installs what building and testing pg_vigil needs, only when missing (safe to run again):
# Debian packages, cargo-pgrx 0.18.1, and pgrx's registration of the system PostgreSQL 15.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PGRX_VER=0.18.1
export PATH="$HOME/.cargo/bin:$PATH"

need=()
for pkg in postgresql-15 postgresql-server-dev-15 postgresql-15-cron libclang-dev clang sudo; do
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

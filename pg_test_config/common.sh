# Sourced by the scripts that start clusters: the server's binaries, and running them as the
# postgres user (initdb and pg_ctl refuse root; clients run as whoever calls).
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

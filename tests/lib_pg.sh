#!/usr/bin/env bash
# lib_pg.sh - a throwaway PostgreSQL server for the tests (tests/it_store_pg.sh,
# tests/it_ingest_pg.sh); sourced, never run (CTest only runs tests/it_*.sh).
#
# pg_start: installs Debian's postgresql-15 when its binaries are missing
# (scripts/install-deps --extra), then initdb in a new temporary directory and
# pg_ctl start on a free TCP port of 127.0.0.1 plus a Unix socket in that
# directory.  PostgreSQL refuses to run as root, and tests run as root in CI:
# then the server runs as `nobody` (runuser), which owns the directory.
# Local (socket) connections are trusted for the superuser `lw`; TCP
# connections need a password (scram-sha-256), which the password test uses
# with the role lw_pw.  Sets:
#   PG_URL          superuser URI on the socket, database postgres
#                   (pg_url DB prints the same for database DB)
#   PG_PW_URL, PG_PW  a password-protected role's URI (TCP) and its password
#   PG_DIR          the directory (data/, log, socket)
# pg_start_with DB...: pg_start, then CREATE DATABASE for each DB; fails the test (fail) otherwise.
# pg_stop: pg_ctl stop -m fast and remove the directory; pg_start arranges for
# it to run on exit (chaining any EXIT trap set before).
# The server is started with fsync on (the default): timings are honest.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u nobody -- "$@"); else "$@"; fi
}

pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_url() {
  echo "postgresql://lw@/$1?host=$PG_DIR&port=$PG_PORT"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=
}

pg_start() {
  if [ ! -x "$PG_BIN/initdb" ]; then
    "${SRC:?}/scripts/install-deps" --extra postgresql-15 >&2
  fi
  [ -x "$PG_BIN/initdb" ] || { echo "lib_pg: no $PG_BIN/initdb after installing postgresql-15" >&2; return 1; }
  # always under /tmp: `nobody` must reach it, and a Unix socket path is short
  PG_DIR=$(mktemp -d /tmp/lw-pg-XXXXXX)
  chmod 755 "$PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown nobody "$PG_DIR"
  local prev_trap
  prev_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  # shellcheck disable=SC2064
  trap "pg_stop; ${prev_trap:-:}" EXIT
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U lw --auth-local=trust \
    --auth-host=scram-sha-256 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; return 1; }
  local port tries=0
  while :; do
    port=$(pg_free_port)
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
         -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    [ $tries -lt 3 ] || { tail -n 20 "$PG_DIR/log" >&2; return 1; }
  done
  PG_PORT=$port
  PG_URL=$(pg_url postgres)
  PG_PW="pw-$RANDOM$RANDOM"
  PG_PW_URL="postgresql://lw_pw@127.0.0.1:$port/lwt_pw"
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_URL" >/dev/null <<EOF || return 1
CREATE ROLE lw_pw LOGIN PASSWORD '$PG_PW';
CREATE DATABASE lwt_pw OWNER lw_pw;
EOF
  export PG_URL PG_PW PG_PW_URL PG_DIR PG_PORT
}

pg_start_with() {
  pg_start || fail "could not start PostgreSQL"
  local db
  for db in "$@"; do
    "$PG_BIN/psql" -X -q "$PG_URL" -c "CREATE DATABASE $db" || fail "create $db"
  done
}

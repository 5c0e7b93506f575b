#!/usr/bin/env bash
# it_store_pg.sh - the store's contract tests (tests/test_store.c) against a
# real PostgreSQL: starts a throwaway server (tests/lib_pg.sh), runs the
# test_store binary with LW_TEST_PG_URL set (each test then works in a fresh
# database of that server), and stops the server.  Usage: $0 path/to/leadwatch
# (test_store is looked up beside it).
set -euo pipefail
LW=${1:?usage: $0 path/to/leadwatch}
BIN=$(cd "$(dirname "$LW")" && pwd)
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=tests/lib_pg.sh
. "$SRC/tests/lib_pg.sh"

[ -x "$BIN/test_store" ] || { echo "FAIL: no $BIN/test_store (build it first)" >&2; exit 1; }
pg_start
LW_TEST_PG_URL=$PG_URL LW_TEST_PG_PW_URL=$PG_PW_URL LW_TEST_PG_PW=$PG_PW "$BIN/test_store"

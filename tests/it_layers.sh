#!/usr/bin/env bash
# it_layers.sh - the layer rule of docs/ARCHITECTURE.md, checked by
# scripts/check-layers: the real tree must pass, and planted violations (an
# upward include, a cycle inside one layer, a header outside a layer folder,
# an include spelled without its layer) must each make the check fail.
set -euo pipefail
root="${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
check="$root/scripts/check-layers"
fails=0
pass() { echo "ok: $1"; }
fail() { echo "FAIL: $1"; fails=$((fails + 1)); }

"$check" "$root" && pass "the tree has no upward include and no cycle" || fail "the tree"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plant() { # NAME: a fresh minimal tree of three layers in $tmp/NAME
    local t="$tmp/$1"
    mkdir -p "$t/src/core" "$t/src/store" "$t/src/app" "$t/include/leadwatch/core" \
             "$t/include/leadwatch/store" "$t/include/leadwatch/app"
    printf '#include "leadwatch/core/a.h"\n' >"$t/src/core/a.c"
    printf '/* a */\n' >"$t/include/leadwatch/core/a.h"
    printf '#include "leadwatch/store/b.h"\n#include "leadwatch/core/a.h"\n' >"$t/src/store/b.c"
    printf '#include "leadwatch/core/a.h"\n' >"$t/include/leadwatch/store/b.h"
    printf '#include "leadwatch/store/b.h"\n' >"$t/src/app/c.c"
    printf '/* c */\n' >"$t/include/leadwatch/app/c.h"
    echo "$t"
}
expect_fail() { # NAME WHAT: the check must fail on tree NAME and name WHAT
    local out
    if out=$("$check" "$tmp/$1" 2>&1); then
        fail "$1: check passed a planted violation"
    elif grep -q "$2" <<<"$out"; then
        pass "$1: refused ($(head -1 <<<"$out"))"
    else
        fail "$1: refused, but not for '$2': $out"
    fi
}

t=$(plant clean)
"$check" "$t" >/dev/null && pass "clean planted tree passes" || fail "clean planted tree"

t=$(plant upward)
printf '#include "leadwatch/app/c.h"\n' >>"$t/src/core/a.c"
expect_fail upward "upward include: core/ includes app/c.h"

t=$(plant cycle)
printf '/* d */\n#include "leadwatch/store/b.h"\n' >"$t/include/leadwatch/store/d.h"
printf '#include "leadwatch/store/d.h"\n' >>"$t/src/store/b.c"
expect_fail cycle "include cycle: store/b store/d"

t=$(plant nolayer)
printf '/* flat */\n' >"$t/include/leadwatch/flat.h"
expect_fail nolayer "not in a layer folder"

t=$(plant spelling)
printf '#include "leadwatch/a.h"\n' >>"$t/src/app/c.c"
expect_fail spelling "is not \"leadwatch/LAYER/NAME.h\""

if [ "$fails" -ne 0 ]; then
    echo "it_layers: $fails failure(s)"
    exit 1
fi
echo "it_layers: all checks passed"

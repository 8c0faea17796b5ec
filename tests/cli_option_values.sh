#!/usr/bin/env bash
# Every option that takes a value, given last without one: a usage error
# (exit 2) that names the option as needing a value (they used to be
# reported as unknown options or unexpected arguments, which they are
# not), nothing on stdout and nothing run or written.
# usage: cli_option_values.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

CFG=$SRC/configs/default.yaml
TR=$SRC/traces/nic_rx.trace.gz
n=0
expect() { # expect MESSAGE ARGS...
    local msg=$1
    shift
    n=$((n + 1))
    (cd "$T" && "$BIN" "$@") > "$T/out" 2> "$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "scimitar $*: exit status $rc, expected 2 ($(cat "$T/err"))"
    [ "$(head -1 "$T/err")" = "$msg" ] || fail "scimitar $*: said '$(head -1 "$T/err")', expected '$msg'"
    [ -s "$T/out" ] && fail "scimitar $*: wrote on stdout"
    return 0
}
expect "scimitar: --set needs a value" run "$CFG" --set
expect "scimitar: --out needs a value" run "$CFG" --out
expect "scimitar: --set needs a value" check "$CFG" --set
expect "scimitar: unknown option '--out'" check "$CFG" --out # check writes nothing: no --out at all
for o in -j --out --set --plot --x --series; do
    expect "scimitar sweep: $o needs a value" sweep "$CFG" $o
done
for o in --set --out --schemes; do
    expect "scimitar compare: $o needs a value" compare "$CFG" $o
done
expect "scimitar: -o needs a value" trace cat "$TR" -o
expect "scimitar: -o needs a value" trace convert "$TR" -o
expect "scimitar: --format needs a value" trace convert "$TR" --format
expect "scimitar: -o needs a value" trace pack "$TR" -o
expect "scimitar: trace gen kv: --count needs a value" trace gen kv --count
expect "scimitar: trace import: unknown option '-o' (or its value is missing)" trace import lackey x.log -o
expect "scimitar: trace locality: unknown option '--windows' (or its value is missing)" trace locality "$TR" --windows
[ "$(ls -A "$T" | grep -v '^out$\|^err$')" = "" ] || fail "a usage error left files: $(ls -A "$T")"
echo "cli_option_values: $n usage errors ok"

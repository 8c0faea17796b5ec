#!/usr/bin/env bash
# Every command that writes on stdout, with stdout on a full disk
# (/dev/full): it must fail (exit 1) and say so on stderr, never exit 0
# with its output lost. stdout is buffered, so most of these only see the
# error at the last flush. A closed pipe is left to SIGPIPE.
# (Each command's output itself is checked by cli_trace.sh, cli_docs.sh...)
# usage: cli_stdout_full.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ -w /dev/full ] || { echo "cli_stdout_full: no /dev/full, skipped"; exit 0; }

# a small trace: the error, not the work, is under test (cli_trace.sh has the work)
TR=$T/t.trace
printf '@0 read 0x1000 64\n@10 write 0x2000 128\n' > "$TR"
check() { # check MESSAGE ARGS...  (MESSAGE: what stderr must hold)
    local msg=$1
    shift
    "$BIN" "$@" > /dev/full 2> "$T/err"; rc=$?
    [ $rc -eq 1 ] || fail "scimitar $*: exit status $rc with stdout full, expected 1 ($(cat "$T/err"))"
    grep -qF -- "$msg" "$T/err" || fail "scimitar $*: message: $(cat "$T/err")"
}
check "scimitar: cannot write the standard output" --version
check "scimitar: cannot write the config reference to the standard output" doc config
check "scimitar: cannot write the stats reference to the standard output" doc stats
check "scimitar: cannot write trace -" trace cat "$TR"
check "scimitar: cannot write the summary of $TR" trace stats "$TR"
check "scimitar: cannot write the locality report to the standard output" trace locality "$TR"
# --quiet writes nothing on stdout: nothing to lose
"$BIN" trace locality "$TR" --quiet > /dev/full 2> "$T/err" || fail "trace locality --quiet: $(cat "$T/err")"
echo "cli_stdout_full: ok"

#!/usr/bin/env bash
# Options and errors of `trace locality`, `validate` and `compare`:
# --windows and --ways choose exactly the rows printed; each malformed
# list is a usage error (exit 2) naming the option; an output that cannot
# be written is exit 1 with the path; validate --markdown FILE writes what
# --markdown - prints; compare's usage errors and unwritable output.
# usage: cli_tools_opts.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
DEV=$SRC/traces/dd.dev.trace.gz
CPU=$SRC/traces/dd.cpu.trace.gz

# --windows 5,50 --ways 2: recent_5 and recent_50, the 2-way curve, nothing else
"$BIN" trace locality "$DEV" --cpu-trace "$CPU" --windows 5,50 --ways 2 > "$T/l.txt" || fail "trace locality"
grep -q '^recent_5: ' "$T/l.txt" && grep -q '^recent_50: ' "$T/l.txt" || fail "windows 5,50: $(grep recent "$T/l.txt")"
[ "$(grep -c '^recent_' "$T/l.txt")" = 2 ] || fail "other windows printed: $(grep recent "$T/l.txt")"
grep -q '^ways2\.miss_ratio\.' "$T/l.txt" || fail "no 2-way curve"
[ "$(grep '^ways' "$T/l.txt" | grep -vc '^ways2\.')" = 0 ] || fail "other associativities printed"
# the LRU curve does not depend on them: equal to the default run's
"$BIN" trace locality "$DEV" --cpu-trace "$CPU" > "$T/d.txt" || fail "trace locality (defaults)"
diff <(grep '^lru\.' "$T/l.txt") <(grep '^lru\.' "$T/d.txt") > /dev/null || fail "--windows/--ways changed the LRU curve"

bad_list() { # OPTION VALUE
    "$BIN" trace locality "$DEV" "$1" "$2" > /dev/null 2> "$T/err"
    [ $? -eq 2 ] || fail "trace locality $1 '$2': exit status, expected 2 ($(cat "$T/err"))"
    grep -qF -- "$1 '$2': expected up to 8 whole numbers >= 1" "$T/err" || fail "$1 '$2': message: $(cat "$T/err")"
}
for v in '' 0 a 5x 1, ,1 1,,2 -3 1,2,3,4,5,6,7,8,9 99999999999999999999999; do
    bad_list --windows "$v"
    bad_list --ways "$v"
done
"$BIN" trace locality "$DEV" --ways 1,2,3,4,5,6,7,8 --windows 1,2,3,4,5,6,7,8 --quiet || fail "8 windows and 8 ways"
"$BIN" trace locality "$DEV" second.trace > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "unexpected argument 'second.trace'" "$T/err" || fail "a second trace: $(cat "$T/err")"
"$BIN" trace locality "$DEV" --lackey x.log > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "give a device trace" "$T/err" || fail "a trace and a log: $(cat "$T/err")"
"$BIN" trace locality -h | grep -q -- "--windows LIST" || fail "locality -h"
for o in --json --csv --plot; do
    "$BIN" trace locality "$DEV" --quiet $o "$T/no/such/dir/out" 2> "$T/err"
    [ $? -eq 1 ] && grep -q "cannot write $T/no/such/dir/out" "$T/err" || fail "locality $o into a missing directory: $(cat "$T/err")"
done
"$BIN" trace locality "$T/missing.trace" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "missing.trace" "$T/err" || fail "locality of a missing trace: $(cat "$T/err")"

# a device trace alone: two DMAs to two pages, each seen once (by hand:
# 2 cold misses, a miss ratio of 1 at every LRU size), no CPU side
printf '# scimitar trace v1\n@0 read 0x1000 64\n@10 write 0x2000 64\n' > "$T/ok.trace"
"$BIN" trace locality "$T/ok.trace" > "$T/ok.txt" || fail "locality of a small trace"
for l in "io.ops: 2" "io.device_writes: 1" "io.pages: 2" "io.distinct_pages: 2" "present: - (no CPU trace)" \
         "reuse.cold: 2" "lru.miss_ratio.1: 1.000000" "lru.miss_ratio.2: 1.000000"; do
    grep -qx "$l" "$T/ok.txt" || fail "small trace: no '$l': $(cat "$T/ok.txt")"
done
# a malformed record in either trace: exit 1 and its location
printf '# scimitar trace v1\n@0 read 0x1000 64\n@10 write 0x2000 64\n@20 frob 0x3000 64\n' > "$T/bad.trace"
for args in "$T/bad.trace" "$T/ok.trace --cpu-trace $T/bad.trace" "$T/bad.trace --cpu-trace $T/ok.trace"; do
    # shellcheck disable=SC2086
    "$BIN" trace locality $args > /dev/null 2> "$T/err"
    [ $? -eq 1 ] && grep -q "bad.trace:4:5: error: unknown op 'frob'" "$T/err" || fail "locality $args: $(cat "$T/err")"
done
"$BIN" trace locality "$T/ok.trace" --cpu-trace "$T/none.trace" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "cannot open trace $T/none.trace" "$T/err" || fail "a missing CPU trace: $(cat "$T/err")"

# validate: --markdown FILE is what --markdown - prints; its errors
"$BIN" validate --markdown - 2> /dev/null > "$T/v.md" || fail "validate --markdown -"
"$BIN" validate --markdown "$T/v2.md" > "$T/v.txt" || fail "validate --markdown FILE"
cmp -s "$T/v.md" "$T/v2.md" || fail "validate --markdown FILE differs from --markdown -"
grep -q "of 9 checks failed" "$T/v.txt" || fail "validate's table: $(tail -2 "$T/v.txt")"
"$BIN" validate --markdown "$T/no/such/v.md" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "cannot write $T/no/such/v.md" "$T/err" || fail "validate into a missing directory: $(cat "$T/err")"
[ -e "$T/no" ] && fail "validate created a directory"
"$BIN" validate --frobnicate > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "usage: scimitar validate" "$T/err" || fail "validate --frobnicate: $(cat "$T/err")"
"$BIN" validate --markdown > /dev/null 2> "$T/err"
[ $? -eq 2 ] || fail "validate --markdown without a value"
"$BIN" validate --help > /dev/null 2>&1 || fail "validate --help exit status"

# compare: usage errors (exit 2) and an output it cannot make (exit 1)
"$BIN" compare --help | grep -q "usage: scimitar compare" || fail "compare --help"
"$BIN" compare > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "usage: scimitar compare" "$T/err" || fail "compare without a config"
"$BIN" compare "$SRC/configs/cpu_nic.yaml" extra.yaml > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "unexpected argument 'extra.yaml'" "$T/err" || fail "compare with two configs: $(cat "$T/err")"
"$BIN" compare "$SRC/configs/cpu_nic.yaml" --frobnicate > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "unexpected argument '--frobnicate'" "$T/err" || fail "compare --frobnicate: $(cat "$T/err")"
"$BIN" compare "$T/missing.yaml" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "missing.yaml" "$T/err" || fail "compare of a missing config: $(cat "$T/err")"
"$BIN" compare "$SRC/configs/cpu_nic.yaml" --schemes pin --set no.such.key=1 > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "no.such.key\|no such\|unknown" "$T/err" || fail "compare --set of an unknown key: $(cat "$T/err")"
: > "$T/file"
"$BIN" compare "$SRC/configs/cpu_nic.yaml" --schemes pin --out "$T/file/sub" > /dev/null 2> "$T/err"
# refused before any scheme runs (tests/cli_outputs.sh times that)
[ $? -eq 1 ] && grep -q "cannot create output directory $T/file/sub: $T/file is a file, not a directory" "$T/err" ||
    fail "compare into a path under a file: $(cat "$T/err")"
echo "cli_tools_opts: ok"

#!/usr/bin/env bash
# `scimitar run`, `compare` and `trace gen` when what they write cannot
# be written, and their remaining usage edges: a run whose stats.json or
# meta.json is a directory (exit 1 with the path and the reason); a
# compare listing a scheme twice (exit 2), whose table or a scheme's run
# record cannot be written (exit 1, the reason, no "table:" line), and a
# compare without --out (the same table on stdout, nothing written); a run
# with --progress given last, a run started with SCIMITAR_SWEEP_PARENT
# naming a process that is not its parent (an ordinary run: the same
# statistics), a configuration in the working directory (out/<name>);
# `trace gen KIND -o` with no file (said like --output's missing value),
# and over an existing file; `trace gen|convert|pack -o` a pipe, a
# symbolic link or a device (refused, left as they were); an --out too
# long for a path or through a symbolic link loop (the system's reason,
# before the run).
# Expected values: the exact message and exit status, or the same run
# done plainly.
# usage: cli_tools_fail.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
cd "$T" || exit 1
nic_yaml > nic.yaml
"$BIN" run nic.yaml --out ref --quiet || fail "reference run"

# run: the statistics or the run record cannot be written
mkdir -p r1/stats.json r2/meta.json
expect 1 "scimitar: could not write r1/stats.json: Is a directory" "$BIN" run nic.yaml --out r1 --quiet
expect 1 "scimitar: could not write r2/meta.json: Is a directory" "$BIN" run nic.yaml --out r2 --quiet
cmp -s r2/stats.json ref/stats.json || fail "the statistics written before meta.json failed differ from the run's"
# --progress given last: its value is missing, not ''
expect 2 "scimitar: --progress takes off, line or bar, not ''" "$BIN" run nic.yaml --out never --progress
[ -e never ] && fail "a usage error created the output directory"
# a SCIMITAR_SWEEP_PARENT that is not the parent (1: init) is not a sweep's
# point: an ordinary run, the same statistics
SCIMITAR_SWEEP_PARENT=1 "$BIN" run nic.yaml --out sp --quiet || fail "run with a stranger's SCIMITAR_SWEEP_PARENT"
cmp -s sp/stats.json ref/stats.json || fail "SCIMITAR_SWEEP_PARENT changed the run"
# a configuration in the working directory, no --out: out/nic
"$BIN" run nic.yaml --quiet || fail "run of ./nic.yaml"
cmp -s out/nic/stats.json ref/stats.json || fail "default output of ./nic.yaml: $(ls out)"

# compare: a scheme listed twice is a usage error, nothing runs
expect 2 "scimitar compare: scheme 'pin' is listed twice in --schemes; list each once" \
    "$BIN" compare nic.yaml --schemes pin,pin --out c0
[ -e c0 ] && fail "a usage error created the output directory"
# the reference table, written and on stdout
"$BIN" compare nic.yaml --schemes scimitar,pin --out c1 > c1.txt 2> c1.err || fail "compare: $(cat c1.err)"
grep -q "^table: c1/compare.csv" c1.txt || fail "compare said: $(tail -1 c1.txt)"
# without --out: the same table on stdout, no line naming files, nothing written
mkdir c2 && cd c2 || exit 1
"$BIN" compare ../nic.yaml --schemes scimitar,pin > ../c2.txt 2> ../c2.err || fail "compare without --out: $(cat ../c2.err)"
cd "$T" || exit 1
grep -v "^table: " c1.txt | cmp -s - c2.txt || fail "the table without --out differs: $(diff c1.txt c2.txt)"
[ -z "$(ls c2)" ] || fail "compare without --out wrote $(ls c2)"
# compare.csv cannot be written: the table is still shown, exit 1, no "table:" line
mkdir -p c3/compare.csv
expect 1 "scimitar compare: cannot write c3/compare.csv: Is a directory" \
    "$BIN" compare nic.yaml --schemes scimitar,pin --out c3
grep -q "^table: " e.out && fail "a table that was not written was named"
[ -e c3/compare.csv.tmp ] && fail "the temporary table was left"
# a scheme's run record cannot be written: that scheme fails, no table
mkdir -p c4/pin/meta.json
expect 1 "scimitar compare: scheme pin: could not write c4/pin/meta.json: Is a directory" \
    "$BIN" compare nic.yaml --schemes scimitar,pin --out c4
[ -e c4/compare.csv ] && fail "a table was written after a scheme failed"
[ -s e.out ] && fail "a table was printed after a scheme failed: $(cat e.out)"

# trace gen: -o given last
expect 2 "scimitar: trace gen nic-rx: -o needs a value" "$BIN" trace gen nic-rx -o
expect 2 "scimitar: trace gen nic-rx: --output needs a value" "$BIN" trace gen nic-rx --output
# trace gen over an existing file: replaced by the bytes a new file gets
"$BIN" trace gen nic-rx --count 50 -o fresh.trace || fail "trace gen into a new file"
printf 'old\n' > over.trace
"$BIN" trace gen nic-rx --count 50 -o over.trace || fail "trace gen over a file"
cmp -s fresh.trace over.trace || fail "trace gen over a file wrote other bytes"

# an output that is not a regular file is refused, not replaced: outputs
# are renamed into place, which once turned /dev/full into a regular file
# (as root); here a pipe, a symbolic link and (as root) a device node of
# the test's own, each left as it was
mkfifo pipe
ln -s target.trace link.trace
printf 'target\n' > target.trace
for o in pipe link.trace; do
    kind=$([ -p "$o" ] && echo "a pipe" || echo "a symbolic link")
    expect 1 "scimitar: output $o is $kind, which writing would replace by a regular file; give a new file name, or - for the standard output" \
        "$BIN" trace gen nic-rx --count 50 -o "$o"
done
expect 1 "scimitar: output pipe is a pipe" "$BIN" trace convert fresh.trace -o pipe
[ -p pipe ] && [ -L link.trace ] && [ "$(cat target.trace)" = target ] || fail "a refused output was changed"
if [ "$(id -u)" = 0 ] && mknod nulldev c 1 3 2> /dev/null; then
    expect 1 "scimitar: output nulldev is a device" "$BIN" trace pack fresh.trace -o nulldev
    [ -c nulldev ] || fail "the device node was replaced"
fi

# output paths the system refuses, refused before the run with its reason:
# longer than a path may be, and through a symbolic link loop
long=$(printf 'd%.0s' $(seq 1100))
expect 1 ": File name too long; give a path whose every parent is a directory" "$BIN" run nic.yaml --out "$long"
ln -s loop loop
expect 1 "scimitar: cannot create output directory loop/x: Too many levels of symbolic links; give a path whose every parent is a directory" \
    "$BIN" run nic.yaml --out loop/x
echo "cli_tools_fail: ok"

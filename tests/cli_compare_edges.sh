#!/usr/bin/env bash
# `scimitar compare`'s remaining edges: a scheme listed twice with another
# between (still refused, exit 2); a scheme's statistics that cannot be
# written (its directory is a file: exit 1 with the path, no table); a
# compare.csv whose temporary file cannot be created (exit 1 with the
# reason); and a configuration with more devices than the table has rows
# (64) whose devices move no data: the rows past the 64th are left out, a
# device without DMAs has throughput 0 and a run of no time a pinned
# time-average of 0, not a division by zero.
# Expected values: the exact message and exit status; the row count and
# the zeros worked out from the configuration.
# usage: cli_compare_edges.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
cd "$T" || exit 1
nic_yaml 20us > nic.yaml

expect 2 "scimitar compare: scheme 'pin' is listed twice in --schemes; list each once" \
    "$BIN" compare nic.yaml --schemes pin,scimitar,pin
# the first scheme's statistics cannot be written: nothing more runs
mkdir c1 && : > c1/scimitar
expect 1 "scimitar compare: scheme scimitar: " "$BIN" compare nic.yaml --schemes scimitar,pin --out c1
grep -qF "c1/scimitar" e.err || fail "the failed write does not name its directory: $(cat e.err)"
[ -e c1/pin ] && fail "the next scheme ran after a failure"
[ -e c1/compare.csv ] && fail "a table was written after a failure"
# the temporary table is a directory
mkdir -p c2/compare.csv.tmp
expect 1 "scimitar compare: cannot write c2/compare.csv: Is a directory" \
    "$BIN" compare nic.yaml --schemes pin --out c2
grep -q "^table:" e.out && fail "said 'table:' after failing to write it"

# 11 idle devices: 1 + 5 x 11 + 12 = 68 rows wanted, 64 kept: the last
# four of the run's rows (swap-ins, stale window mean and max, simulated
# time) are left out
: > empty.trace
{
    echo "processes: {app: {pasid: 1, regions: [{va: 0x7f0000000000, size: 64KiB}]}}"
    echo "devices:"
    for i in 0 1 2 3 4 5 6 7 8 9 10; do
        echo "  d$i: {trace: empty.trace, pasid: 1}"
    done
} > idle.yaml
"$BIN" compare idle.yaml --schemes pin > idle.txt 2> idle.err || fail "idle compare: $(cat idle.err)"
[ "$(wc -l < idle.txt)" -eq 65 ] || fail "expected a header and 64 rows, got $(wc -l < idle.txt) lines"
tail -1 idle.txt | grep -q "^reclaim evicted (pages) " || fail "the 64th row: $(tail -1 idle.txt)"
grep -q "^simulated time" idle.txt && fail "a row past the 64th was printed"
grep -qE "^pinned time-average \(KiB\) +0$" idle.txt || fail "time-average of no time: $(grep 'time-average' idle.txt)"
grep -qE "^d0 throughput \(Gbit/s\) +0$" idle.txt || fail "an idle device's throughput: $(grep 'd0 throughput' idle.txt)"
echo "cli_compare_edges: ok"

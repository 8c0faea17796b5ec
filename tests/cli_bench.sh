#!/usr/bin/env bash
# The benchmarks' command lines (bench/bench_translate.c,
# bench/bench_kernel.c): --help prints the usage and exits 0; every
# malformed argument (not a number, 0, an unknown backend, workload or
# option, a missing value, one argument too many) exits 2 with a message
# naming it and the usage, before anything is printed on stdout. A small
# run with --repeat 2 prints one row per workload whose model counts
# (IOTLB hit rate, events per page) equal those of a single run and of a
# run with the fast path off (sim.events counts the model's events either
# way), and says that it kept the fastest of 2 runs; two devices' hits
# (hit2dev) run nearly every event, a lone device's about one per page.
# usage: cli_bench.sh SCIMITAR SOURCE_DIR (the benchmarks sit beside SCIMITAR)
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
BT=$(dirname "$BIN")/bench_translate
BK=$(dirname "$BIN")/bench_kernel
[ -x "$BT" ] && [ -x "$BK" ] || fail "bench_translate or bench_kernel not built beside $BIN"
cd "$T" || exit 1

# expect (helpers/cli_prelude.sh), and the usage on stderr, nothing on stdout
expect_usage() {
    expect "$@"
    grep -qF -- "usage: " "$T/e.err" || fail "${*:3}: no usage: $(cat "$T/e.err")"
    [ ! -s "$T/e.out" ] || fail "${*:3}: printed on stdout: $(cat "$T/e.out")"
}

"$BT" --help > h.out 2> h.err || fail "bench_translate --help: exit status $?"
grep -qF "usage: bench_translate [DMAS]" h.out || fail "bench_translate --help: $(cat h.out)"
[ ! -s h.err ] || fail "bench_translate --help wrote on stderr"
expect_usage 2 "unknown option '--bogus'" "$BT" --bogus
expect_usage 2 "'abc' is not a valid number of DMAs: expected a whole number from 1 to" "$BT" abc
expect_usage 2 "'0' is not a valid number of DMAs" "$BT" 0
expect_usage 2 "'12x' is not a valid number of DMAs" "$BT" 12x
expect_usage 2 "'-5' is not" "$BT" -w hit --repeat -5
expect_usage 2 "'foo' is not a backend: expected native or systemc" "$BT" 100 foo
expect_usage 2 "unexpected argument 'extra'" "$BT" 100 native extra
expect_usage 2 "-w 'hit,nope': expected workload names from hit, miss, tenants64, hit2dev" "$BT" -w hit,nope
expect_usage 2 "-w 'hit,': expected workload names" "$BT" -w hit,
expect_usage 2 "-w needs a value" "$BT" 100 -w
expect_usage 2 "'0' is not a valid --repeat count: expected a whole number from 1 to 100" "$BT" --repeat 0
expect_usage 2 "'101' is not a valid --repeat count" "$BT" --repeat 101
expect_usage 2 "--repeat needs a value" "$BT" --repeat
expect_usage 2 "--populate takes TENANTS and MIB" "$BT" --populate 1
expect_usage 2 "'x' is not a valid number of tenants" "$BT" --populate x 1
expect_usage 2 "'0' is not a valid size in MiB" "$BT" --populate 1 0
expect_usage 2 "'bad' is not a backend" "$BT" --populate 1 1 bad

"$BK" --help > h.out 2> h.err || fail "bench_kernel --help: exit status $?"
grep -qF "usage: bench_kernel [EVENTS]" h.out || fail "bench_kernel --help: $(cat h.out)"
expect_usage 2 "'abc' is not a valid number of events" "$BK" abc
expect_usage 2 "'0' is not a valid number of events" "$BK" 0
expect_usage 2 "unexpected argument 'x'" "$BK" 100 x

# workload, IOTLB hit, events/page of each row (the model's counts)
counts() { awk '$1 == "hit" || $1 == "miss" || $1 == "hit2dev" { print $1, $2, $6 }' "$1"; }
"$BT" 2000 native -w hit,miss,hit2dev --no-floor --repeat 2 > r2.out 2> r2.err || fail "--repeat 2: $(cat r2.err)"
"$BT" 2000 native -w hit,miss,hit2dev --no-floor > r1.out 2> r1.err || fail "one run: $(cat r1.err)"
"$BT" 2000 native -w hit,miss,hit2dev --no-floor --no-fast > off.out 2> off.err || fail "--no-fast: $(cat off.err)"
[ "$(counts r2.out | wc -l)" -eq 3 ] || fail "--repeat 2 rows: $(cat r2.out)"
[ "$(counts r2.out)" = "$(counts r1.out)" ] || fail "--repeat 2 counts differ from one run's: $(counts r2.out) / $(counts r1.out)"
[ "$(counts r2.out)" = "$(counts off.out)" ] || fail "fast path off counts differ: $(counts r2.out) / $(counts off.out)"
# two devices at once: never one alone, so the kernel runs (nearly) every
# event of a hit, where a lone device's fast path runs about one
awk '$1 == "hit" { h = $8 } $1 == "hit2dev" { d = $8 } END { exit !(h < 2 && d > 5) }' r2.out ||
    fail "ran/page of hit and hit2dev: $(cat r2.out)"
grep -qF "the simulation: fastest of 2 runs" r2.out || fail "--repeat 2 footnote: $(tail -1 r2.out)"
grep -qF "the simulation: fastest of 1 run)" r1.out || fail "one run's footnote: $(tail -1 r1.out)"

# bench/sample.sh on a short trace: the three ways timed, the two sampled runs' estimates equal
"$SRC/bench/sample.sh" "$(dirname "$BIN")" 20000 4 1 100us > s.out 2> s.err || fail "bench/sample.sh: $(cat s.err)"
grep -q "^60000 records over .*, the first 100us and 4 windows" s.out && grep -q "^sample.py (one warm-up, scimitar sample) *[0-9.]*$" s.out \
    || fail "bench/sample.sh output: $(cat s.out)"
echo "ok"

#!/usr/bin/env bash
# Sampling a long trace, three ways, host seconds (docs/testing.md round 14):
# the whole trace in detail; scripts/sample.py with a run per window
# (--rewarm, each window warmed up from the start again); and sample.py
# with one warm-up (`scimitar sample`, a child forked per window). The two
# sampled runs must print the same estimates (checked here); the trace is
# a NIC receive trace of PACKETS packets (3 records each) generated once,
# closed-loop as the bundled one (scripts/gen_traces.sh: --timing rel; an
# open-loop trace at 100 Gbit/s outruns the device, whose backlog then
# grows over the whole run and is no window's to estimate: round 15).
#
#   bench/sample.sh [BUILD_DIR] [PACKETS] [WINDOWS] [JOBS] [HEAD]
#
# Defaults: build, 10,000,000 packets (30 M records, 300 ms of trace
# clock, about 11 MB in /tmp), its first 1 ms in detail (the first touches
# of the buffer pool) and 40 windows of 100 us after 20 us in detail over
# the rest, 2 children at once.
set -euo pipefail
build=${1:-build}
packets=${2:-10000000}
windows=${3:-40}
jobs=${4:-2}
head=${5:-1ms}
bin=$(cd "$build" && pwd)/scimitar
src=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bin" ] || { echo "sample.sh: $bin not found; build first" >&2; exit 1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$bin" trace gen nic-rx --count "$packets" --timing rel -o "$t/rx.bin.gz" > /dev/null
span=$("$bin" trace stats "$t/rx.bin.gz" | awk '$1 == "time.last_ns:" { print $2 "ns" }')
sed "s#../traces/nic_rx.trace.gz#$t/rx.bin.gz#" "$src/configs/default.yaml" > "$t/long.yaml"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N); awk "BEGIN { print $t1 - $t0 }"; }
args=("$bin" "$t/long.yaml" --span "$span" --windows "$windows" --window 100us --detailed-warmup 20us --head "$head" -j "$jobs"
      --keys 'iotlb|walks$|latency\.mean$')
detail=$(secs "$bin" run "$t/long.yaml" --quiet --out "$t/full")
rewarm=$(secs python3 "$src/scripts/sample.py" "${args[@]}" --rewarm)
one=$(secs python3 "$src/scripts/sample.py" "${args[@]}")
python3 "$src/scripts/sample.py" "${args[@]}" > "$t/one.txt"
python3 "$src/scripts/sample.py" "${args[@]}" --rewarm > "$t/rewarm.txt"
cmp -s "$t/one.txt" "$t/rewarm.txt" || { echo "sample.sh: the two sampled runs differ" >&2; exit 1; }
printf '%s records over %s, the first %s and %s windows of 100 us after 20 us in detail, -j %s\n' \
    "$((packets * 3))" "$span" "$head" "$windows" "$jobs"
printf '%-40s %10s\n' "way" "host s"
printf '%-40s %10.2f\n' "whole trace in detail" "$detail" "sample.py --rewarm (a run per window)" "$rewarm" \
    "sample.py (one warm-up, scimitar sample)" "$one"

#!/usr/bin/env bash
# Sampled simulation (scripts/sample.py): windows that tile the whole trace
# clock, each after a functional warm-up of everything before it, add up to
# the detailed run (the default NIC trace with 20 us of detailed warming
# before each window, exactly; the storage workload's CPU and SSD within
# 1%); sparse windows give each estimate a 95% interval, which contains the
# detailed value for a stationary statistic (device IOTLB misses) and is
# wide where the trace is not (first-touch faults); the check fails when an
# estimate is off; bad arguments are refused with a message.
#   usage: cli_sample.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
SAMPLE="$SRC/scripts/sample.py"
KEYS='iotlb\.(misses|hits)$|walks$|\.faults$|dma\.requests$|pte_reads$|pri\.requests$'
NIC_SPAN=1440310ns # time.last_ns of traces/nic_rx.trace.gz (scimitar trace stats)

# tiling: three windows of a third each, 20 us in detail before each
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span $NIC_SPAN --windows 3 --window 480103ns \
    --detailed-warmup 20us --check --keys "$KEYS|latency\.mean$" --max-error 0.05 --top 0 > "$T/tiled.txt" \
    || { cat "$T/tiled.txt"; fail "tiled windows of the default trace do not add up to the detailed run"; }
python3 "$SAMPLE" "$BIN" "$SRC/configs/storage.yaml" --span 5ms --windows 5 --window 1ms -j 2 --check \
    --keys "$KEYS" --max-error 1 --top 0 > "$T/storage.txt" \
    || { cat "$T/storage.txt"; fail "tiled windows of storage.yaml are more than 1% off"; }

# sparse: 8 windows of 36 us (20% of the trace)
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span $NIC_SPAN --windows 8 --window 36us \
    --detailed-warmup 20us --check --keys "$KEYS" --top 50 > "$T/sparse.txt" || fail "sparse sampling failed"
awk '$1 == "nic0.iotlb.misses" { hw = $3; sub("%", "", hw); err = $5 < 0 ? -$5 : $5;
       found = 1; outside = hw == "-" || err > hw + 0 }
     END { exit !found || outside }' "$T/sparse.txt" \
    || { cat "$T/sparse.txt"; fail "the interval of nic0.iotlb.misses does not contain the detailed value"; }
awk '$1 == "nic0.faults" { hw = $3; sub("%", "", hw); exit hw + 0 > 100 ? 0 : 1 }' "$T/sparse.txt" \
    || { cat "$T/sparse.txt"; fail "the first-touch faults' interval is not wide"; }
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span $NIC_SPAN --windows 8 --window 36us \
      --check --keys 'nic0\.faults$' --max-error 1 --top 0) && fail "a 20% estimate of first-touch faults within 1%"
echo "$out" | grep -q "beyond 1.00%" || fail "unclear check failure: $out"

# refused: a window longer than its period, no span
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1ms --windows 4 --window 300us 2>&1) \
    && fail "a window longer than its period ran"
echo "$out" | grep -q "longer than a period" || fail "unclear refusal: $out"
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --windows 4 --window 30us > /dev/null 2>&1 \
    && fail "no --span ran"
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1ms --windows 2 --window 30 2>&1) \
    && fail "a window without a unit ran"
echo "$out" | grep -q "expected a time with its unit" || fail "unclear refusal: $out"
echo "cli_sample: ok"

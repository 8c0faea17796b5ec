#!/usr/bin/env bash
# Sampled simulation (scripts/sample.py): windows that tile the whole trace
# clock, each after a functional warm-up of everything before it, add up to
# the detailed run (the default NIC trace with 20 us of detailed warming
# before each window, exactly; the storage workload's CPU and SSD within
# 1%); sparse windows give each estimate a 95% interval, which contains the
# detailed value for a stationary statistic (device IOTLB misses) and is
# wide where the trace is not (first-touch faults); a head run in detail
# (--head) takes the first touches out of the windows; notes name faults
# clustered before the first window and a device behind its trace; the
# check fails when an estimate is off; bad arguments are refused with a
# message.
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

# --head T: the trace's first T in detail, the windows over the rest. Tiling
# the rest still adds up to the detailed run; sparse windows after a head
# that holds the first touches estimate the faults exactly and the
# translation latency within 0.5% (without it: 20% off and a note that the
# warm-up's faults cluster before the first window)
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span $NIC_SPAN --head 240us --windows 3 --window 400103ns \
    --detailed-warmup 20us --check --keys "$KEYS|latency\.mean$" --max-error 0.05 --top 0 > "$T/headtiled.txt" \
    || { cat "$T/headtiled.txt"; fail "a head and tiled windows do not add up to the detailed run"; }
grep -q "after its first 240us in detail" "$T/headtiled.txt" || fail "the head is not in the heading"
for h in 0ns 200us; do
    python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span $NIC_SPAN --head $h --windows 8 --window 36us \
        --detailed-warmup 20us --check --keys "$KEYS|translation\.latency\.mean$" --top 50 > "$T/head$h.txt" \
        || fail "sampling with --head $h failed"
done
grep -q "^note: the functional warm-up resolved 362 faults before the first window" "$T/head0ns.txt" \
    || { cat "$T/head0ns.txt"; fail "no note of the faults before the first window"; }
grep -q "^note:" "$T/head200us.txt" && { cat "$T/head200us.txt"; fail "a note with the first touches in the head"; }
awk '$1 == "nic0.faults" { f = $5 == "0.00" } $1 == "nic0.translation.latency.mean" { e = $5 < 0 ? -$5 : $5; l = e < 0.5 }
     END { exit !(f && l) }' "$T/head200us.txt" \
    || { cat "$T/head200us.txt"; fail "a head holding the first touches: faults not exact or latency 0.5% off"; }
awk '$1 == "nic0.translation.latency.mean" { e = $5 < 0 ? -$5 : $5; exit !(e > 10) }' "$T/head0ns.txt" \
    || { cat "$T/head0ns.txt"; fail "without a head the latency is not off (the test shows nothing)"; }

# --warming-check: each estimate's change after 2W is what a sample with
# --detailed-warmup 2W gives (two separate samples are the reference); no
# note on the closed-loop trace, a note where a backlog builds with W
pids=()
for w in 20us 40us; do
    python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --head 200us --windows 8 --window 36us \
        --detailed-warmup $w --keys "$KEYS|latency\.mean$" --top 50 > "$T/w$w.txt" &
    pids+=($!)
done
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --head 200us --windows 8 --window 36us \
    --detailed-warmup 20us --warming-check --keys "$KEYS|latency\.mean$" --top 50 > "$T/wcheck.txt" \
    || fail "--warming-check failed"
wait "${pids[0]}" && wait "${pids[1]}" || fail "sampling after 20 us or 40 us failed"
grep -q "^statistic  *estimate  *95% +-  *2W %$" "$T/wcheck.txt" || fail "no 2W column: $(head -3 "$T/wcheck.txt")"
grep -q "^note: doubling" "$T/wcheck.txt" && { cat "$T/wcheck.txt"; fail "a warming note on a closed-loop trace"; }
awk 'FNR == 1 { f++ } f == 1 && NF >= 3 { a[$1] = $2 } f == 2 && NF >= 3 { b[$1] = $2 }
     f == 3 && $1 ~ /\./ && NF == 4 { n++; if (a[$1] == 0 || $4 == "-") next;
         want = (b[$1] - a[$1]) / (a[$1] < 0 ? -a[$1] : a[$1]) * 100; d = want - $4; if (d < 0) d = -d;
         if (d > 0.006 + 1e-4 * (want < 0 ? -want : want)) { print "off: " $1 " " $4 " want " want; bad = 1 } }
     END { exit bad || n < 10 }' "$T/w20us.txt" "$T/w40us.txt" "$T/wcheck.txt" \
    || { cat "$T/wcheck.txt"; fail "the 2W column is not the change to a sample after 2W"; }
"$BIN" trace gen nic-rx --count 20000 --timing abs -o "$T/abs.trace.gz" > /dev/null || fail "trace gen"
sed "s#../traces/nic_rx.trace.gz#$T/abs.trace.gz#" "$SRC/configs/default.yaml" > "$T/abs.yaml"
python3 "$SAMPLE" "$BIN" "$T/abs.yaml" --head 200us --windows 4 --window 30us --detailed-warmup 20us \
    --warming-check --keys 'nic0\.dma\.queue_delay|iotlb\.misses' > "$T/wabs.txt" || fail "--warming-check open loop"
grep -q "^note: doubling the detailed warm-up (20000 ns to 40000 ns) moves 1 of the statistics shown by more than \
their interval, the most nic0.dma.queue_delay.mean " "$T/wabs.txt" || { cat "$T/wabs.txt"; fail "no warming note"; }
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --windows 4 --window 30us --warming-check 2>&1) \
    && fail "--warming-check without a detailed warm-up ran"
echo "$out" | grep -q "expected --detailed-warmup W above 0" || fail "unclear refusal: $out"

# faults all through the trace (the storage workload's new pages) are not a cluster: no note
python3 "$SAMPLE" "$BIN" "$SRC/configs/storage.yaml" --span 5ms --windows 5 --window 200us -j 2 --keys faults \
    > "$T/storage_sparse.txt" || fail "sparse storage sampling failed"
grep -q "^note:" "$T/storage_sparse.txt" && { cat "$T/storage_sparse.txt"; fail "steady faults called a cluster"; }

# an open-loop trace faster than the device: its backlog grows over the run,
# which no window inherits; the estimate says so (the closed-loop bundled
# trace, above, never did)
python3 "$SAMPLE" "$BIN" "$T/abs.yaml" --span 592026ns --windows 4 --window 30us --detailed-warmup 20us \
    --keys queue_delay > "$T/abs.txt" || fail "sampling an open-loop trace failed"
grep -q "^note: nic0.dma.queue_delay: requests waited .* does not keep up with its trace" "$T/abs.txt" \
    || { cat "$T/abs.txt"; fail "no note of a device behind its trace"; }
for f in tiled storage sparse headtiled; do
    grep -q "does not keep up" "$T/$f.txt" && { cat "$T/$f.txt"; fail "$f: a closed-loop run said to fall behind"; }
done

# refused: a window longer than its period, a head not shorter than the span
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1ms --windows 4 --window 300us 2>&1) \
    && fail "a window longer than its period ran"
echo "$out" | grep -q "longer than a period" || fail "unclear refusal: $out"
# without --span: the trace clock `scimitar check` prints, plus 1 ns (every record in the span)
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --windows 4 --window 30us --keys "$KEYS" > "$T/nospan.txt" \
    || fail "no --span failed"
python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1440311ns --windows 4 --window 30us --keys "$KEYS" \
    | cmp -s - "$T/nospan.txt" || { cat "$T/nospan.txt"; fail "no --span: not the check's"; }
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --windows 4 --window 30us --set devices.nic0.trace=/nonexistent 2>&1) \
    && fail "a configuration that does not check sampled"
echo "$out" | grep -q "sample: .* check .* failed" || fail "unclear refusal: $out"
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1ms --windows 2 --window 30 2>&1) \
    && fail "a window without a unit ran"
echo "$out" | grep -q "expected a time with its unit" || fail "unclear refusal: $out"
out=$(python3 "$SAMPLE" "$BIN" "$SRC/configs/default.yaml" --span 1ms --head 1ms --windows 2 --window 30us 2>&1) \
    && fail "a head as long as the span ran"
echo "$out" | grep -q "is not shorter than the span (1000000 ns)" || fail "unclear refusal: $out"
echo "cli_sample: ok"

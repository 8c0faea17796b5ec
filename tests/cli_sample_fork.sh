#!/usr/bin/env bash
# scimitar sample: windows of one functional warm-up, each run in detail in
# a child forked where the warm-up reaches it. The reference is the run
# configured to the window (sim.warmup_until = its start, sim.until = its
# end): every window's stats.json byte for byte, on bundled configurations
# with a CPU and a device, tenants, a VM with a stage-2 reclaim on a timer,
# schemes pin and iommu-map, the SystemC kernel; -j does not change a byte;
# a window's config.yaml runs the same window again; scripts/sample.py's
# estimates are the same from one pass as from a run per window (--rewarm);
# bad arguments are refused with a message and no output.
#   usage: cli_sample_fork.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

# windows STARTS(us) D(us) W(us) CONFIG [--set k=v]...: each window against its own run
windows() {
    local starts=$1 d=$2 w=$3 cfg=$4 name
    shift 4
    name=$(basename "$cfg" .yaml)$(echo "$starts $*" | tr -c 'a-z0-9' '_')
    local out="$T/$name" at
    at=$(echo "$starts" | sed 's/ /us,/g')us
    "$BIN" sample "$cfg" --at "$at" --window "${d}us" --detailed-warmup "${w}us" -j 2 --out "$out" "$@" \
        > "$T/listing.txt" || fail "sample $name"
    local k=0 s from
    for s in $starts; do
        k=$((k + 1))
        from=$((s > w ? s - w : 0))
        "$BIN" run "$cfg" --quiet --out "$T/ref" "$@" --set sim.warmup_until=${from}us \
            --set sim.until=$((s + d))us || fail "reference run $name $s"
        cmp -s "$out/window-$(printf %03d $k)/stats.json" "$T/ref/stats.json" \
            || fail "$name: window $k [$s us) differs from its configured run"
        if [ $from -lt $s ]; then
            "$BIN" run "$cfg" --quiet --out "$T/ref" "$@" --set sim.warmup_until=${from}us \
                --set sim.until=${s}us || fail "reference head $name $s"
            cmp -s "$out/window-$(printf %03d $k)-head/stats.json" "$T/ref/stats.json" \
                || fail "$name: window $k's detailed warm-up differs from its configured run"
        elif [ -e "$out/window-$(printf %03d $k)-head" ]; then
            fail "$name: window $k has a head without a detailed warm-up"
        fi
    done
    grep -q "^window $k: detailed from" "$T/listing.txt" || fail "$name: no listing of window $k"
    grep -q "^$k,measured,$(((starts_last = ${starts##* }) > w ? (starts_last - w) * 1000000 : 0)),$(((starts_last + d) * 1000000)),window-$(printf %03d $k)\$" \
        "$out/windows.csv" || fail "$name: windows.csv lacks window $k: $(cat "$out/windows.csv")"
}

windows "0 150 400 700" 60 20 "$SRC/configs/default.yaml"
windows "100 400" 80 0 "$SRC/configs/default.yaml"
windows "50 300 800" 100 30 "$SRC/configs/storage.yaml"
windows "100 500" 60 20 "$SRC/configs/kv_tenants.yaml"
windows "50 250 500 900" 60 30 "$SRC/configs/vm_nic.yaml" --set vms.vm0.s2_reclaim.at=100us \
    --set vms.vm0.s2_reclaim.interval=100us
windows "150 400" 60 30 "$SRC/configs/default.yaml" --set scheme=pin
windows "150 400" 60 30 "$SRC/configs/default.yaml" --set scheme=iommu-map
windows "150 400" 60 30 "$SRC/configs/cpu_nic.yaml" --set kernel.backend=systemc

# -j changes nothing
for j in 1 3; do
    "$BIN" sample "$SRC/configs/storage.yaml" --at 100us,200us,300us,400us,500us --window 50us \
        --detailed-warmup 10us -j $j --out "$T/j$j" > /dev/null || fail "sample -j $j"
done
for f in "$T"/j1/window-*/stats.json; do
    cmp -s "$f" "$T/j3/${f#"$T"/j1/}" || fail "-j 3 changed ${f#"$T"/j1/}"
done
[ "$(ls -d "$T"/j1/window-* | wc -l)" = 10 ] || fail "expected 5 windows and 5 heads: $(ls "$T/j1")"
[ "$(grep -c ',head,' "$T/j1/windows.csv")" = 5 ] || fail "windows.csv: $(cat "$T/j1/windows.csv")"

# the warm-up's progress lines change nothing either (a trace long enough
# for the warm-up to report: 120,000 records)
"$BIN" trace gen nic-rx --count 40000 -o "$T/rx.bin.gz" || fail "trace gen"
sed "s#../traces/nic_rx.trace.gz#$T/rx.bin.gz#" "$SRC/configs/default.yaml" > "$T/long.yaml"
for p in off line; do
    SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" sample "$T/long.yaml" --at 1ms,2500us --window 50us --progress=$p \
        --out "$T/prog-$p" > /dev/null 2> "$T/prog-$p.err" || fail "sample --progress=$p"
done
grep -q "scimitar: progress: simulated" "$T/prog-line.err" || fail "no progress lines: $(cat "$T/prog-line.err")"
[ ! -s "$T/prog-off.err" ] || fail "--progress=off printed: $(cat "$T/prog-off.err")"
for w in window-001 window-002; do
    cmp -s "$T/prog-off/$w/stats.json" "$T/prog-line/$w/stats.json" || fail "--progress=line changed $w"
done

# a window's config.yaml is that window
"$BIN" run "$T/j1/window-003/config.yaml" --quiet --out "$T/again" || fail "window config.yaml does not run"
cmp -s "$T/again/stats.json" "$T/j1/window-003/stats.json" || fail "window 3's config.yaml runs another window"
grep -q '"sim.until=350000ns"' "$T/j1/window-003/meta.json" || fail "meta.json lacks the window's overrides"

# scripts/sample.py: one pass and a run per window give the same estimates
for m in "" --rewarm; do
    python3 "$SRC/scripts/sample.py" "$BIN" "$SRC/configs/default.yaml" --span 1440310ns --windows 6 \
        --window 40us --detailed-warmup 20us -j 2 --check --top 60 $m > "$T/est$m.txt" || fail "sample.py $m"
done
cmp -s "$T/est.txt" "$T/est--rewarm.txt" || { diff "$T/est.txt" "$T/est--rewarm.txt"; fail "one pass differs"; }

# refusals: a message, status 1 or 2, no output directory
refused() {
    local want=$1 status=$2
    shift 2
    rm -rf "$T/bad"
    expect "$status" "$want" "$BIN" sample "$@" --out "$T/bad"
    [ ! -e "$T/bad/window-001" ] && [ ! -e "$T/bad/windows.csv" ] || fail "sample $*: output written though refused"
}
D="$SRC/configs/default.yaml"
refused "expected ascending" 2 "$D" --at 300us,200us --window 10us
refused "needs a configuration, --at and --window" 2 "$D" --window 10us
refused "--window must be above 0" 2 "$D" --at 10us --window 0
refused "--at '5 parsecs'" 2 "$D" --at "5 parsecs" --window 10us
refused "unknown option" 2 "$D" --at 10us --window 10us --frobnicate
refused "-j takes a number" 2 "$D" --at 10us --window 10us -j 0
refused "--progress takes off, line or bar" 2 "$D" --at 10us --window 10us --progress=loud
refused "placed by time" 1 "$D" --at 10us --window 10us --set sim.records=100
refused "after sim.until" 1 "$D" --at 200us --window 50us --set sim.until=220us
refused "cannot open" 1 "$T/missing.yaml" --at 10us --window 10us
# a window that fails in its child: said, status 1, no windows.csv
out=$("$BIN" sample "$D" --at 100us --window 50us --set sim.watchdog=1ns --out "$T/wd" 2>&1) \
    && fail "a window stopped by the watchdog succeeded"
echo "$out" | grep -q "window 1: watchdog" && echo "$out" | grep -q "window 1 (.*) failed (exit status 1)" \
    || fail "a failing window's message: $out"
[ ! -e "$T/wd/windows.csv" ] || fail "windows.csv written though a window failed"
echo "scimitar sample: windows of one warm-up are their configured runs"

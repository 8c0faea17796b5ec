#!/usr/bin/env bash
# sim.warmup through the CLI: a warmed run counts only its detailed part,
# is deterministic and the same on both kernels; what the warm-up does not
# take is refused with the key's place and no output directory.
#   usage: cli_warmup.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
stat() { sed -n "s/.*\"$1\": \\([0-9.e+-]*\\).*/\\1/p" "$2"; }

"$BIN" run "$SRC/configs/default.yaml" --out "$T/cold" --quiet || fail "cold run failed"
"$BIN" run "$SRC/configs/default.yaml" --out "$T/warm" --quiet --set sim.warmup=8000 || fail "warm run failed"
[ "$(stat sim.warmup.records "$T/warm/stats.json")" = 8000 ] || fail "sim.warmup.records is not 8000"
[ "$(stat sim.warmup.records "$T/cold/stats.json")" = 0 ] || fail "a cold run warmed up"
cold=$(stat nic0.dma.requests "$T/cold/stats.json")
warm=$(stat nic0.dma.requests "$T/warm/stats.json")
[ $((cold - warm)) = 8000 ] || fail "the detailed part has $warm DMAs of $cold, expected 8000 fewer"
# the buffer pool's first pass faults once per page: in the warm-up or in the detailed part, never twice
"$BIN" run "$SRC/configs/default.yaml" --out "$T/part" --quiet --set sim.warmup=2000 || fail "2000 warm-up failed"
part=$(( $(stat sim.warmup.faults "$T/part/stats.json") + $(stat nic0.faults "$T/part/stats.json") ))
[ "$part" = "$(stat nic0.faults "$T/cold/stats.json")" ] || fail "warm-up and detailed faults add up to $part"
# after a warm-up that covered the first pass, the detailed part does not fault
[ "$(stat nic0.faults "$T/cold/stats.json")" -gt 0 ] || fail "the cold run took no fault"
[ "$(stat nic0.faults "$T/warm/stats.json")" = 0 ] || fail "the warmed run faulted"
[ "$(stat sim.warmup.faults "$T/warm/stats.json")" -gt 0 ] || fail "the warm-up resolved no fault"

"$BIN" run "$SRC/configs/default.yaml" --out "$T/again" --quiet --set sim.warmup=8000 --set kernel.backend=native \
    || fail "native warm run failed"
cmp -s "$T/warm/stats.json" "$T/again/stats.json" || fail "warm runs differ between the kernels"

# the summary says the statistics count the detailed run; progress shows during a long warm-up
# (the traces are read) and changes no statistic
"$BIN" run "$SRC/configs/default.yaml" --out "$T/sum" --set sim.warmup=8000 > "$T/summary" || fail "summary run failed"
grep -q "warm-up (sim.warmup): 8000 records run functionally" "$T/summary" || fail "no warm-up line in the summary"
cmp -s "$T/warm/stats.json" "$T/sum/stats.json" || fail "the summary run's statistics differ"
awk 'BEGIN { for (i = 0; i < 140000; i++) printf "+10 read %.0f 64\n", 139637977776128 + (i * 7919 % 1024) * 4096 }' \
    > "$T/long.trace"
SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" run "$SRC/configs/default.yaml" --out "$T/long" --quiet --progress=line \
    --set devices.nic0.trace="$T/long.trace" --set sim.warmup=139000 2> "$T/progress" || fail "long warm-up failed"
grep -q "progress: simulated 0.000 us, trace" "$T/progress" || fail "no progress during the warm-up: $(cat "$T/progress")"
"$BIN" run "$SRC/configs/default.yaml" --out "$T/long2" --quiet --progress=off \
    --set devices.nic0.trace="$T/long.trace" --set sim.warmup=139000 || fail "long warm-up without progress failed"
cmp -s "$T/long/stats.json" "$T/long2/stats.json" || fail "progress changed a statistic"
[ "$(stat sim.warmup.errors "$T/long/stats.json")" = 0 ] || fail "the long trace's accesses were refused"

# a trace cut short (sim.records: half the default's 60,000) shows its
# progress against the limit, not the file: near the end, past 90%
SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" run "$SRC/configs/default.yaml" --out "$T/half" --quiet --progress=line \
    --set sim.records=30000 2> "$T/half.progress" || fail "a run of 30,000 records failed"
best=$(sed -n 's/.*(\([0-9]*\)\.[0-9]%).*/\1/p' "$T/half.progress" | sort -n | tail -1)
[ "${best:-0}" -ge 90 ] || fail "progress of a cut trace reached ${best:-0}%: $(tail -2 "$T/half.progress")"
[ "$(stat nic0.dma.requests "$T/half/stats.json")" = 30000 ] || fail "sim.records=30000 did not replay 30000"

# VMs are warmed up (2D walks, the guest's faults, stage 2 on first touch);
# a stage-2 reclaim on a timer takes a warm-up by time, and one by records
# refuses it, at sim.warmup's line, naming sim.warmup_until
"$BIN" run "$SRC/configs/vm_nic.yaml" --out "$T/vmok" --set sim.warmup=20000 --quiet \
    || fail "vm_nic with sim.warmup failed"
grep -q '"sim.warmup.faults": 1024' "$T/vmok/stats.json" || fail "vm_nic's warm-up did not fault in the 1024 buffers"
grep -q '"nic0.faults": 0' "$T/vmok/stats.json" || fail "vm_nic faulted in detail after its warm-up"
out=$("$BIN" run "$SRC/configs/vm_nic.yaml" --out "$T/vm" --set sim.warmup=10 --set vms.vm0.s2_reclaim.at=1ms 2>&1) \
    && fail "a timed stage-2 reclaim with sim.warmup ran"
echo "$out" | grep -q "sim.warmup" && echo "$out" | grep -q "vms.vm0.s2_reclaim.at" \
    && echo "$out" | grep -q "sim.warmup_until" || fail "unclear refusal: $out"
"$BIN" run "$SRC/configs/vm_nic.yaml" --out "$T/vmtime" --set sim.warmup_until=500us --quiet \
    --set vms.vm0.s2_reclaim.at=100us --set vms.vm0.s2_reclaim.interval=200us \
    || fail "vm_nic with a stage-2 reclaim and sim.warmup_until failed"
grep -q '"vm0.hyp.s2_rounds": [1-9]' "$T/vmtime/stats.json" || fail "no stage-2 reclaim round in detail"
[ -e "$T/vm" ] && fail "a refused run left an output directory"

# OS operations in the warm-up, the checker on: a page reclaimed there is
# read back from swap in detail, a migrated one is at hand, an unpinned
# one was never pinned twice
printf '%s\n' '+10 write 0x7f0000100000 64' '+10 write 0x7f0000101000 64' '+10 pin 0x7f0000101000 4096' \
    '+10 reclaim 0x7f0000100000 8192' '+10 write 0x7f0000102000 64' '+10 migrate 0x7f0000102000 4096' \
    '+10 unpin 0x7f0000101000 4096' '+10 read 0x7f0000100000 64' '+10 read 0x7f0000102000 64' > "$T/ops.trace"
"$BIN" run "$SRC/configs/default.yaml" --out "$T/ops" --quiet --set devices.nic0.trace="$T/ops.trace" \
    --set sim.warmup=7 --set sim.check_invariants=true || fail "a warm-up over OS operations failed"
[ "$(stat os.swap.reads "$T/ops/stats.json")" = 1 ] || fail "the reclaimed page was not read back from swap"
[ "$(stat nic0.faults "$T/ops/stats.json")" = 1 ] || fail "expected one fault in detail (the swapped page)"
[ "$(stat os.frames.pinned "$T/ops/stats.json")" = 0 ] || fail "a pin outlived its unpin"
[ "$(stat sim.warmup.errors "$T/ops/stats.json")" = 0 ] || fail "a warm-up operation was refused"
echo "cli_warmup: ok"

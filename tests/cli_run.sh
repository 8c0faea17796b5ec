#!/usr/bin/env bash
# CLI behaviour: run, --set, check, exit codes, error locations, and no
# partial output on failure.  usage: cli_run.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# the bundled default runs and writes both files
"$BIN" run "$SRC/configs/default.yaml" --out "$T/out" --quiet || fail "default config did not run"
[ -s "$T/out/stats.json" ] && [ -s "$T/out/stats.csv" ] || fail "stats files missing"
grep -q '"nic0.iotlb.misses"' "$T/out/stats.json" || fail "nic0.iotlb.misses not in stats.json"
grep -q '^nic0.dma.latency.p99,' "$T/out/stats.csv" || fail "histogram rows not in stats.csv"
ls -a "$T/out" | grep -q tmp && fail "temporary files left behind"

# the summary is printed without --quiet
"$BIN" run "$SRC/configs/default.yaml" --out "$T/out2" > "$T/summary" || fail "run with summary failed"
grep -q "I/O page faults" "$T/summary" || fail "summary lacks the fault line"

# --set changes the model: a bigger device IOTLB cannot miss more
"$BIN" run "$SRC/configs/default.yaml" --out "$T/big" --quiet --set devices.nic0.iotlb.entries=1024 \
    --set devices.nic0.iotlb.ways=16 || fail "--set run failed"
small=$(sed -n 's/.*"nic0.iotlb.misses": \([0-9]*\).*/\1/p' "$T/out/stats.json")
big=$(sed -n 's/.*"nic0.iotlb.misses": \([0-9]*\).*/\1/p' "$T/big/stats.json")
[ "$big" -lt "$small" ] || fail "--set had no effect ($big >= $small)"

# determinism through the CLI, and across backends
"$BIN" run "$SRC/configs/default.yaml" --out "$T/again" --quiet || fail "second run failed"
cmp -s "$T/out/stats.json" "$T/again/stats.json" || fail "two runs differ"
"$BIN" run "$SRC/configs/default.yaml" --out "$T/native" --quiet --set kernel.backend=native || fail "native failed"
cmp -s "$T/out/stats.json" "$T/native/stats.json" || fail "systemc and native backends differ"

# check validates config and traces, and prints the trace clock: the
# longest trace's last issue time, as `trace stats` reads it
"$BIN" check "$SRC/configs/default.yaml" > "$T/check.out" || fail "check rejected the default config"
last=$("$BIN" trace stats "$SRC/traces/nic_rx.trace.gz" | awk '$1 == "time.last_ns:" { print $2 }')
grep -qx "trace clock: $last ns (the last record of any trace, on its own clock)" "$T/check.out" \
    || fail "check's trace clock is not the trace's last time ($last): $(cat "$T/check.out")"

# a bad key: exit 1, file:line:col and a suggestion, no output directory
cat > "$T/bad.yaml" <<YAML
devices:
  nic0:
    trace: $SRC/traces/nic_rx.trace.gz
    pasid: 1
    iotlb: {entires: 64}
processes: {app: {pasid: 1}}
YAML
"$BIN" run "$T/bad.yaml" --out "$T/badout" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] || fail "bad config exit status $rc, expected 1"
grep -q "bad.yaml:5:13: error: unknown key 'devices.nic0.iotlb.entires'; did you mean 'entries'" "$T/err" \
    || fail "bad config message: $(cat "$T/err")"
[ -e "$T/badout" ] && fail "output directory created for a failed run"

# a bad --set value names the key
"$BIN" run "$SRC/configs/default.yaml" --out "$T/badset" --set iommu.walkers=-3 2> "$T/err"; rc=$?
[ $rc -eq 1 ] || fail "bad --set exit status $rc"
grep -q "iommu.walkers" "$T/err" || fail "bad --set message: $(cat "$T/err")"
[ -e "$T/badset" ] && fail "output directory created for a failed --set run"

# a bad trace line: the trace's file:line:col, exit 1, no output
printf '@0 read 0x7f0000000000 64\n+1 write 0x7f0000000000 zero\n' > "$T/bad.trace"
sed "s#trace: .*#trace: $T/bad.trace#; s#entires#entries#" "$T/bad.yaml" > "$T/badtrace.yaml"
"$BIN" run "$T/badtrace.yaml" --out "$T/tout" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] || fail "bad trace exit status $rc"
grep -q "bad.trace:2:" "$T/err" || fail "bad trace message: $(cat "$T/err")"
[ -e "$T/tout" ] && fail "output directory created for a failed trace"
"$BIN" check "$T/badtrace.yaml" 2> "$T/err" >/dev/null && fail "check accepted a bad trace"
grep -q "bad.trace:2:" "$T/err" || fail "check message: $(cat "$T/err")"

# usage errors exit 2
"$BIN" run 2>/dev/null; [ $? -eq 2 ] || fail "missing config should exit 2"
"$BIN" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command should exit 2"
# a gzip trace cut short is an error, not a shorter trace
head -c 30000 "$SRC/traces/nic_rx.trace.gz" > "$T/cut.trace.gz"
"$BIN" trace stats "$T/cut.trace.gz" > /dev/null 2> "$T/cut.err" && fail "a truncated gzip trace was accepted"
grep -q "truncated gzip data" "$T/cut.err" || fail "truncated trace message: $(cat "$T/cut.err")"
# an access may name only a PASID its agent is bound to (devices: pasid + tenants)
printf '@0 read 0x10000000 64\n@10 write 0x20000000 64 pasid=2\n' > "$T/ten.trace"
cat > "$T/ten.yaml" <<YAML
processes:
  a: {pasid: 1, regions: [{va: 0x10000000, size: 1MiB}]}
  b: {pasid: 2, regions: [{va: 0x20000000, size: 1MiB}]}
devices:
  nic0: {trace: ten.trace, pasid: 1}
YAML
"$BIN" run "$T/ten.yaml" --out "$T/ten" --quiet 2> "$T/ten.err" && fail "an access to an unbound PASID was accepted"
grep -q "ten.trace:2: error: nic0 accesses pasid 2.*devices.nic0.tenants" "$T/ten.err" || fail "unbound PASID message: $(cat "$T/ten.err")"
[ -e "$T/ten/stats.json" ] && fail "stats written after a failed run"
"$BIN" run "$T/ten.yaml" --out "$T/ten" --quiet --set 'devices.nic0.tenants=[2]' --set sim.check_invariants=true ||
    fail "a device with tenants: [2] could not serve pasid 2"
# A livelock (the OS skips device invalidations and the checker is off: the
# NIC keeps faulting on a stale walk cache and never completes) is stopped
# by the watchdog with an error naming the agent and its oldest request,
# with the default sim.watchdog and with a short one; no stats are written.
# The watchdog looks every 2^14 events, so it fires up to one such period
# (here ~1.2 ms of simulated time) after the request turned 1 s old.
"$BIN" run "$SRC/configs/cpu_nic.yaml" --out "$T/live" --quiet --set os.unsafe_skip_device_invalidation=true \
    --set sim.check_invariants=false 2> "$T/live.err"; rc=$?
[ $rc -eq 1 ] || fail "livelock: exit status $rc, expected 1"
grep -q "watchdog at t=.*nic0's oldest request, read of .* has waited 100[0-9]\.[0-9]* ms (sim.watchdog is 1000\.000 ms)" \
    "$T/live.err" || fail "livelock message: $(cat "$T/live.err")"
[ -e "$T/live" ] && fail "stats written after a watchdog stop"
"$BIN" run "$SRC/configs/cpu_nic.yaml" --out "$T/live" --quiet --set os.unsafe_skip_device_invalidation=true \
    --set sim.check_invariants=false --set sim.watchdog=2ms 2> "$T/live.err" && fail "livelock ran to an end"
grep -q "has waited 2\.[0-9]* ms (sim.watchdog is 2\.000 ms)" "$T/live.err" || fail "short watchdog: $(cat "$T/live.err")"
# and what the OS is busy with: the NIC's faults keep both handlers at work
grep -q "; OS: [0-9]* fault group(s) queued at the host, 2 of 2 fault handler(s) busy and 0 waking, 0 fault(s) waiting for a free frame, .* shadow update(s) unacknowledged" \
    "$T/live.err" || fail "the watchdog's OS state: $(cat "$T/live.err")"
echo "cli_run: all checks passed"

#!/usr/bin/env bash
# Stress, CI-sized (issue 14): 64 devices each serving 64 tenants (one
# process and address space per tenant, every device bound to all 64
# PASIDs) in too little memory, so the reclaimer keeps evicting pages and
# every eviction is a shootdown that must reach all 64 devices; the safety
# checker is on. Each device replays its own kv trace (scimitar trace gen
# kv --tenants 64, its own seed).
# Proven: the run ends cleanly (exit 0, no failed or exposed DMA), every
# DMA of every trace completed, reclaim and shootdowns happened, every
# device took every invalidation, and the same configuration with device
# invalidation skipped is caught by the checker (so it was on). A second
# run gives byte-identical statistics. STRESS_COUNT (operations per
# device, default 500) scales it; docs/testing.md gives a longer run.
# usage: cli_stress.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1
N=64
TENANTS=64
COUNT=${STRESS_COUNT:-500}

for d in $(seq 0 $((N - 1))); do
    "$BIN" trace gen kv --tenants $TENANTS --region 1MiB --count "$COUNT" --seed $((d + 1)) -o dev$d.trace.gz ||
        fail "trace gen for dev$d"
done
{
    echo "seed: 1"
    echo "sim: {check_invariants: true}"
    echo "memory: {size: 24MiB}   # the tenants touch up to 64 MiB"
    echo "processes:"
    for t in $(seq 0 $((TENANTS - 1))); do
        printf '  tenant%d: {pasid: %d, regions: [{va: 0x%x, size: 1MiB}]}\n' $t $((t + 1)) $((0x7f0000000000 + t * 0x40000000))
    done
    echo "devices:"
    others=$(seq -s, 2 $TENANTS)
    for d in $(seq 0 $((N - 1))); do
        printf '  dev%d: {trace: dev%d.trace.gz, pasid: 1, tenants: [%s], max_outstanding: 16}\n' $d $d "$others"
    done
} > stress.yaml

t0=$(date +%s%N)
"$BIN" run stress.yaml --out a --quiet || fail "the stress run failed"
ms=$((($(date +%s%N) - t0) / 1000000))
"$BIN" run stress.yaml --out b --quiet || fail "the second stress run failed"
cmp -s a/stats.json b/stats.json || fail "two runs of the same configuration differ"
python3 - a/stats.json $N "$COUNT" <<'PY' || fail "stress statistics"
import json, sys
s = json.load(open(sys.argv[1]))
n, count = int(sys.argv[2]), int(sys.argv[3])
def need(cond, what):
    if not cond:
        sys.exit("stress: " + what)
for d in range(n):
    dev = "dev%d" % d
    need(s[dev + ".dma.requests"] == count, "%s replayed %s of %d requests" % (dev, s[dev + ".dma.requests"], count))
    need(s[dev + ".dma.errors"] == 0, dev + " had failed DMAs")
    need(s[dev + ".exposed_dmas"] == 0, dev + " used a stale translation")
    # every device serves every tenant, so every shootdown reaches it
    need(s[dev + ".invalidations"] == s["dev0.invalidations"], dev + " missed invalidations")
need(s["os.reclaim.evicted"] > 1000, "too little reclaim: %s" % s["os.reclaim.evicted"])
need(s["os.shootdowns"] > 10, "too few shootdowns: %s" % s["os.shootdowns"])
need(s["dev0.invalidations"] > 1000, "too few device invalidations: %s" % s["dev0.invalidations"])
need(s["os.iopf.requests"] > 0, "no I/O page faults")
print("stress: %d devices x %d requests, %d evictions, %d shootdowns, %d invalidations per device, %d events" % (
    n, count, s["os.reclaim.evicted"], s["os.shootdowns"], s["dev0.invalidations"], s["sim.events"]))
PY
# the checker was on: skipping device invalidation is caught
"$BIN" run stress.yaml --out c --quiet --set os.unsafe_skip_device_invalidation=true 2> c.err &&
    fail "skipping device invalidation was not caught"
grep -q "invariant violated at t=.*the shootdown missed that TLB" c.err || fail "checker: $(cat c.err)"
echo "cli_stress: $N devices x $TENANTS tenants, run in $ms ms"

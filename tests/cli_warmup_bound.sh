#!/usr/bin/env bash
# What the functional warm-up changes, measured against the same records in
# detail (scripts/warmup_bound.py). A random trace with a hot set the
# device's 256-entry IOTLB and a 2,048-entry IOMMU IOTLB hold (so the warm
# caches decide the detailed part's misses: a warm-up that fills neither
# is 5% and 37% off), the default NIC trace, and the storage workload (a
# CPU and a device in step, sim.warmup_until): the translation statistics
# of the detailed part (IOTLB hits and misses, faults, walks, page
# requests, translation and request latency means) stay within 1% of a
# detailed run's. docs/testing.md, round 12, has the table for every
# bundled configuration.
#   usage: cli_warmup_bound.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
KEYS='iotlb\.(misses|hits)$|\.faults$|translation\.latency\.mean$|dma\.latency\.mean$|mem\.latency\.mean$|iopf\.requests$|walks$'
bound() { python3 "$SRC/scripts/warmup_bound.py" "$BIN" "$SRC/configs/$1" "${@:2}" --keys "$KEYS" --max-error 1 --top 0; }

# 30,000 DMAs into the default's 4 MiB buffer region: 80% to 200 hot pages
python3 - "$T/hot.trace" <<'PY' || fail "writing the trace"
import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    for i in range(30000):
        page = r.randrange(200) if r.random() < 0.8 else r.randrange(1024)
        f.write("+200 %s 0x%x 256\n" % ("write" if r.random() < 0.5 else "read",
                                        0x7f0000100000 + page * 4096 + r.randrange(16) * 256))
PY
HOT="--set devices.nic0.trace=$T/hot.trace --set devices.nic0.iotlb.entries=256 --set devices.nic0.iotlb.ways=256 --set iommu.iotlb.entries=2048"
out=$(bound default.yaml --until 4ms --window 2ms $HOT) || fail "hot set by time: $out"
echo "$out" | tail -1
out=$(bound default.yaml --warmup 20000 --records 30000 $HOT) || fail "hot set by records: $out"
echo "$out" | tail -1
out=$(bound default.yaml --until 960us --window 480us) || fail "default.yaml by time: $out"
echo "$out" | tail -1
out=$(bound storage.yaml --until 3.4ms --window 1.7ms) || fail "storage.yaml by time: $out"
echo "$out" | tail -1
# and it can fail: by records, storage's CPU (2,000 records over the
# trace's 5 ms) warms up its whole trace while the device warms up two
# thirds of its own, so the device's last third finds present the pages
# the CPU would have faulted in only later
out=$(bound storage.yaml --warmup 4000 --records 6000) && fail "storage.yaml by records passed: $out"
echo "$out" | grep -q "more than --max-error" || fail "storage.yaml by records: $out"
exit 0

#!/usr/bin/env bash
# The runs scripts/fastpath_random.py found wrong, kept as they were found
# (bundled configurations with the keys that broke them):
# 1. nic_tx with zero-byte read requests and a 1 ns memory: stats.json with
#    sim.fast_path on and off were 6 statistics apart (ties taken over in
#    slot order, test_fast equal_dues).
# 2. cpu_nic with walk shadow and one DMA in flight: the watchdog stopped
#    it after 1 s of simulated time, the device faulting for ever on a page
#    the OS had mapped (a short update of the copy applied before a longer
#    one sent earlier: test_device shadow_updates_in_order); it must end
#    (the checker is on: a violation would stop it), every DMA done, and a
#    DMA fail only where the OS refused its page (the application unmaps
#    buffers the NIC, one DMA at a time, reaches late).
# usage: cli_random_finds.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

keys=(--set memory.latency=1ns --set fabric.iommu_mem.bandwidth=16GB/s --set fabric.header_bytes=0
      --set iommu.ats_queue=1 --set devices.nic0.link.bandwidth=16GB/s)
"$BIN" run "$SRC/configs/nic_tx.yaml" --quiet --out "$T/on" "${keys[@]}" --set sim.fast_path=on \
    || fail "nic_tx, fast path on"
"$BIN" run "$SRC/configs/nic_tx.yaml" --quiet --out "$T/off" "${keys[@]}" --set sim.fast_path=off \
    || fail "nic_tx, fast path off"
cmp -s "$T/on/stats.json" "$T/off/stats.json" || fail "nic_tx: stats.json differ with the fast path on and off"
on=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$T/on/meta.json")
off=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"])' "$T/off/meta.json")
[ "$on" -lt "$off" ] || fail "nic_tx: the fast path was not used ($on events executed, $off without it)"

keys=(--set memory.latency=13ns --set fabric.iommu_mem.bandwidth=5GB/s --set devices.nic0.link.latency=33ns
      --set devices.nic0.link.bandwidth=1GB/s --set devices.nic0.max_outstanding=1 --set devices.nic0.walk=shadow)
"$BIN" run "$SRC/configs/cpu_nic.yaml" --quiet --out "$T/shadow" "${keys[@]}" 2> "$T/shadow.err" \
    || fail "cpu_nic with walk shadow: $(tail -c 400 "$T/shadow.err")"
python3 - "$T/shadow/stats.json" "$SRC" <<'PY' || fail "cpu_nic with walk shadow: wrong statistics"
import gzip, json, sys
s = json.load(open(sys.argv[1]))
dmas = sum(1 for line in gzip.open(sys.argv[2] + "/traces/cpu_nic_tx.trace.gz", "rt")
           if line.strip() and not line.startswith("#") and line.split()[1] in ("read", "write"))
assert s["nic0.dma.requests"] == dmas, (s["nic0.dma.requests"], dmas)
assert s["nic0.dma.errors"] == s["os.iopf.invalid"], (s["nic0.dma.errors"], s["os.iopf.invalid"])
assert s["os.shadow.syncs"] > 0
PY
echo "cli_random_finds: both runs as they should be"

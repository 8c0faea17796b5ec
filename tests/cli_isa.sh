#!/usr/bin/env bash
# The same workload on every ISA (system.isa: x86-64, armv8, riscv, each
# with its 4-level, 48-bit paging and its IOMMU's context structures) gives
# the same faults and the same TLB and IOTLB hits and misses: the page
# sizes agree, only the entries' encodings and the context reads differ.
# Bundled configurations run unchanged with --set system.isa=...; the
# safety checker is on. The context reads are counted by hand: a
# PASID-cache miss reads 2 structures on VT-d, 3 on SMMUv3, 4 on the RISC-V
# IOMMU. (cpu_nic, exp_d_faults, kv, nic_tx and stream race faults
# against translations, or a core's faults against a device's on the same
# pages, so a different context cost changes their interleaving; they are
# left out; so is the parallelism of the pin and iommu-map
# drivers' contexts, os.driver.queues, under iommu-map: its unmaps race the
# translations of other contexts' I/Os, so one driver context runs there.)
# The fault path's new parts run on every ISA too: a device without an ATC
# (ats: false, translated inline by the IOMMU, which then reads the
# device's context without it being bound), iommu-map with the rings mapped
# at bind (static_dma) and the flush queue (deferred), page request groups
# with prefault. usage: cli_isa.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A run's third field: statistics that may differ. The IOMMU translates
# the DMAs of a device without an ATC inline and does not merge misses on
# one page (each DMA walks), so how many DMAs miss its IOTLB and PASID
# cache depends on how long the first one's context lookup took; the
# faults, stalls and DMAs do not.
INLINE='^iommu\.(iotlb\.|walks$)'
runs=(
    "default|"
    "default|devices.nic0.walk=device"
    "default|devices.nic0.walk=shadow"
    "default|devices.nic0.walk=software"
    "default|scheme=iommu-map os.driver.queues=1"
    "default|scheme=iommu-map os.driver.queues=1 os.iommu_map.mode=deferred"
    "default|scheme=iommu-map os.driver.queues=1 devices.nic0.ats=false|$INLINE"
    "default|scheme=pin"
    "default|devices.nic0.ats=false|$INLINE"
    "default|devices.nic0.prefault=4"
    "storage|"
    "kv_tenants|"
    "exp_b_locality|"
)
i=0
for r in "${runs[@]}"; do
    cfg=${r%%|*}
    extra=${r#*|}
    loose=
    if [[ $extra == *"|"* ]]; then
        loose=${extra#*|}
        extra=${extra%%|*}
    fi
    for isa in x86-64 armv8 riscv; do
        args=(run "$SRC/configs/$cfg.yaml" --quiet --set "system.isa=$isa" --set sim.check_invariants=true)
        for kv in $extra; do args+=(--set "$kv"); done
        "$BIN" "${args[@]}" --out "$T/$i.$isa" || fail "$cfg $extra on $isa did not run"
    done
    python3 - "$T/$i" "$cfg $extra" "$loose" <<'PY' || exit 1
import json, re, sys
base, what, loose = sys.argv[1], sys.argv[2], sys.argv[3]
loose = re.compile(loose) if loose else None
s = {isa: json.load(open("%s.%s/stats.json" % (base, isa))) for isa in ("x86-64", "armv8", "riscv")}
same = re.compile(r"(faults|fault\.latency\.count|iopf\.(requests|mapped|groups)|cpu_faults|\.hits$|\.misses$"
                  r"|\.walks$|not_present|dma\.(requests|bytes|errors)|mem\.errors|inline\.(requests|failed)"
                  r"|io\.(maps|unmaps|flushes|static))")
# A device access that misses its IOTLB while a request for the page is in
# flight joins it (iotlb.miss_merged); whether a later access finds the
# request still out (merged) or answered (a hit) depends on how long the
# context reads took. What is the same on every ISA: the requests sent
# (misses - merged) and the accesses that sent none (hits + merged).
for st in s.values():
    for k in [k for k in st if k.endswith(".iotlb.miss_merged")]:
        dev, merged = k[: -len(".miss_merged")], st[k]
        st[dev + ".hits"] += merged
        st[dev + ".misses"] -= merged
checked = 0
for k in sorted(s["x86-64"]):
    if not same.search(k) or "pasid_cache" in k or ".pwc." in k or (loose and loose.search(k)):
        continue
    vals = [s[i].get(k) for i in s]
    if len(set(vals)) != 1:
        sys.exit("FAIL: %s: %s differs across ISAs: x86-64 %s, armv8 %s, riscv %s" % (what, k, *vals))
    checked += 1
    if (k.endswith("dma.errors") or k.endswith("mem.errors") or k.endswith("inline.failed")) and vals[0] != 0:
        sys.exit("FAIL: %s: %s = %s" % (what, k, vals[0]))
if checked < 5:
    sys.exit("FAIL: %s: only %d statistics compared" % (what, checked))
for isa, k in (("x86-64", 2), ("armv8", 3), ("riscv", 4)):
    misses, reads = s[isa]["iommu.pasid_cache.misses"], s[isa]["iommu.walk.pasid_reads"]
    if reads != k * misses:
        sys.exit("FAIL: %s on %s: %d context reads for %d PASID-cache misses, not %d each" % (what, isa, reads, misses, k))
PY
    i=$((i + 1))
done
echo "cli_isa: ok (${#runs[@]} workloads x 3 ISAs)"

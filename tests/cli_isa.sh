#!/usr/bin/env bash
# The same workload on every ISA (system.isa: x86-64, armv8, riscv, each
# with its 4-level, 48-bit paging and its IOMMU's context structures) gives
# the same faults and the same TLB and IOTLB hits and misses: the page
# sizes agree, only the entries' encodings and the context reads differ.
# Bundled configurations run unchanged with --set system.isa=...; the
# safety checker is on. The context reads are counted by hand: a
# PASID-cache miss reads 2 structures on VT-d, 3 on SMMUv3, 4 on the RISC-V
# IOMMU. (cpu_nic, exp_d_faults, kv and nic_tx race faults against
# translations, so a different context cost changes their interleaving;
# they are left out.) usage: cli_isa.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

runs=(
    "default|"
    "default|devices.nic0.walk=device"
    "default|devices.nic0.walk=shadow"
    "default|devices.nic0.walk=software"
    "default|scheme=iommu-map"
    "default|scheme=pin"
    "storage|"
    "stream|"
    "kv_tenants|"
    "exp_b_locality|"
)
i=0
for r in "${runs[@]}"; do
    cfg=${r%%|*}
    extra=${r#*|}
    for isa in x86-64 armv8 riscv; do
        args=(run "$SRC/configs/$cfg.yaml" --quiet --set "system.isa=$isa" --set sim.check_invariants=true)
        [ -n "$extra" ] && args+=(--set "$extra")
        "$BIN" "${args[@]}" --out "$T/$i.$isa" || fail "$cfg $extra on $isa did not run"
    done
    python3 - "$T/$i" "$cfg $extra" <<'PY' || exit 1
import json, re, sys
base, what = sys.argv[1], sys.argv[2]
s = {isa: json.load(open("%s.%s/stats.json" % (base, isa))) for isa in ("x86-64", "armv8", "riscv")}
same = re.compile(r"(faults|fault\.latency\.count|iopf\.(requests|mapped|groups)|cpu_faults|\.hits$|\.misses$"
                  r"|\.walks$|not_present|dma\.(requests|bytes|errors)|mem\.errors)")
checked = 0
for k in sorted(s["x86-64"]):
    if not same.search(k) or "pasid_cache" in k or ".pwc." in k:
        continue
    vals = [s[i].get(k) for i in s]
    if len(set(vals)) != 1:
        sys.exit("FAIL: %s: %s differs across ISAs: x86-64 %s, armv8 %s, riscv %s" % (what, k, *vals))
    checked += 1
    if (k.endswith("dma.errors") or k.endswith("mem.errors")) and vals[0] != 0:
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

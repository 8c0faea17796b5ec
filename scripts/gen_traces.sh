#!/usr/bin/env bash
# Regenerate every bundled trace in traces/ that `scimitar trace gen` can
# produce, from the built CLI. Deterministic: the same scimitar gives the
# same records (tests/cli_tracegen.sh checks the bundled files against it).
#
# usage: scripts/gen_traces.sh [SCIMITAR [OUTDIR]]
#   SCIMITAR  the built CLI (default: build/scimitar)
#   OUTDIR    where to write (default: traces/ next to this script)
#
# traces/cpu_nic_*.trace.gz are not generated here: they unmap and remap
# part of the pool (munmap/mmap records), which no generator writes; see
# scripts/gen_cpu_nic.py.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$HERE/build/scimitar}
OUT=${2:-$HERE/traces}
export SC_COPYRIGHT_MESSAGE=DISABLE
mkdir -p "$OUT"
gen() { "$BIN" trace gen "$@"; }

# configs/default.yaml: 100 Gbit/s receive, sizes 64/576/1500 B at
# 30/20/50%, a 256-entry ring, 2048 x 2 KiB buffers recycled in order,
# relative timing (a stalled NIC delays the packets behind it).
gen nic-rx --count 20000 --sizes 64:0.3,576:0.2,1500:0.5 --entries 256 --buffers 2048 --buffer-size 2KiB \
    --rate 100 --timing rel -o "$OUT/nic_rx.trace.gz"

# Examples of each generator with the application's CPU trace where it
# has one (defaults otherwise; docs/workloads.md).
gen nic-tx --count 2500 -o "$OUT/nic_tx.trace.gz" --cpu-trace "$OUT/nic_tx_app.trace.gz"
gen storage --count 2000 --file-size 32MiB -o "$OUT/storage.trace.gz" --cpu-trace "$OUT/storage_app.trace.gz"
gen kv --count 6000 --region 64MiB -o "$OUT/kv.trace.gz"
gen stream --array-size 4MiB -o "$OUT/stream.trace.gz" --cpu-trace "$OUT/stream_app.trace.gz"

# Four tenants (PASIDs 1..4, 1 GiB apart) sharing one RDMA NIC.
gen kv --tenants 4 --count 6000 --region 16MiB -o "$OUT/kv_tenants.trace.gz"

#!/usr/bin/env python3
"""Deterministic traces for configs/cpu_nic.yaml: an application core fills
transmit buffers and a NIC sends them (DMA reads), over a buffer pool larger
than the memory left for it, so pages are reclaimed, swapped out and faulted
back in; every 2,000 packets the application unmaps and remaps its oldest
quarter of the pool (shootdowns that reach the core and the NIC).

usage: gen_cpu_nic.py OUTDIR [packets]
Provenance of traces/cpu_nic_*.trace.gz. `scimitar trace gen nic-tx
--cpu-trace` writes the same kind of pair, but not the munmap/mmap records
of the pool, so these two stay generated here (scripts/gen_traces.sh makes
every other bundled trace)."""
import gzip
import sys

POOL = 0x7F0000000000
BUF = 4096
NBUF = 6144                 # 24 MiB of buffers
PACKETS = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
GAP_NS = 400                # one packet every 400 ns

cpu = gzip.open(f"{sys.argv[1]}/cpu_nic_app.trace.gz", "wt", compresslevel=9)
nic = gzip.open(f"{sys.argv[1]}/cpu_nic_tx.trace.gz", "wt", compresslevel=9)
for f in (cpu, nic):
    f.write("# scimitar trace v1\n")
cpu.write("# application core: fill each transmit buffer, recycle the pool\n")
nic.write("# NIC transmit: read each buffer ~2 us after the application filled it\n")
for i in range(PACKETS):
    b = i % NBUF
    t = i * GAP_NS
    cpu.write(f"@{t} write {hex(POOL + b * BUF)} 1500\n")
    nic.write(f"@{t + 2000} read {hex(POOL + b * BUF)} 1500\n")
    if i % 2000 == 1999:
        q = ((i // 2000) % 4) * (NBUF // 4)
        cpu.write(f"@{t + 100} munmap {hex(POOL + q * BUF)} {NBUF // 4 * BUF}\n")
        cpu.write(f"@{t + 200} mmap {hex(POOL + q * BUF)} {NBUF // 4 * BUF}\n")
cpu.close()
nic.close()

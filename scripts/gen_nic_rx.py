#!/usr/bin/env python3
"""Deterministic NIC receive trace (text v1) for configs/default.yaml.

Provenance of traces/nic_rx.trace.gz until `scimitar trace gen nic-rx`
replaces it. Per packet the NIC reads a 16-byte RX descriptor from a ring
of 256, writes the packet into the next 2 KiB buffer of a 2048-buffer pool
(recycled in order), and writes a 16-byte completion. Packets arrive at
100 Gbit/s line rate (size + 20 B framing); sizes are 64 B (30%),
576 B (20%) or 1500 B (50%).
"""
import gzip
import random
import sys

RING = 0x7F0000000000
POOL = 0x7F0000100000
N_DESC, N_BUF, BUF = 256, 2048, 2048
PACKETS = int(sys.argv[2]) if len(sys.argv) > 2 else 20000

rng = random.Random(1)
out = gzip.open(sys.argv[1], "wt", compresslevel=9) if sys.argv[1].endswith(".gz") else open(sys.argv[1], "w")
out.write("# scimitar trace v1\n# NIC receive: descriptor read, packet write, completion write\n")
gap = 0
for i in range(PACKETS):
    r = rng.random()
    size = 64 if r < 0.3 else 576 if r < 0.5 else 1500
    d = RING + (i % N_DESC) * 16
    out.write(f"+{gap} read {hex(d)} 16\n")
    out.write(f"+0 write {hex(POOL + (i % N_BUF) * BUF)} {size}\n")
    out.write(f"+0 write {hex(RING + N_DESC * 16 + (i % N_DESC) * 16)} 16\n")
    gap = (size + 20) * 8 // 100  # ns at 100 Gbit/s
out.close()

#!/usr/bin/env python3
"""The fast path (sim.fast_path) against the event path: run every golden
run (scripts/golden.py: each bundled configuration, its scheme variants
and every point of every bundled sweep) with sim.fast_path on and with it
off, and compare their stats.json key by key. Exit 1 on any difference.

    scripts/fastpath.py BIN [GOLDEN.json.gz]

With GOLDEN, both sets are also compared with the golden statistics.
No key is exempt: sim.events counts the model's logical events (those the
kernel executed plus those the fast path stood in for), so it is the same
both ways.
"""
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    binary = sys.argv[1]
    on = golden.collect(binary, ["sim.fast_path=on"])
    off = golden.collect(binary, ["sim.fast_path=off"])
    bad = golden.compare(off, on)
    if len(sys.argv) == 3:
        with gzip.open(sys.argv[2], "rt") as f:
            ref = json.load(f)
        bad += golden.compare(ref, off)
    if bad:
        sys.exit("fastpath: %d differences in %d runs (fast path on vs off%s)" %
                 (bad, len(on), ", and against the golden file" if len(sys.argv) == 3 else ""))
    print("fastpath: %d runs identical with sim.fast_path on and off" % len(on))


if __name__ == "__main__":
    main()

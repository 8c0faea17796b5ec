#!/usr/bin/env python3
"""Golden statistics: run every bundled configuration (and every point of
every bundled sweep, and each configuration under the other schemes) and
record or compare their stats.json.

    scripts/golden.py record  BIN OUT.json.gz     # write the golden file
    scripts/golden.py compare BIN GOLDEN.json.gz  # exit 1 on any difference

A difference is reported key by key ("config: key: old -> new"), with keys
that appeared or disappeared listed apart, so a change of numbers is always
explicit. The runs are not timed and never depend on the terminal (stderr
is not a tty here) or on -j.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(SRC, "configs")
# Configurations whose scheme variants are also recorded: they exercise the
# drivers of the pin and iommu-map schemes (with both iommu-map modes).
SCHEME_VARIANTS = {
    "default": [["scheme=pin"], ["scheme=iommu-map"],
                ["scheme=iommu-map", "os.iommu_map.mode=deferred"],
                ["kernel.backend=native"]],
    "cpu_nic": [["scheme=pin"], ["scheme=iommu-map"],
                ["os.shootdown=broadcast"]],
    "storage": [["scheme=pin"], ["scheme=iommu-map"]],
    "kv": [["scheme=pin", "os.pin.cache_pages=64"]],
}


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("golden: %s failed (%d):\n%s" % (" ".join(cmd), r.returncode, r.stderr))


def load(path):
    with open(path) as f:
        return json.load(f)


def collect(binary, extra=()):
    """Every run's stats.json; `extra`: --set assignments added to each."""
    out = {}
    more = [a for s in extra for a in ("--set", s)]
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(CONFIGS)):
            if not name.endswith(".yaml"):
                continue
            cfg = os.path.join(CONFIGS, name)
            base = name[:-5]
            d = os.path.join(tmp, base)
            run([binary, "run", cfg, "--quiet", "--out", d] + more)
            out[base] = load(os.path.join(d, "stats.json"))
            for sets in SCHEME_VARIANTS.get(base, []):
                d = os.path.join(tmp, base + "_" + "_".join(sets))
                cmd = [binary, "run", cfg, "--quiet", "--out", d]
                for s in sets:
                    cmd += ["--set", s]
                run(cmd + more)
                out[base + " " + " ".join(sets)] = load(os.path.join(d, "stats.json"))
            with open(cfg) as f:
                has_sweep = any(line.startswith("sweep:") for line in f)
            if has_sweep:
                d = os.path.join(tmp, "sweep_" + base)
                run([binary, "sweep", cfg, "-j", "2", "--out", d] + more)
                pts = os.path.join(d, "points")
                for p in sorted(os.listdir(pts)):
                    with open(os.path.join(pts, p, "point.txt")) as f:
                        lines = [l.strip() for l in f if l.strip() and not l.startswith("hash ")]
                    out[base + " sweep " + " ".join(lines)] = load(os.path.join(pts, p, "stats.json"))
    return out


def compare(golden, now):
    bad = 0
    for run_name in sorted(set(golden) | set(now)):
        if run_name not in now:
            print("%s: missing from this run" % run_name)
            bad += 1
            continue
        if run_name not in golden:
            print("%s: not in the golden file" % run_name)
            bad += 1
            continue
        g, n = golden[run_name], now[run_name]
        added = sorted(set(n) - set(g))
        removed = sorted(set(g) - set(n))
        changed = [k for k in sorted(set(g) & set(n)) if g[k] != n[k]]
        for k in changed:
            print("%s: %s: %r -> %r" % (run_name, k, g[k], n[k]))
        if added:
            print("%s: %d new keys: %s%s" % (run_name, len(added), ", ".join(added[:6]),
                                              ", ..." if len(added) > 6 else ""))
        if removed:
            print("%s: removed keys: %s" % (run_name, ", ".join(removed)))
        bad += bool(changed or added or removed)
    return bad


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("record", "compare"):
        sys.exit(__doc__)
    mode, binary, path = sys.argv[1:]
    now = collect(binary)
    if mode == "record":
        with gzip.open(path, "wt") as f:
            json.dump(now, f, sort_keys=True, indent=0)
        print("golden: recorded %d runs in %s" % (len(now), path))
        return
    with gzip.open(path, "rt") as f:
        golden = json.load(f)
    bad = compare(golden, now)
    if bad:
        sys.exit("golden: %d of %d runs differ from %s" % (bad, len(now), path))
    print("golden: %d runs identical to %s" % (len(now), path))


if __name__ == "__main__":
    main()

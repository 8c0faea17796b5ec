"""Shared by scripts/warmup_bound.py and scripts/sample.py: times with
units, one run of the CLI into a temporary directory, and which
statistics add up across runs."""
import json
import os
import re
import subprocess
import sys
import tempfile

# what does not subtract or add across runs: levels, extremes, percentiles, sim.*
SKIP = re.compile(r"^sim\.|\.(min|max|p50|p90|p99|peak|max_occupancy|outstanding_max)$|^os\.frames\.|"
                  r"\.hyp\.(frames_backed|s2_tables|pinned)$|_integral$|finish_ps$|\.time_ps$")
UNITS = {"ps": 1e-3, "ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def ns(text, prog):
    """A time with its unit in ns; exits with prog's message if it has none."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ps|ns|us|ms|s)\s*", text)
    if not m:
        sys.exit("%s: '%s': expected a time with its unit (500us, 2ms)" % (prog, text))
    return int(float(m.group(1)) * UNITS[m.group(2)])


def run(binary, cfg, sets):
    """stats.json of `binary run cfg --set s...`; RuntimeError with its stderr if it fails."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", cfg, "--quiet", "--out", out]
        for a in sets:
            cmd += ["--set", a]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), r.stderr.strip()))
        with open(os.path.join(out, "stats.json")) as f:
            return json.load(f)


def measured(stats, before=None):
    """Counters and (sum, count) of each histogram, less `before`'s (the
    statistics of what a run did after the shorter one ended)."""
    b = before or {}
    out = {}
    for k, v in stats.items():
        if SKIP.search(k) or not isinstance(v, (int, float)) or k.endswith(".count"):
            continue
        if k.endswith(".mean"):
            base = k[:-len(".mean")]
            n, n0 = stats.get(base + ".count", 0), b.get(base + ".count", 0)
            out[k] = (v * n - b.get(k, 0) * n0, n - n0)
        else:
            out[k] = v - b.get(k, 0)
    return out

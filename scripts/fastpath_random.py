#!/usr/bin/env python3
"""The fast path (sim.fast_path) against the event path on random systems:
each run takes a bundled configuration and changes, at random, the keys
the fast path's exactness depends on (link and memory latencies and
bandwidths, header and payload sizes, queue depths, IOTLB sizes, device
clocks, outstanding DMAs, walk placement and fault policy, the scheme,
the OS's fault handlers, shootdown protocol and reclaim, the kernel
backend; the safety checker on in half of them; a functional warm-up
(sim.warmup) in a quarter; in a quarter, one or two
more devices replaying the first one's trace), runs it with the fast path on and off and compares the two
stats.json byte for byte. Exit 1 on any difference, with the command that
reproduces it.

    scripts/fastpath_random.py BIN [RUNS [SEED]]     (default 40 runs, seed 1)
    scripts/fastpath_random.py --backends BIN [RUNS [SEED]]

--backends compares the two kernel backends instead (native and systemc,
the fast path on): the same random variations, the same byte-for-byte
check ("same config and seed, same statistics" on either kernel).

scripts/fastpath.py checks the bundled runs as they are; this checks the
corners they do not reach (ties of equal times, zero-byte messages, full
queues). It found one: accesses due at one time were taken over in slot
order instead of the order their FIFO held them (test_fast equal_dues).
In FASTPATH_RANDOM_INJECT of the runs (default 0.15), inject rules
fail invalidation completions, page responses, swap reads, or send a
burst of phantom page requests (timeouts set short of the watchdog): the
fast path never runs under them, so what they check is that the model
recovers (no watchdog stop, the checker content, the same statistics).
A run the configuration refuses (a walk placement a VM cannot have, say)
counts only if both ways refuse it with the same message; a run stopped
by the watchdog or the checker is a failure of the model, both ways alike
or not (it found one: a shadow copy's updates applied out of order,
tests/cli_random_finds.sh). The fast path
must have been used (fewer events executed than with it off) in at least
a quarter of the runs, or the check proves nothing and fails.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LATENCIES = ["0ns", "1ns", "3ns", "7ns", "20ns", "33ns", "50ns", "100ns", "400ns", "1us"]
# the share of runs with injected faults (FASTPATH_RANDOM_INJECT=1: all)
INJECT = float(os.environ.get("FASTPATH_RANDOM_INJECT", "0.15"))
# what a run that stops says when the model, not the configuration, is wrong
MODEL_FAILURES = ("watchdog", "invariant", "violat", "internal", "Sanitizer", "runtime error")
BANDWIDTHS = ["0", "1GB/s", "2GB/s", "5GB/s", "16GB/s", "32GB/s", "64GB/s"]


_devices = {}


def devices_of(binary, cfg):
    """[(name, trace, pasid, vm, tenants)] of cfg's devices, read from its
    resolved configuration (every key written out, trace paths absolute)."""
    if cfg not in _devices:
        _devices[cfg] = []
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([binary, "run", cfg, "--quiet", "--out", out, "--set", "sim.max_time=1ns"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            path = os.path.join(out, "config.yaml")
            section = re.search(r"^devices:\n((?:  .*\n)*)", open(path).read(), re.M) if r.returncode == 0 else None
            for d in re.finditer(r"^  ([A-Za-z0-9_]+):\n((?:    .*\n)*)", section.group(1) if section else "", re.M):
                keys = dict(re.findall(r"^    (trace|pasid|vm): (.*)$", d.group(2), re.M))
                t = re.search(r"^    tenants:\n((?:      - .*\n)*)", d.group(2), re.M)
                _devices[cfg].append((d.group(1), keys.get("trace", ""), keys.get("pasid", ""),
                                      keys.get("vm", "").strip('"'), re.findall(r"- (\d+)", t.group(1)) if t else []))
    return _devices[cfg]


def variation(rng, cfg, backends, binary):
    """--set assignments for one random run of cfg."""
    s = ["seed=%d" % rng.randrange(1, 1000)]
    backend = "kernel.backend=" + rng.choice(["native", "native", "systemc"])
    if not backends:
        s.insert(0, backend)

    def maybe(p, key, values):
        if rng.random() < p:
            s.append("%s=%s" % (key, rng.choice(values)))

    maybe(.5, "sim.check_invariants", ["true"])
    maybe(.5, "memory.latency", ["1ns", "13ns", "50ns", "90ns", "200ns"])
    maybe(.5, "memory.bandwidth", BANDWIDTHS)
    maybe(.4, "memory.queue", [1, 2, 3, 8, 96])
    maybe(.4, "fabric.iommu_mem.latency", LATENCIES)
    maybe(.4, "fabric.iommu_mem.bandwidth", BANDWIDTHS)
    maybe(.3, "fabric.max_payload", [1, 64, 256, 4096])
    maybe(.3, "fabric.header_bytes", [0, 24, 100])
    maybe(.3, "iommu.iotlb.entries", [0, 8, 64])
    maybe(.3, "iommu.ats_queue", [1, 2, 64])
    maybe(.2, "iommu.walkers", [1, 2, 4])
    maybe(.15, "iommu.walk_queue", [1, 2, 64])
    maybe(.15, "scheme", ["pin", "iommu-map"])
    maybe(.15, "os.shootdown", ["broadcast"])
    maybe(.2, "os.fault_handlers", [1, 2, 4])
    maybe(.15, "os.fault_batch", [1, 4])
    maybe(.1, "os.prefault_sync", ["true"])
    maybe(.1, "os.iopf.zero_pages", ["false"])
    maybe(.15, "os.inv_coalesce_pages", [0, 1, 33])
    maybe(.1, "os.reclaim.batch", [1, 8, 32])
    devs = devices_of(binary, cfg)
    names = [d[0] for d in devs]
    for d in names:
        p = "devices.%s." % d
        maybe(.5, p + "link.latency", LATENCIES)
        maybe(.5, p + "link.bandwidth", BANDWIDTHS)
        maybe(.4, p + "max_outstanding", [1, 2, 4, 32, 64])
        if rng.random() < .3:
            entries = rng.choice([1, 4, 32, 128])
            s.append(p + "iotlb.entries=%d" % entries)
            s.append(p + "iotlb.ways=%d" % rng.choice([w for w in (1, 2, 4, entries) if entries % w == 0]))
        maybe(.3, p + "iotlb.latency", [0, 1, 5])
        maybe(.2, p + "clock", ["1GHz", "1.3GHz", "250MHz"])
        maybe(.15, p + "utlb.entries", [4, 8])
        maybe(.1, p + "inv_queue", [1, 2])
        maybe(.15, p + "walk", ["device", "software", "shadow"])
        maybe(.15, p + "fault_policy", ["retry", "drop", "backup"])
        maybe(.1, p + "iotlb.prefetch", [1, 4])
        maybe(.1, p + "prefault", [1, 8])
        maybe(.1, p + "pri.allocation", [1, 2, 16])
        maybe(.1, p + "pri.group_pages", [1, 4])
    # another device replaying the first one's trace in its address space:
    # several devices share the links and the memory (the fast path needs
    # one alone; it must notice the other)
    first = devs[0][1:] if rng.random() < .25 and devs and devs[0][1] else None
    extra = ["xdev%d" % n for n in range(rng.choice([1, 2]) if first else 0)]
    for name in extra:
        p = "devices.%s." % name
        s += [p + "trace=" + first[0], p + "pasid=" + first[1]]
        if first[2]:
            s.append(p + "vm=" + first[2])
        if first[3]:
            s.append(p + "tenants=[%s]" % ", ".join(first[3]))
        maybe(1, p + "max_outstanding", [1, 4, 32])
        maybe(.5, p + "link.latency", LATENCIES)
    # injected faults (the fast path never runs under them: what is
    # checked is that the model recovers, the checker content): lost
    # invalidation completions and page responses, with timeouts short of
    # the watchdog, swap read errors, a burst of phantom page requests
    if rng.random() < INJECT:
        rules = []
        if rng.random() < .6:
            rules.append("{fault: inv_completion_lost, probability: %g}" % rng.choice([.01, .1, .5]))
            s.append("iommu.ats.inv_timeout=" + rng.choice(["20us", "100us"]))
        if rng.random() < .6:
            rules.append("{fault: page_response_lost, probability: %g}" % rng.choice([.01, .1, .5]))
            for d in names + extra:
                s.append("devices.%s.pri.timeout=%s" % (d, rng.choice(["10us", "50us"])))
        if rng.random() < .3:
            rules.append("{fault: swap_read_error, probability: %g}" % rng.choice([.01, .2]))
        if rng.random() < .3:
            rules.append("{fault: prq_burst, at: %s, requests: %d}" % (rng.choice(["10us", "1ms"]),
                                                                    rng.choice([1, 100, 5000])))
        if rules:
            s.append("inject=[%s]" % ", ".join(rules))
    # a functional warm-up before the detailed run (sim.warmup; refused
    # where it does not apply, and stopped at an OS operation it does not
    # take: both ways alike)
    maybe(.25, "sim.warmup", [1, 50, 1000, 100000])
    # or by time (both together are refused, both ways alike), and traces
    # cut short by records or by their own clock
    maybe(.1, "sim.warmup_until", ["20us", "500us", "3ms"])
    maybe(.1, "sim.records", [300, 5000])
    maybe(.1, "sim.until", ["50us", "2ms"])
    return s


def run(binary, cfg, sets, which):
    """(exit code, stats.json text or the error's last line, events executed)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "run", cfg, "--quiet", "--out", out, "--set", which]
        for a in sets:
            cmd += ["--set", a]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            lines = r.stderr.strip().splitlines() or ["?"]
            # the line that says what stopped it (a sanitizer's report ends with its summary)
            said = next((l for l in lines if any(w in l for w in MODEL_FAILURES)), lines[-1])
            if re.search(r":\d+:\d+: error:", lines[-1]):
                said = lines[-1]  # a configuration refused (file:line:column), whatever it mentions
            return r.returncode, said, None
        with open(os.path.join(out, "stats.json")) as f:
            stats = f.read()
        with open(os.path.join(out, "meta.json")) as f:
            events = json.load(f)["events"]
        return 0, stats, events


def first_differences(a, b, names, n=5):
    fa, fb = json.loads(a), json.loads(b)
    keys = [k for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]
    return len(keys), ["%s: %s (%s) vs %s (%s)" % (k, fa.get(k), names[0], fb.get(k), names[1]) for k in keys[:n]]


def main():
    args = sys.argv[1:]
    backends = bool(args) and args[0] == "--backends"
    if backends:
        args = args[1:]
    if len(args) not in (1, 2, 3):
        sys.exit(__doc__)
    binary = args[0]
    runs = int(args[1]) if len(args) > 1 else 40
    rng = random.Random(int(args[2]) if len(args) > 2 else 1)
    ways = ("kernel.backend=native", "kernel.backend=systemc") if backends else ("sim.fast_path=on",
                                                                                 "sim.fast_path=off")
    names = ("native", "systemc") if backends else ("on", "off")
    cfgdir = os.path.join(ROOT, "configs")
    configs = sorted(os.path.join(cfgdir, c) for c in os.listdir(cfgdir) if c.endswith(".yaml"))
    bad = used = refused = 0
    for i in range(runs):
        cfg = rng.choice(configs)
        sets = variation(rng, cfg, backends, binary)
        on, off = run(binary, cfg, sets, ways[0]), run(binary, cfg, sets, ways[1])
        again = "%s run %s %s" % (binary, os.path.relpath(cfg), " ".join("--set " + a for a in sets))
        if on[:2] != off[:2]:
            bad += 1
            if on[0] or off[0]:
                print("run %d: exit %d (%s) vs %d (%s): %s / %s\n  %s" %
                      (i, on[0], names[0], off[0], names[1], on[1], off[1], again))
            else:
                n, lines = first_differences(on[1], off[1], names)
                print("run %d: %d statistics differ\n  %s\n  %s" % (i, n, "\n  ".join(lines), again))
        elif on[0] and any(w in on[1] for w in MODEL_FAILURES) and not re.search(r":\d+:\d+: error:", on[1]):
            bad += 1
            print("run %d: both ways stopped: %s\n  %s" % (i, on[1], again))
        elif on[0]:
            refused += 1
        elif on[2] < off[2]:
            used += 1
    used_text = "" if backends else "; the fast path used in %d" % used
    print("fastpath_random: %d runs of %s, %d differ%s, %d refused by the configuration" %
          (runs, "the backends" if backends else "the fast path on and off", bad, used_text, refused))
    if bad:
        sys.exit(1)
    if not backends and used * 4 < runs:
        sys.exit("fastpath_random: the fast path was used in only %d of %d runs: the check proves little" %
                 (used, runs))


if __name__ == "__main__":
    main()

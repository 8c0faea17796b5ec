#!/usr/bin/env python3
"""Every number of `scimitar run`'s summary equals the statistic it names.

usage: summary_check.py SUMMARY.txt STATS.json SCHEME CHECKER(0|1)

Each summary line is matched with a pattern written here from the meaning
of its words (not from src/sim/summary.c), and each number is compared
with stats.json: counts exactly, percentages recomputed from the counts,
times through the same unit rule the docs give (ps, ns, us, ms). Used by
tests/cli_options.sh.
"""
import json
import re
import sys


def fmt_time(ps):
    """scimitar's human time: below 1 ns in ps, then ns / us / ms."""
    if ps < 1e3:
        return "%.0f ps" % ps
    if ps < 1e6:
        return "%.1f ns" % (ps / 1e3)
    if ps < 1e9:
        return "%.2f us" % (ps / 1e6)
    return "%.3f ms" % (ps / 1e9)


def main():
    text, stats, scheme, checker = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
    lines = text.splitlines()
    errors = []

    def st(key):
        if key not in stats:
            errors.append("no statistic %s" % key)
            return 0
        return stats[key]

    def eq(what, got, want):
        if str(got) != str(want):
            errors.append("%s: summary says %s, statistics give %s" % (what, got, want))

    def line(pattern, what):
        rx = re.compile(pattern)
        found = [m for m in (rx.fullmatch(l) for l in lines) if m]
        if not found:
            errors.append("no %s line (pattern %s)" % (what, pattern))
        return found

    n = r"(\d+)"
    t = r"(\d+(?:\.\d+)? (?:ps|ns|us|ms))"
    pct = r"(\d+\.\d)%"

    for m in line(r"scimitar \S+: scheme (\S+), seed (\d+), %s simulated, (\d+) events" % t, "header"):
        eq("scheme", m[1], scheme)
        eq("simulated time", m[3], fmt_time(st("sim.time_ps")))
        eq("events", m[4], st("sim.events"))

    devices = line(r"  (\w+): %s DMAs, %s bytes; IOTLB %s lookups, %s misses \(%s hits\); %s I/O page faults"
                   % (n, n, n, n, pct, n), "device")
    lat = line(r"      translation latency mean %s, p99 %s; DMA latency p50 %s, p99 %s" % (t, t, t, t),
               "device latency")
    if len(devices) != len(lat):
        errors.append("%d device lines, %d latency lines" % (len(devices), len(lat)))
    for d, l in zip(devices, lat):
        name = d[1]
        eq(name + " DMAs", d[2], st(name + ".dma.requests"))
        eq(name + " bytes", d[3], st(name + ".dma.bytes"))
        acc, miss = st(name + ".iotlb.accesses"), st(name + ".iotlb.misses")
        eq(name + " lookups", d[4], acc)
        eq(name + " misses", d[5], miss)
        eq(name + " hit %", d[6], "%.1f" % (100.0 * (acc - miss) / acc if acc else 0.0))
        eq(name + " faults", d[7], st(name + ".faults"))
        eq(name + " translation mean", l[1], fmt_time(st(name + ".translation.latency.mean")))
        eq(name + " translation p99", l[2], fmt_time(st(name + ".translation.latency.p99")))
        eq(name + " DMA p50", l[3], fmt_time(st(name + ".dma.latency.p50")))
        eq(name + " DMA p99", l[4], fmt_time(st(name + ".dma.latency.p99")))

    cpus = [k[: -len(".l1tlb.accesses")] for k in stats if k.endswith(".l1tlb.accesses")]
    rx = re.compile(r"  (\w+): %s accesses; L1 TLB %s hits, %s walks; %s page faults; %s IPIs, %s snoops; "
                    r"access latency p50 %s" % (n, pct, n, n, n, n, t))
    found = [m for m in (rx.fullmatch(l) for l in lines) if m]
    eq("CPU lines", sorted(m[1] for m in found), sorted(cpus))
    for m in found:
        c = m[1]
        acc, l1m = st(c + ".l1tlb.accesses"), st(c + ".l1tlb.misses")
        eq(c + " accesses", m[2], st(c + ".mem.requests"))
        eq(c + " L1 hit %", m[3], "%.1f" % (100.0 * (acc - l1m) / acc if acc else 0.0))
        eq(c + " walks", m[4], st(c + ".walks"))
        eq(c + " faults", m[5], st(c + ".faults"))
        eq(c + " IPIs", m[6], st(c + ".ipis"))
        eq(c + " snoops", m[7], st(c + ".snoops"))
        eq(c + " latency p50", m[8], fmt_time(st(c + ".mem.latency.p50")))

    for m in line(r"  iommu: %s translation requests, IOTLB %s misses, %s walks \(mean %s\), %s page requests "
                  r"\(%s overflowed\)" % (n, n, n, t, n, n), "iommu"):
        eq("ATS requests", m[1], st("iommu.ats.requests"))
        eq("IOMMU IOTLB misses", m[2], st("iommu.iotlb.misses"))
        eq("IOMMU walks", m[3], st("iommu.walks"))
        eq("IOMMU walk mean", m[4], fmt_time(st("iommu.walk.latency.mean")))
        eq("page requests", m[5], st("iommu.prq.requests"))
        eq("PRQ overflows", m[6], st("iommu.prq.overflows"))
    for m in line(r"  os: %s I/O page faults handled \(mean %s\), %s CPU faults, %s pages mapped \(%s from swap\); "
                  r"CPU time %s" % (n, t, n, n, n, t), "os"):
        eq("I/O page faults", m[1], st("os.iopf.requests"))
        eq("I/O page fault mean", m[2], fmt_time(st("os.iopf.latency.mean")))
        eq("CPU faults", m[3], st("os.cpu_faults"))
        eq("pages mapped", m[4], st("os.iopf.mapped"))
        eq("major faults", m[5], st("os.faults.major"))
        eq("OS CPU time", m[6], fmt_time(st("os.busy_ps")))
    for m in line(r"      %s shootdowns \(mean %s, p99 %s\), %s IPIs; reclaim evicted %s pages, %s pinned frames peak"
                  % (n, t, t, n, n, n), "shootdown"):
        eq("shootdowns", m[1], st("os.shootdowns"))
        eq("shootdown mean", m[2], fmt_time(st("os.shootdown.latency.mean")))
        eq("shootdown p99", m[3], fmt_time(st("os.shootdown.latency.p99")))
        eq("IPIs sent", m[4], st("os.ipis_sent"))
        eq("reclaim", m[5], st("os.reclaim.evicted"))
        eq("pinned peak", m[6], st("os.frames.pinned_peak"))

    # The schemes that go through a driver say so; scimitar's own has no line.
    drv = [l for l in lines if l.startswith("  driver (")]
    if scheme == "scimitar":
        eq("driver lines", len(drv), 0)
    else:
        eq("driver line", bool(drv) and drv[0].startswith("  driver (%s" % scheme), True)
    chk = line(r"  invariant checker: %s accesses checked, %s through translations being shot down, 0 violations"
               % (n, n), "checker") if checker == "1" else []
    if checker == "1":
        for m in chk:
            if int(m[1]) == 0 or int(m[2]) > int(m[1]):
                errors.append("checker counts %s, %s" % (m[1], m[2]))
    elif any("invariant checker" in l for l in lines):
        errors.append("a checker line without the checker")
    for m in line(r"statistics: (\S+)/stats.json, (\S+)/stats.csv; the run: (\S+)/config.yaml, (\S+)/meta.json",
                  "statistics"):
        eq("output directories", len({m[1], m[2], m[3], m[4]}), 1)
    # An agent behind its trace (a wait after eligibility of a tenth of the
    # run or more) says so, with the wait's maximum and mean; no other does.
    run_ps = st("sim.time_ps")
    behind = {m[1]: m for m in (re.fullmatch(r"      (\w+) fell behind its trace: requests waited up to %s \(mean %s\) "
                                             r"after the trace made them eligible, in %s simulated: .*" % (t, t, t), l)
                                for l in lines) if m}
    agents = [(d[1], "dma") for d in devices] + [(m[1], "mem") for m in found]
    for name, kind in agents:
        mx = st("%s.%s.queue_delay.max" % (name, kind))
        if run_ps and mx * 10 >= run_ps:
            m = behind.pop(name, None)
            if not m:
                errors.append("%s waited up to %s of %s and no line says it fell behind" % (name, mx, run_ps))
                continue
            eq(name + " wait max", m[2], fmt_time(mx))
            eq(name + " wait mean", m[3], fmt_time(st("%s.%s.queue_delay.mean" % (name, kind))))
            eq(name + " run time", m[4], fmt_time(run_ps))
    for name in behind:
        errors.append("%s said to fall behind its trace, waiting at most a tenth of the run" % name)
    # A failure line only when something failed, with the count it names.
    for d in devices:
        errs = st(d[1] + ".dma.errors")
        got = line(r"      %s DMAs FAILED \(.*\)" % n, "DMA failure") if errs else []
        if errs:
            eq(d[1] + " failed DMAs", got[0][1] if got else None, errs)
    if not any(st(d[1] + ".dma.errors") for d in devices) and any("DMAs FAILED" in l for l in lines):
        errors.append("a failure line without failed DMAs")
    line(r"host time: \d+\.\d{3} s \(\d+\.\d\d M events/s\)", "host time")

    for e in errors:
        print("summary_check: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The tables of docs/experiments.md, measured by running the sweeps of
configs/exp_{a..e}_*.yaml with the given scimitar binary.

    scripts/experiment_tables.py BIN                 # print the five tables (markdown)
    scripts/experiment_tables.py BIN --check DOC     # exit 1 if a table of DOC differs
    scripts/experiment_tables.py BIN --write DOC     # replace the tables of DOC
    options: -j N (points run at once by each sweep, default 1)
             --out DIR (keep the sweeps in DIR/exp_<x>; default a temporary
             directory, removed at the end. A sweep resumes the points DIR
             already holds, whatever binary ran them: use a fresh DIR after
             a rebuild)
             --golden FILE (take the points from a golden statistics file,
             scripts/golden.py, instead of running the sweeps; what
             tests/cli_experiments.sh does, cli_golden checking that file
             against the binary)

Each experiment's table is the first Markdown table (a run of lines that
start with "|") after its heading "## (x) ..." in DOC. Every cell comes from
one statistic of the points' stats.json (docs/stats.md), named in COLUMNS
below; times are printed in the table's unit with three significant figures
and at most two decimals (`sig3`), unless a column says otherwise.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = ["a_distance", "b_locality", "c_walk", "d_faults", "e_iotlb"]

# Statistics (names of docs/stats.md), per column.
COLUMNS = {
    "a": "nic0.translation.latency.mean / nic0.dma.latency.p99 / nic0.dma.finish_ps",
    "b": "nic0.faults | nic0.dma.latency.mean / .p99 | os.busy_ps | nic0.dma.finish_ps",
    "c": "nic0.translation.latency.mean / nic0.dma.latency.p99 / os.busy_ps / nic0.dma.finish_ps",
    "d": "nic0.dma.latency.p50 / .p99 | nic0.pri.requests | nic0.retries or nic0.drops | "
         "os.reclaim.evicted / os.swap.reads | nic0.dma.finish_ps",
    "e": "nic0.iotlb.misses",
}

US, MS = 1e6, 1e9  # picoseconds


def sig3(v):
    """Three significant figures, at most two decimals; 0 is "0"."""
    if v == 0:
        return "0"
    r = float("%.3g" % v)  # only for the magnitude: 9.996 has one decimal (10.0)
    decimals = 0
    while decimals < 2 and abs(r) < 10 ** (2 - decimals):
        decimals += 1
    return "%.*f" % (decimals, v)  # rounded once, from the value itself


def fix2(v):
    return "%.2f" % v


def run_sweeps(binary, out, jobs):
    res = {}
    for name in EXPERIMENTS:
        d = os.path.join(out, "exp_" + name)
        cmd = [binary, "sweep", os.path.join(SRC, "configs", "exp_%s.yaml" % name), "--out", d,
               "-j", str(jobs), "--quiet"]
        try:
            r = subprocess.run(cmd, cwd=SRC, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as e:
            sys.exit("experiment_tables: cannot run %s: %s" % (binary, e))
        if r.returncode != 0:
            sys.exit("experiment_tables: %s failed (exit %d):\n%s%s" % (" ".join(cmd), r.returncode,
                                                                        r.stdout, r.stderr))
        with open(os.path.join(d, "sweep.json")) as f:
            sweep = json.load(f)
        pts = []
        for p in sweep["points"]:
            # The point's full statistics: points/<i>/stats.json (docs/sweeps.md),
            # <i> written with six digits.
            for dirname in ("%06d" % p["point"], str(p["point"])):
                path = os.path.join(d, "points", dirname, "stats.json")
                if os.path.exists(path):
                    break
            with open(path) as f:
                pts.append((p["params"], json.load(f)))
        res[name[0]] = pts
    return res


def golden_sweeps(path):
    """The same points from a golden statistics file (scripts/golden.py):
    its runs named "exp_<name> sweep key=value ...", in point order. The
    golden file is itself checked against the binary by cli_golden, so
    tables checked against it are the binary's, without running again."""
    with gzip.open(path, "rt") as f:
        runs = json.load(f)
    res = {}
    for name in EXPERIMENTS:
        prefix = "exp_%s sweep " % name
        pts = []
        for key, stats in runs.items():
            if key.startswith(prefix):
                params = dict(kv.split("=", 1) for kv in key[len(prefix):].split(" "))
                pts.append((params, stats))
        if not pts:
            sys.exit("experiment_tables: %s has no run of exp_%s's sweep" % (path, name))
        res[name[0]] = pts
    return res


def find(points, **want):
    """The statistics of the one point whose swept values are `want`
    (keys with '.' written as '__')."""
    want = {k.replace("__", "."): v for k, v in want.items()}
    hits = [s for params, s in points if all(params.get(k) == v for k, v in want.items())]
    if len(hits) != 1:
        sys.exit("experiment_tables: %d points match %s" % (len(hits), want))
    return hits[0]


def table_a(pts):
    t = ["| link | iommu: xlat mean / DMA p99 / finish | device | shadow |", "|---|---|---|---|"]
    for i, link in enumerate(["50ns", "200ns", "400ns", "1600ns"]):
        cells = []
        for walk in ["iommu", "device", "shadow"]:
            s = find(pts, devices__nic0__link__latency=link, devices__nic0__walk=walk)
            x = sig3(s["nic0.translation.latency.mean"] / US)
            p = sig3(s["nic0.dma.latency.p99"] / US)
            f = sig3(s["nic0.dma.finish_ps"] / MS)
            cells.append("%s µs / %s µs / %s ms" % (x, p, f) if i == 0 else "%s / %s / %s" % (x, p, f))
        t.append("| %s ns | %s |" % (link[:-2], " | ".join(cells)))
    return t


def table_b(pts):
    t = ["| present | I/O page faults | DMA mean / p99 | OS CPU (faults) | NIC finish |",
         "|---|---|---|---|---|"]
    for i, (_, s) in enumerate(pts):  # the zip's order: 0 to 4 regions populated
        u = (lambda x: x + " µs") if i == 0 else (lambda x: x)
        m = (lambda x: x + " ms") if i == 0 else (lambda x: x)
        t.append("| %d%% | %d | %s / %s | %s | %s |" % (
            25 * i, s["nic0.faults"], u(sig3(s["nic0.dma.latency.mean"] / US)),
            u(sig3(s["nic0.dma.latency.p99"] / US)), m(sig3(s["os.busy_ps"] / MS)),
            m(sig3(s["nic0.dma.finish_ps"] / MS))))
    return t


def table_c(pts):
    t = ["| walk | demand paged: xlat mean / DMA p99 / OS CPU / finish | populated |", "|---|---|---|"]
    for i, walk in enumerate(["iommu", "device", "software", "shadow"]):
        cells = []
        for populate in ["false", "true"]:
            s = find(pts, processes__app__regions__1__populate=populate, devices__nic0__walk=walk)
            x = fix2(s["nic0.translation.latency.mean"] / US)
            p = sig3(s["nic0.dma.latency.p99"] / US)
            cpu = sig3(s["os.busy_ps"] / MS)
            f = sig3(s["nic0.dma.finish_ps"] / MS)
            if i == 0:
                cells.append("%s µs / %s µs / %s / %s ms" % (x, p, cpu if cpu == "0" else cpu + " ms", f))
            else:
                cells.append("%s / %s / %s / %s" % (x, p, cpu, f))
        t.append("| %s | %s |" % (walk, " | ".join(cells)))
    return t


def count_d(n):
    return "{:,}".format(n) if n >= 10000 else str(n)


def table_d(pts):
    t = ["| memory | policy | DMA p50 / p99 | page requests | retries / drops | evicted / swap-ins | NIC finish |",
         "|---|---|---|---|---|---|---|"]
    first = True
    for mem in ["16MiB", "20MiB"]:
        for policy in ["stall", "retry", "drop", "backup"]:
            s = find(pts, memory__size=mem, devices__nic0__fault_policy=policy)
            rd = ("%s retries" % count_d(s["nic0.retries"]) if policy == "retry" else
                  "%s drops" % count_d(s["nic0.drops"]) if policy == "drop" else "—")
            t.append("| %s MiB | %s | %s / %s%s | %s | %s | %s / %s | %s%s |" % (
                mem[:-3], policy, sig3(s["nic0.dma.latency.p50"] / US), sig3(s["nic0.dma.latency.p99"] / US),
                " µs" if first else "", count_d(s["nic0.pri.requests"]), rd,
                count_d(s["os.reclaim.evicted"]), count_d(s["os.swap.reads"]),
                fix2(s["nic0.dma.finish_ps"] / MS), " ms" if first else ""))
            first = False
    return t


def table_e(pts):
    t = ["| entries | 1 way | 4 ways | 16 ways |", "|---|---|---|---|"]
    for i, entries in enumerate(["16", "64", "256", "512", "1024", "2048"]):
        cells = ["{:,}".format(find(pts, devices__nic0__iotlb__entries=entries,
                                    devices__nic0__iotlb__ways=w)["nic0.iotlb.misses"])
                 for w in ["1", "4", "16"]]
        if i == 0:
            cells[0] += " misses"
        t.append("| %s | %s |" % (entries, " | ".join(cells)))
    return t


def tables(res):
    make = {"a": table_a, "b": table_b, "c": table_c, "d": table_d, "e": table_e}
    return {k: make[k](res[k]) for k in "abcde"}


def doc_tables(lines):
    """{letter: (first line, end line)} of each section's first table."""
    spans, letter = {}, None
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("## (") and len(ln) > 5 and ln[5] == ")":
            letter = ln[4]
        elif ln.startswith("## "):
            letter = None
        elif ln.startswith("|") and letter and letter not in spans:
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            spans[letter] = (i, j)
            i = j
            continue
        i += 1
    return spans


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    binary, mode, doc, jobs, out, golden = os.path.abspath(args[0]), None, None, 1, None, None
    i = 1
    while i < len(args):
        if args[i] in ("--check", "--write") and i + 1 < len(args) and mode is None:
            mode, doc = args[i], args[i + 1]
        elif args[i] == "-j" and i + 1 < len(args) and args[i + 1].isdigit():
            jobs = int(args[i + 1])
        elif args[i] == "--out" and i + 1 < len(args):
            out = args[i + 1]
        elif args[i] == "--golden" and i + 1 < len(args):
            golden = args[i + 1]
        else:
            sys.exit(__doc__)
        i += 2
    if golden:
        new = tables(golden_sweeps(golden))
    elif out:
        os.makedirs(out, exist_ok=True)
        new = tables(run_sweeps(binary, out, jobs))
    else:
        with tempfile.TemporaryDirectory(prefix="experiment_tables.") as tmp:
            new = tables(run_sweeps(binary, tmp, jobs))
    if mode is None:
        names = dict((n[0], n) for n in EXPERIMENTS)
        for k in "abcde":
            print("(%s) configs/exp_%s.yaml\n\n%s\n" % (k, names[k], "\n".join(new[k])))
        return
    with open(doc) as f:
        lines = f.read().split("\n")
    spans = doc_tables(lines)
    missing = [k for k in "abcde" if k not in spans]
    if missing:
        sys.exit("experiment_tables: %s has no table under '## (%s)'" % (doc, "', '## (".join(missing)))
    if mode == "--check":
        bad = 0
        for k in "abcde":
            a, b = spans[k]
            if lines[a:b] != new[k]:
                bad += 1
                print("experiment_tables: table (%s) of %s differs from what %s measures:" % (k, doc, binary))
                print("  in the doc:\n    " + "\n    ".join(lines[a:b]))
                print("  measured:\n    " + "\n    ".join(new[k]))
        if bad:
            print("run: python3 scripts/experiment_tables.py BIN --write %s, and update the text" % doc)
            sys.exit(1)
        return
    for k in sorted(spans, key=lambda k: -spans[k][0]):  # from the end: spans stay valid
        a, b = spans[k]
        lines[a:b] = new[k]
    with open(doc, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()

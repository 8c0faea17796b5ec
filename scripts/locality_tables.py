#!/usr/bin/env python3
"""The locality tables and miss-ratio plots of docs/locality.md, measured on
the bundled real traces with `scimitar trace locality`.

    scripts/locality_tables.py BIN           # print the tables (markdown)
    scripts/locality_tables.py BIN --write   # put them in docs/locality.md, write docs/locality_*.svg
    scripts/locality_tables.py BIN --check   # exit 1 if docs/ differs from what BIN measures

The tables stand between the lines "<!-- locality tables -->" and
"<!-- end of locality tables -->" of docs/locality.md.
"""
import json
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(SRC, "docs", "locality.md")
BEGIN, END = "<!-- locality tables -->\n", "<!-- end of locality tables -->\n"

# name, what it is, how to analyse it (arguments of `trace locality`), plot name
TRACES = [
    ("sqlite", "lackey", ["traces/sqlite.dev.trace.gz", "--cpu-trace", "traces/sqlite.cpu.trace.gz"], "sqlite"),
    ("dd", "lackey", ["traces/dd.dev.trace.gz", "--cpu-trace", "traces/dd.cpu.trace.gz"], "dd"),
    ("sqlite", "strace", ["--strace", "traces/sqlite.strace.log.gz"], None),
    ("dd", "strace", ["--strace", "traces/dd.strace.log.gz"], None),
]
SIZES = [1, 4, 16, 64, 256]


def measure(binary, tmp):
    out = []
    for name, how, args, plot in TRACES:
        js = os.path.join(tmp, "%s_%s.json" % (name, how))
        cmd = [binary, "trace", "locality"] + args + ["--json", js, "--quiet"]
        if plot:
            cmd += ["--plot", os.path.join(tmp, "locality_%s.svg" % plot)]
        r = subprocess.run(cmd, cwd=SRC, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("locality_tables: %s failed:\n%s" % (" ".join(cmd), r.stderr))
        with open(js) as f:
            out.append((name, how, json.load(f)))
    return out


def pct(v):
    return "-" if v is None else "%.1f%%" % (100 * v)


def lru_at(j, pages):
    """Miss ratio of the fully associative LRU cache of `pages` entries."""
    best = None
    for p in j["lru"]:
        if p["pages"] <= pages:
            best = p
    return best["miss_ratio"] if best else None


def way8_at(j, pages):
    for c in j["set_assoc"]:
        if c["ways"] == 8:
            for p in c["points"]:
                if p["pages"] == pages:
                    return p["miss_ratio"]
    return None


def tables(results):
    t = ["| trace | I/O calls | I/O pages | distinct pages | pages per call | CPU data accesses | present "
         "| recent 10^4 | recent 10^5 | recent 10^6 | seen |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, how, j in results:
        cpu = "-" if j["cpu_accesses"] is None else "{:,}".format(j["cpu_accesses"])
        t.append("| %s (%s) | %d | %d | %d | %.2f | %s | %s | %s | %s | %s | %s |" % (
            name, how, j["io_ops"], j["io_pages"], j["distinct_pages"], j["pages_per_op"], cpu,
            pct(j["present"]), pct(j["recent_10000"]), pct(j["recent_100000"]), pct(j["recent_1000000"]),
            pct(j["seen"])))
    t += ["", "Reuse and miss ratios of the device's page stream (an IOTLB of N entries, LRU; "
          "the miss ratio is over I/O pages, the first use of every page included):", "",
          "| trace | cold | reuse distance 0 | 1-3 | 4-15 | 16-63 | >= 64 | " +
          " | ".join("LRU %d" % s for s in SIZES) + " | 8-way 16 |",
          "|---|---:|---:|---:|---:|---:|---:|" + "---:|" * (len(SIZES) + 1)]
    for name, how, j in results:
        bins = {(b["min"], b["max"]): b["count"] for b in j["reuse"]["bins"]}
        total = j["io_pages"] or 1

        def span(lo, hi):
            return sum(c for (a, b), c in bins.items() if a >= lo and b <= hi)

        cells = [j["reuse"]["cold"], span(0, 0), span(1, 3), span(4, 15), span(16, 63),
                 span(64, 1 << 64)]
        t.append("| %s (%s) | " % (name, how) + " | ".join(pct(c / total) for c in cells) + " | " +
                 " | ".join(pct(lru_at(j, s)) for s in SIZES) + " | " + pct(way8_at(j, 16)) + " |")
    return "\n".join(t) + "\n"


def main():
    if len(sys.argv) < 2 or sys.argv[2:] not in ([], ["--write"], ["--check"]):
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        text = tables(measure(binary, tmp))
        if mode is None:
            sys.stdout.write(text)
            return
        with open(DOC) as f:
            doc = f.read()
        if BEGIN not in doc or END not in doc:
            sys.exit("locality_tables: %s lacks the markers" % DOC)
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        new = head + BEGIN + text + END + tail
        svgs = [n for _, _, _, n in TRACES if n]
        if mode == "--check":
            bad = [] if new == doc else ["docs/locality.md"]
            for n in svgs:
                with open(os.path.join(tmp, "locality_%s.svg" % n)) as a, \
                        open(os.path.join(SRC, "docs", "locality_%s.svg" % n)) as b:
                    if a.read() != b.read():
                        bad.append("docs/locality_%s.svg" % n)
            if bad:
                sys.exit("locality_tables: %s differ from what %s measures; run scripts/locality_tables.py "
                         "BIN --write" % (", ".join(bad), binary))
            return
        with open(DOC, "w") as f:
            f.write(new)
        for n in svgs:
            with open(os.path.join(tmp, "locality_%s.svg" % n)) as a, \
                    open(os.path.join(SRC, "docs", "locality_%s.svg" % n), "w") as b:
                b.write(a.read())


if __name__ == "__main__":
    main()

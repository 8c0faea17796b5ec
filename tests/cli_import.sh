#!/usr/bin/env bash
# `scimitar trace import` and `scimitar trace locality` through the CLI:
# usage errors and exit codes, a bad log leaves nothing behind, the bundled
# strace logs import and their configs run under each scheme with the
# safety checker and no failed DMA (likewise the bundled lackey captures:
# dd here, sqlite through the golden runs, whose recorded statistics are
# checked here), the log and the imported trace give the same locality,
# the JSON has its keys, and docs/locality.md's tables and plots are what
# the code measures.  usage: cli_import.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
SCHEMES="scimitar pin iommu-map"

# usage
"$BIN" trace --help | grep -q "trace import lackey|strace" || fail "trace --help lacks import"
"$BIN" trace import --help | grep -q -- "--syscall-ns" || fail "import --help"
"$BIN" trace locality --help | grep -q -- "--windows" || fail "locality --help"
expect_usage() { # ARGS...
    "$BIN" trace "$@" > /dev/null 2> "$T/err"
    [ $? -eq 2 ] || fail "trace $*: exit status, expected 2 ($(cat "$T/err"))"
}
expect_usage import
expect_usage import perf x.log -o "$T/x"
expect_usage import lackey x.log
expect_usage import strace x.log -o "$T/x" --ipns 2
expect_usage locality
expect_usage locality a.trace --lackey x.log
expect_usage locality --strace x.log --cpu-trace c.trace
expect_usage locality a.trace --windows 10,0
expect_usage locality a.trace --ways x

# a bad log: exit 1, FILE:LINE:COL, nothing written
mkdir "$T/bad"
printf '==1== Lackey\nI  04000000,3\n L zz,8\n' > "$T/bad/b.log"
"$BIN" trace import lackey "$T/bad/b.log" -o "$T/bad/b" 2> "$T/err"
[ $? -eq 1 ] || fail "a malformed log: exit status"
grep -q "b.log:3:4: error: expected ADDRESS,SIZE" "$T/err" || fail "malformed log message: $(cat "$T/err")"
[ "$(ls "$T/bad")" = b.log ] || fail "a failed import left files: $(ls "$T/bad")"
"$BIN" trace locality --lackey "$T/bad/b.log" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "b.log:3:4: error" "$T/err" || fail "locality --lackey of a bad log"

# the bundled strace logs: import, run under each scheme, same locality both ways
for n in sqlite dd; do
    "$BIN" trace import strace "$SRC/traces/$n.strace.log.gz" -o "$T/$n" > "$T/$n.out" ||
        fail "import of traces/$n.strace.log.gz"
    calls=$(sed -n 's/^io.calls: //p' "$T/$n.out")
    [ "${calls:-0}" -gt 100 ] || fail "$n: only ${calls:-no} I/O calls imported"
    for s in $SCHEMES; do
        "$BIN" run "$T/$n.yaml" --quiet --set scheme=$s --set sim.check_invariants=true --out "$T/$n-$s" ||
            fail "$n (strace) did not run under $s"
        grep -q "^dev0\.dma\.errors,0," "$T/$n-$s/stats.csv" || fail "$n (strace) under $s: failed DMAs"
        grep -q "^dev0\.dma\.requests,$calls," "$T/$n-$s/stats.csv" || fail "$n (strace) under $s: not $calls DMAs"
    done
    "$BIN" trace locality --strace "$SRC/traces/$n.strace.log.gz" --json "$T/$n.log.json" --quiet ||
        fail "locality --strace $n"
    "$BIN" trace locality "$T/$n.dev.trace.gz" --json "$T/$n.trace.json" --quiet || fail "locality of $n"
    cmp -s "$T/$n.log.json" "$T/$n.trace.json" || fail "$n: the log and its imported trace differ in locality"
done

# the bundled lackey capture of dd under each scheme
records() { "$BIN" trace stats "$1" | sed -n 's/^records: //p'; }
dd_ops=$(records "$SRC/traces/dd.dev.trace.gz")
sqlite_ops=$(records "$SRC/traces/sqlite.dev.trace.gz")
for s in $SCHEMES; do
    "$BIN" run "$SRC/configs/real_dd.yaml" --quiet --set scheme=$s --out "$T/dd-lackey-$s" ||
        fail "configs/real_dd.yaml did not run under $s"
    grep -q "^dev0\.dma\.errors,0," "$T/dd-lackey-$s/stats.csv" || fail "real_dd under $s: failed DMAs"
    grep -q "^dev0\.dma\.requests,$dd_ops," "$T/dd-lackey-$s/stats.csv" || fail "real_dd under $s: not $dd_ops DMAs"
done
grep -q "check_invariants: true" "$SRC/configs/real_dd.yaml" "$SRC/configs/real_sqlite.yaml" ||
    fail "the real_* configs run without the checker"
# the sqlite capture's golden runs (tests/cli_golden.sh runs them): no failed DMA under any scheme
python3 - "$SRC/tests/golden/stats.json.gz" "$sqlite_ops" <<'EOF' || fail "golden real_sqlite runs"
import gzip, json, sys
g = json.load(gzip.open(sys.argv[1], "rt"))
runs = [k for k in g if k.startswith("real_sqlite")]
schemes = {k.split("scheme=")[1] for k in runs if "scheme=" in k}
assert schemes == {"scimitar", "pin", "iommu-map"}, runs
for k in runs:
    assert g[k]["dev0.dma.errors"] == 0 and g[k]["dev0.dma.requests"] == int(sys.argv[2]), (k, g[k]["dev0.dma.errors"])
EOF

# trace locality's outputs: text, JSON keys, CSV, SVG
"$BIN" trace locality "$SRC/traces/dd.dev.trace.gz" --cpu-trace "$SRC/traces/dd.cpu.trace.gz" \
    --json "$T/l.json" --csv "$T/l.csv" --plot "$T/l.svg" > "$T/l.txt" || fail "trace locality"
grep -q "^present: 0.0" "$T/l.txt" && grep -q "^io.ops: $dd_ops$" "$T/l.txt" || fail "text output: $(head "$T/l.txt")"
python3 - "$T/l.json" "$T/l.csv" "$T/l.svg" <<'EOF' || fail "JSON, CSV or SVG"
import csv, json, sys, xml.dom.minidom
j = json.load(open(sys.argv[1]))
for k in ["io_ops", "io_pages", "distinct_pages", "present", "recent_10000", "recent_100000", "recent_1000000"]:
    assert k in j, k
for k in ["present", "recent_10000", "recent_100000", "recent_1000000"]:
    assert isinstance(j[k], float) and 0 <= j[k] <= 1, k
rows = list(csv.DictReader(open(sys.argv[2])))
lru = [r for r in rows if r["curve"] == "lru"]
assert len(lru) == j["distinct_pages"]
assert int(lru[-1]["misses"]) == j["reuse"]["cold"]
svg = xml.dom.minidom.parse(sys.argv[3])
assert len(svg.getElementsByTagName("polyline")) == 4
EOF
"$BIN" trace locality "$SRC/traces/dd.dev.trace.gz" --json "$T/n.json" --quiet || fail "locality without CPU"
grep -q '"present": null' "$T/n.json" || fail "present without a CPU side is not null"

# docs/locality.md's tables and plots
python3 "$SRC/scripts/locality_tables.py" "$BIN" --check || fail "docs/locality.md is out of date"
echo "cli_import: ok"

#!/usr/bin/env bash
# What sweep's plot.svg draws, against sweep.csv: x values listed out of
# order are drawn in numeric order; each polyline's points go left to
# right and their heights follow the metric's values in the table (a
# larger value is drawn higher); a failed point leaves a gap, not a zero;
# a non-numeric x axis keeps the order the values are listed in.
# cli_sweep_opts.sh covers the axes' defaults and the plot's options.
# usage: cli_sweep_plot.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

base() { nic_yaml "$@"; }
# check SVG CSV METRIC XKEY X... : one polyline; its points, left to right,
# are the listed x values' (in that order, those with a value in the CSV)
# and their heights rank as the metric's values in the CSV do
check() {
    python3 - "$@" <<'PY'
import csv, sys, xml.etree.ElementTree as ET
svg, table, metric, xkey, xs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
ns = "{http://www.w3.org/2000/svg}"
lines = ET.parse(svg).getroot().findall(f".//{ns}polyline")
assert len(lines) == 1, f"{len(lines)} polylines"
pts = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
rows = {r[xkey]: r for r in csv.DictReader(open(table))}
drawn = [x for x in xs if x in rows and rows[x][metric] != ""]
assert len(pts) == len(drawn), (pts, drawn)
assert all(a[0] < b[0] for a, b in zip(pts, pts[1:])), f"not left to right: {pts}"
vals = [float(rows[x][metric]) for x in drawn]
for i in range(len(vals)):
    for j in range(len(vals)):
        if vals[i] > vals[j]:
            assert pts[i][1] < pts[j][1], f"{drawn[i]} ({vals[i]}) not above {drawn[j]} ({vals[j]}): {pts}"
        if vals[i] == vals[j]:
            assert pts[i][1] == pts[j][1], (drawn, vals, pts)
PY
}

# max_outstanding listed 16, 1, 0, 4: drawn 1, 4, 16, and 0 (refused at
# build: a failed point) is a gap, not a zero
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.max_outstanding: [16, 1, 0, 4]\n'; } > "$T/g.yaml"
"$BIN" sweep "$T/g.yaml" -j 2 --out "$T/g" --quiet --plot nic0.dma.latency.mean 2> "$T/g.err" &&
    fail "a failing point went unnoticed"
grep -q "devices.nic0.max_outstanding=0) failed" "$T/g.err" || fail "failed point: $(cat "$T/g.err")"
check "$T/g/plot.svg" "$T/g/sweep.csv" nic0.dma.latency.mean devices.nic0.max_outstanding 1 4 16 ||
    fail "plot of values listed out of order, with a failed point"
# the heights are worth checking only if the values differ
python3 - "$T/g/sweep.csv" <<'PY' || fail "the latencies do not differ: $(cat "$T/g/sweep.csv")"
import csv, sys
v = {float(r["nic0.dma.latency.mean"]) for r in csv.DictReader(open(sys.argv[1]))}
assert len(v) == 3, v
PY

# a non-numeric x (the walk placement) keeps the listed order
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.walk: [iommu, device]\n'; } > "$T/w.yaml"
"$BIN" sweep "$T/w.yaml" -j 2 --out "$T/w" --quiet --plot nic0.translation.latency.mean || fail "sweep of walk"
check "$T/w/plot.svg" "$T/w/sweep.csv" nic0.translation.latency.mean devices.nic0.walk iommu device ||
    fail "plot of a non-numeric x"
echo "cli_sweep_plot: ok"

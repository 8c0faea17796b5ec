#!/usr/bin/env bash
# What a sweep's plot.svg draws at its edges (cli_sweep_plot.sh has the
# usual plots), each read back from the SVG with an XML parser:
#  - nine series: the eight colours, then the first colour again dashed;
#    a single x value (the axis spans 15..17 around it), every line at it;
#  - y ticks worked out by hand: a metric up to 1,048,503 frames gives a
#    step of 200,000 (span / 5 = 209,700 -> 2 x 10^5), labels 0 ...
#    800000 then 1e+06, 1.2e+06 (three significant digits from 10^6 on);
#    a metric that is 0 everywhere gives the axis 0..1 in steps of 0.2;
#  - series values holding <, >, & and " (trace file names) are escaped:
#    the file parses and each legend reads back to its value.
# usage: cli_plot_edges.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
command -v python3 > /dev/null || fail "python3 is needed to read the SVG"

# read plot.svg: polylines (stroke, dash, points) and every text, as JSON
svg() {
    python3 - "$1" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps({
    "lines": [[p.get("stroke"), p.get("stroke-dasharray"), p.get("points")] for p in root.iter(ns + "polyline")],
    "texts": [t.text or "" for t in root.iter(ns + "text")]}))
PY
}

{ nic_yaml; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16]\n    os.iopf_cost: [1us, 2us, 3us, 4us, 5us, 6us, 7us, 8us, 9us]\n'; } \
    > "$T/nine.yaml"
"$BIN" sweep "$T/nine.yaml" -j 2 --out "$T/nine" --quiet --plot os.frames.free || fail "sweep of nine series"
free=$(sed -n 's/^os.frames.free,\([0-9]*\),.*/\1/p' "$T/nine/points/000000/stats.csv")
[ "$free" = 1048503 ] || fail "os.frames.free is $free, not the 1048503 the ticks below were worked out for"
svg "$T/nine/plot.svg" > "$T/nine.json" || fail "plot.svg of nine series does not parse"
python3 - "$T/nine.json" <<'PY' || fail "nine series: $(cat "$T/nine.json")"
import json, sys
d = json.load(open(sys.argv[1]))
lines = d["lines"]
assert len(lines) == 9, len(lines)
colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
assert [l[0] for l in lines] == colours + colours[:1], [l[0] for l in lines]
assert [l[1] for l in lines] == [None] * 8 + ["6 3"], [l[1] for l in lines]
xs = {pt.split(",")[0] for l in lines for pt in l[2].split()}
assert len(xs) == 1, xs  # one x value: every line at the same place
texts = d["texts"]
ticks = texts[1:texts.index("16")]
assert ticks == ["0", "200000", "400000", "600000", "800000", "1e+06", "1.2e+06"], ticks
assert texts.count("16") == 1, texts
for k in range(1, 10):
    assert f"iopf_cost = {k}us" in texts, k
PY

# 0 everywhere: the axis 0..1
"$BIN" sweep "$T/nine.yaml" --out "$T/nine" --quiet --plot nic0.resets || fail "plot of nic0.resets"
svg "$T/nine/plot.svg" > "$T/flat.json" || fail "plot.svg of a flat metric does not parse"
python3 - "$T/flat.json" <<'PY' || fail "flat metric: $(cat "$T/flat.json")"
import json, sys
texts = json.load(open(sys.argv[1]))["texts"]
assert texts[1:texts.index("16")] == ["0", "0.2", "0.4", "0.6", "0.8", "1"], texts
PY

# names with <, >, & and ": escaped in the SVG, read back as given
a="$T/a<b>&c.trace.gz"
b="$T/q\"uote.trace.gz"
cp "$SRC/traces/nic_rx.trace.gz" "$a"
cp "$SRC/traces/nic_rx.trace.gz" "$b"
{ nic_yaml; printf "sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16, 32]\n    devices.nic0.trace: ['%s', '%s']\n" "$a" "$b"; } \
    > "$T/odd.yaml"
"$BIN" sweep "$T/odd.yaml" -j 2 --out "$T/odd" --quiet --plot nic0.iotlb.misses || fail "sweep of odd names"
grep -qF "a&lt;b&gt;&amp;c.trace.gz" "$T/odd/plot.svg" || fail "<, > and & are not escaped"
grep -qF "q&quot;uote.trace.gz" "$T/odd/plot.svg" || fail "\" is not escaped"
svg "$T/odd/plot.svg" > "$T/odd.json" || fail "plot.svg with odd names does not parse"
python3 - "$T/odd.json" "$a" "$b" <<'PY' || fail "odd names: $(cat "$T/odd.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["lines"]) == 2, d["lines"]
for name in sys.argv[2:]:
    assert f"trace = {name}" in d["texts"], (name, d["texts"])
PY
echo "cli_plot_edges: ok"

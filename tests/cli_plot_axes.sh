#!/usr/bin/env bash
# A sweep plot's x axis and legend past cli_plot_edges.sh, read back from
# plot.svg with an XML parser, expected values by hand:
#  - thirteen x values from 0 (os.iopf_cost 0..12000 ps): too many to
#    label each, so ticks every nice step: span 12000 / 8 = 1500 -> 2000,
#    labels 0, 2000 ... 12000 (0 is no power of two: a linear axis);
#  - the top-level key `scheme` as the series: its legend is "scheme = X"
#    (no dotted path to shorten);
#  - a point that failed has no place on its line, while the x axis still
#    shows its value: max_outstanding 4, 8, 0 (refused when it runs; the
#    first point is checked before) -> ticks 0, 4, 8 and a line of two
#    points; the sweep exits 1 and the plot is written.
# usage: cli_plot_axes.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
command -v python3 > /dev/null || fail "python3 is needed to read the SVG"

# read plot.svg: the polylines' points and every text, as JSON
svg() {
    python3 - "$1" <<'PY'
import json, sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
print(json.dumps({"lines": [p.get("points").split() for p in root.iter(ns + "polyline")],
                  "texts": [t.text or "" for t in root.iter(ns + "text")]}))
PY
}

{ nic_yaml 20us; printf 'sweep:\n  parameters:\n    os.iopf_cost: {range: [0, 12000, 1000]}\n'; } > "$T/axis.yaml"
"$BIN" sweep "$T/axis.yaml" -j 2 --out "$T/axis" --quiet --plot nic0.faults || fail "sweep of 13 points"
svg "$T/axis/plot.svg" > "$T/axis.json" || fail "plot.svg does not parse"
python3 - "$T/axis.json" <<'PY' || fail "13 x values: $(cat "$T/axis.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["lines"]) == 1 and len(d["lines"][0]) == 13, d["lines"]
t = d["texts"]
x = t[t.index("os.iopf_cost") - 7:t.index("os.iopf_cost")]
assert x == ["0", "2000", "4000", "6000", "8000", "10000", "12000"], t
PY

{ nic_yaml 20us; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16]\n    scheme: [scimitar, pin]\n'; } > "$T/sch.yaml"
"$BIN" sweep "$T/sch.yaml" -j 2 --out "$T/sch" --quiet --plot nic0.faults || fail "sweep of the schemes"
svg "$T/sch/plot.svg" > "$T/sch.json" || fail "plot.svg of the schemes does not parse"
python3 - "$T/sch.json" <<'PY' || fail "scheme legend: $(cat "$T/sch.json")"
import json, sys
t = json.load(open(sys.argv[1]))["texts"]
assert t[-2:] == ["scheme = scimitar", "scheme = pin"], t
PY

{ nic_yaml 20us; printf 'sweep:\n  parameters:\n    devices.nic0.max_outstanding: [4, 8, 0]\n'; } > "$T/gap.yaml"
"$BIN" sweep "$T/gap.yaml" -j 2 --out "$T/gap" --quiet --plot nic0.iotlb.misses > /dev/null 2> "$T/gap.err" &&
    fail "a sweep with a failed point exited 0"
grep -qF "point 2 (devices.nic0.max_outstanding=0) failed" "$T/gap.err" || fail "gap: $(cat "$T/gap.err")"
svg "$T/gap/plot.svg" > "$T/gap.json" || fail "plot.svg beside a failed point does not parse"
python3 - "$T/gap.json" <<'PY' || fail "failed point: $(cat "$T/gap.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["lines"]) == 1 and len(d["lines"][0]) == 2, d["lines"]
t = d["texts"]
i = t.index("devices.nic0.max_outstanding")
assert t[i - 3:i] == ["0", "4", "8"], t
PY
echo "cli_plot_axes: ok"

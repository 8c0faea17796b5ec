#!/usr/bin/env bash
# Sampled sweeps and the estimates' files (scripts/sample.py --sweep, --out):
# `scimitar sweep --points` lists the points a sweep runs, in its order and
# with its values, and creates nothing; a sampled sweep whose windows tile
# the trace gives, point by point, the detailed sweep's statistics (so each
# point ran its own configuration); a sweep row is the same sample run alone
# with the point's --set; estimates.csv holds every estimate the table
# prints; a sweep run again keeps the points sampled with the same
# configuration and sampling; an --out that cannot be written is refused
# before anything runs;
# a window of `scimitar sample` runs on the event path.
#   usage: cli_sample_sweep.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
SAMPLE="$SRC/scripts/sample.py"
NIC_SPAN=1440310ns # time.last_ns of traces/nic_rx.trace.gz (scimitar trace stats)
TILE=(--span $NIC_SPAN --windows 3 --window 480103ns --detailed-warmup 20us)

# configs/sweep_iotlb.yaml with a 2 x 2 grid (16 entries thrash on this
# trace, 1024 hold it: the points differ)
sed -e "s#\.\./traces/#$SRC/traces/#" -e '/^sweep:/,$d' "$SRC/configs/sweep_iotlb.yaml" > "$T/cfg.yaml"
cat >> "$T/cfg.yaml" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: [16, 1024]
    devices.nic0.walk: [iommu, device]
EOF

# --points: the sweep's own points, nothing created
(cd "$T" && "$BIN" sweep cfg.yaml --points > points.json) || fail "sweep --points failed"
[ -e "$T/out" ] && fail "sweep --points created $T/out"
"$BIN" sweep "$T/cfg.yaml" --quiet --out "$T/detailed" || fail "the detailed sweep failed"
python3 - "$T/points.json" "$T/detailed/sweep.json" <<'EOF' || fail "sweep --points does not list the sweep's points"
import json, sys
listed, ran = (json.load(open(p)) for p in sys.argv[1:])
assert listed["parameters"] == ran["parameters"], (listed["parameters"], ran["parameters"])
assert [(p["point"], p["params"]) for p in listed["points"]] == \
    [(p["point"], p["params"]) for p in ran["points"]], listed["points"]
assert len(listed["points"]) == 4
EOF
for i in 0 1 2 3; do  # each point's hash is the one the sweep keeps in point.txt (what resume compares)
    h=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["points"][int(sys.argv[2])]["hash"])' \
        "$T/points.json" $i)
    grep -qx "hash $h" "$T/detailed/points/00000$i/point.txt" || fail "point $i: hash $h is not point.txt's"
done
out=$("$BIN" sweep "$SRC/configs/default.yaml" --points 2>&1 >"$T/none.txt") && fail "--points without a sweep: section"
[ -s "$T/none.txt" ] && fail "--points printed something for a config without a sweep: section"
echo "$out" | grep -q "no sweep: section" || fail "unclear --points error: $out"

# the sampled sweep, windows tiling the trace: the detailed sweep's numbers
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" -j 2 --top 0 --out "$T/sampled" > "$T/sampled.txt" \
    || { cat "$T/sampled.txt"; fail "the sampled sweep failed"; }
grep -q "^sample: 4 points (4 sampled, 0 kept); table $T/sampled/sweep.csv" "$T/sampled.txt" || fail "no table named: $(cat "$T/sampled.txt")"
python3 - "$T/sampled/sweep.csv" "$T/detailed/sweep.csv" <<'EOF' || fail "the sampled sweep is not the detailed one"
import csv, sys
est, ref = (list(csv.DictReader(open(p))) for p in sys.argv[1:])
assert len(est) == len(ref) == 4
params = ["devices.nic0.iotlb.entries", "devices.nic0.walk"]
misses = set()
for e, r in zip(est, ref):
    assert [e[p] for p in params] == [r[p] for p in params], (e, r)
    for k in ["nic0.iotlb.misses", "nic0.dma.requests", "iommu.walks", "nic0.translation.latency.mean"]:
        x, y = float(e[k]), float(r[k])
        assert abs(x - y) <= 5e-4 * abs(y), (k, e[p], x, y)
        assert e[k + ".ci95"] != "", k
    misses.add(round(float(e["nic0.iotlb.misses"])))
assert len(misses) > 1, misses  # the points differ
EOF

# -j 2 samples two points at once: the same table and output as one at a time
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" -j 1 --top 5 --out "$T/serial" > "$T/serial.txt" \
    || fail "the sampled sweep with -j 1 failed"
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" -j 2 --top 5 --out "$T/parallel" > "$T/parallel.txt" \
    || fail "the sampled sweep with -j 2 failed"
cmp -s "$T/serial/sweep.csv" "$T/sampled/sweep.csv" || fail "-j 1 and -j 2 give different tables"
cmp -s "$T/serial/sweep.csv" "$T/parallel/sweep.csv" || fail "-j 1 and -j 2 give different tables (same --top)"
diff <(sed '$d' "$T/serial.txt") <(sed '$d' "$T/parallel.txt") > /dev/null || fail "-j 1 and -j 2 print differently"

# resume: the same command again samples nothing and writes the same table;
# a point whose estimates are gone is sampled again, alone; other sampling
# samples every point again
cp "$T/sampled/sweep.csv" "$T/first.csv"
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" -j 2 --top 0 --out "$T/sampled" > "$T/again.txt" \
    || fail "the sweep run again failed"
grep -q "^sample: 4 points (0 sampled, 4 kept)" "$T/again.txt" || fail "not all points kept: $(cat "$T/again.txt")"
cmp -s "$T/first.csv" "$T/sampled/sweep.csv" || fail "the kept points' table differs"
rm "$T/sampled/points/2/estimates.json"
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" -j 2 --top 0 --out "$T/sampled" > "$T/again.txt" \
    || fail "the sweep with a point missing failed"
grep -q "^sample: 4 points (1 sampled, 3 kept)" "$T/again.txt" || fail "not one point sampled: $(cat "$T/again.txt")"
grep -q "^point 2 (devices.nic0.iotlb.entries=1024, devices.nic0.walk=iommu):$" "$T/again.txt" \
    || fail "point 2 was not the one sampled: $(cat "$T/again.txt")"
cmp -s "$T/first.csv" "$T/sampled/sweep.csv" || fail "a point sampled again changed the table"
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep --span $NIC_SPAN --windows 3 --window 400us --top 0 \
    --out "$T/sampled" > "$T/other.txt" || fail "the sweep with other windows failed"
grep -q "^sample: 4 points (4 sampled, 0 kept)" "$T/other.txt" || fail "other windows kept a point: $(cat "$T/other.txt")"

# a row is the point sampled alone
python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" "${TILE[@]}" --set devices.nic0.iotlb.entries=1024 \
    --set devices.nic0.walk=device --top 100000 --out "$T/alone" > "$T/alone.txt" || fail "sampling one point failed"
python3 - "$T/first.csv" "$T/alone/estimates.csv" <<'EOF' \
    || fail "a sweep row is not its point sampled alone"
import csv, sys
row = list(csv.DictReader(open(sys.argv[1])))[3]
assert row["devices.nic0.iotlb.entries"] == "1024" and row["devices.nic0.walk"] == "device", row
for path in sys.argv[2:]:
    alone = list(csv.DictReader(open(path)))
    assert len(alone) > 50
    for a in alone:
        assert (row[a["statistic"]], row[a["statistic"] + ".ci95"]) == (a["estimate"], a["ci95"]), a
    # a statistic of other points only is empty here
    names = {a["statistic"] for a in alone}
    assert all(v == "" for k, v in row.items() if k.split(".ci95")[0] not in names and not k.startswith("devices."))
EOF

# estimates.csv: every row the table prints (statistic, 6 digits) and the
# zeros it leaves out
python3 - "$T/alone.txt" "$T/alone/estimates.csv" "$T/alone/estimates.json" <<'EOF' \
    || fail "estimates.csv is not the printed table"
import csv, json, sys
lines = open(sys.argv[1]).read().splitlines()
table = {l.split()[0]: l.split()[1] for l in lines[2:] if not l.startswith("note:")}
rows = {r["statistic"]: r for r in csv.DictReader(open(sys.argv[2]))}
shown = {k for k, r in rows.items() if float(r["estimate"]) or float(r["ci95"] or "nan")}  # as the table
assert len(table) > 50 and set(table) == shown, (len(table), set(table) ^ shown)
assert len(rows) > len(shown)
for k, v in table.items():
    assert "%.6g" % float(rows[k]["estimate"]) == v, (k, v, rows[k])
doc = json.load(open(sys.argv[3]))
assert doc["windows"] == 3 and doc["window_ns"] == 480103 and doc["detailed_warmup_ns"] == 20000, doc
assert {k: (v["estimate"], v["ci95"]) for k, v in doc["estimates"].items()} == \
    {k: (float(r["estimate"]), float(r["ci95"]) if r["ci95"] else None) for k, r in rows.items()}
EOF

# an --out that cannot be written: refused before anything runs
: > "$T/file"
out=$(python3 "$SAMPLE" "$BIN" "$T/cfg.yaml" --sweep "${TILE[@]}" --out "$T/file/x" 2>&1) \
    && fail "--out under a regular file accepted"
echo "$out" | grep -q "cannot write the estimates to $T/file/x" || fail "unclear --out error: $out"
echo "$out" | grep -q "^point 0" && fail "points ran before the --out error"

# a window runs without the fast path (its statistics are the same; a
# conflict would redo the window from its configuration, warm-up and all):
# meta.json says so, where the window's configured run, mostly IOTLB hits,
# meets a conflict and is redone; the default run uses it
"$BIN" sample "$T/cfg.yaml" --set devices.nic0.iotlb.entries=1024 --at 300us,900us --window 100us \
    --detailed-warmup 20us --out "$T/windows" > /dev/null || fail "scimitar sample failed"
[ "$(cat "$T"/windows/window-*/meta.json | grep -c '"fast_path": "window",')" = 4 ] \
    || fail "not every window ran without the fast path: $(grep -h fast_path "$T"/windows/window-*/meta.json)"
"$BIN" run "$T/windows/window-001/config.yaml" --quiet --out "$T/window1" || fail "a window's configuration failed"
cmp -s "$T/windows/window-001/stats.json" "$T/window1/stats.json" || fail "a window is not its configured run"
grep -q '"fast_path": "redone",' "$T/window1/meta.json" || fail "the window's run was not redone: $(cat "$T/window1/meta.json")"
grep -Eq '^  "fast_path_conflict": "at [0-9]+ ps: [a-z]' "$T/window1/meta.json" \
    || fail "a redone run does not say what it met: $(cat "$T/window1/meta.json")"
"$BIN" run "$SRC/configs/default.yaml" --quiet --out "$T/whole" || fail "the default run failed"
grep -q '"fast_path": "on",' "$T/whole/meta.json" || fail "the default run did not use the fast path"
grep -q fast_path_conflict "$T/whole/meta.json" "$T/windows/window-001/meta.json" && fail "a conflict where none was"
"$BIN" run "$T/cfg.yaml" --quiet --out "$T/off" --set sim.fast_path=off || fail "a run without the fast path failed"
grep -q '"fast_path": "off",' "$T/off/meta.json" || fail "sim.fast_path: off is not in meta.json"
echo "ok"

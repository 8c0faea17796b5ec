#!/usr/bin/env bash
# scimitar sweep's remaining edges of its sweep: section and its table:
# a range bound that is an empty string or a map (not a plain number);
# range values that are fractions or too large for an integer (shown as
# %.10g in the point's description); a plot metric given both on the
# command line and in sweep.plot (the command line's wins); and a resumed
# sweep whose finished points' stats.csv were edited: a line without a
# comma is skipped, a line without a unit is a statistic without a unit,
# names with quotes, backslashes and tabs are escaped in sweep.json, a
# stats.csv that is a directory leaves its point out of the table, a
# header alone gives a row of the swept values only, and a plot metric
# the table lacks is said, not drawn.
# Expected values: the exact messages; the table rows worked out from the
# edited files.
# usage: cli_sweep_edges.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
cd "$T" || exit 1
base() { nic_yaml 20us; }
L=10 # base() is 9 lines, so sweep: is line 10

n=0
expect_spec() { # expect_spec MESSAGE  (the sweep: section on stdin)
    n=$((n + 1))
    { base; cat; } > "e$n.yaml"
    "$BIN" sweep "e$n.yaml" --out "e$n" --quiet > /dev/null 2> err; rc=$?
    [ $rc -eq 1 ] || fail "e$n.yaml: exit status $rc, expected 1: $(cat err)"
    grep -qF -- "$1" err || fail "e$n.yaml: message: $(cat err)"
    [ -e "e$n" ] && fail "e$n.yaml: output directory created for a bad sweep"
    return 0
}
# "    devices.nic0.iotlb.entries: {range: [" is 41 characters: the bound at 42
expect_spec "e1.yaml:$((L + 2)):42: error: sweep parameter 'devices.nic0.iotlb.entries': expected a plain number (no unit suffix)" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: ['', 64, 16]}
EOF
expect_spec "e2.yaml:$((L + 2)):42: error: sweep parameter 'devices.nic0.iotlb.entries': expected a plain number (no unit suffix)" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [{a: 1}, 64, 16]}
EOF
# the first point is checked before anything runs, its values as numbers
expect_spec "point 0 (devices.nic0.iotlb.entries=0.5) is not a valid configuration" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [0.5, 1, 0.5]}
EOF
expect_spec "point 0 (devices.nic0.iotlb.entries=1e+16) is not a valid configuration" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [1e16, 1e16, 1]}
EOF

# two points; the plot metric of the command line wins over sweep.plot's
# (whose unknown name would be refused before the runs)
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16, 32]\n  plot: {metric: no.such.stat}\n'; } > sw.yaml
"$BIN" sweep sw.yaml --out s --quiet --plot nic0.iotlb.misses > s.out 2> s.err || fail "sweep: $(cat s.err)"
[ -s s/plot.svg ] || fail "no plot of the command line's metric"
grep -q "nic0.iotlb.misses" s/plot.svg || fail "the plot is not of nic0.iotlb.misses"
rm s/plot.svg
# edit point 0's statistics: a line without a comma, one without a unit,
# names to escape; point 1's stats.csv becomes a directory
printf 'name,value,unit\nnot a statistic\nmy.count,7\nq"uo\\te\tx,3,pages\n' > s/points/000000/stats.csv
rm s/points/000001/stats.csv && mkdir s/points/000001/stats.csv
# the table is written, the plot is not: exit 1
"$BIN" sweep sw.yaml --out s --quiet --plot nic0.iotlb.misses > s.out 2> s.err
[ $? -eq 1 ] || fail "resumed sweep with a plot metric its table lacks: $(cat s.err)"
printf 'devices.nic0.iotlb.entries,my.count,"q""uo\\te\tx"\n16,7,3\n' > want.csv
diff -u want.csv s/sweep.csv || fail "the table of the edited points"
python3 - s/sweep.json <<'PY' || fail "sweep.json of the edited points"
import json, sys
j = json.load(open(sys.argv[1]))
pts = j["points"]
assert [p["point"] for p in pts] == [0], pts
assert pts[0]["stats"] == {"my.count": 7, 'q"uo\\te\tx': 3}, pts[0]["stats"]
PY
grep -qF "scimitar sweep: plot metric 'nic0.iotlb.misses' is not a statistic of this run" s.err ||
    fail "the plot metric missing from the edited table: $(cat s.err)"
[ -e s/plot.svg ] && fail "a plot of a metric the table lacks was drawn"

# one point whose stats.csv is a header alone: a row of its value only
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16]\n'; } > one.yaml
"$BIN" sweep one.yaml --out o --quiet > /dev/null 2> o.err || fail "one point: $(cat o.err)"
printf 'name,value,unit\n' > o/points/000000/stats.csv
"$BIN" sweep one.yaml --out o --quiet > /dev/null 2> o.err || fail "one point resumed: $(cat o.err)"
[ "$(cat o/sweep.csv)" = "$(printf 'devices.nic0.iotlb.entries\n16')" ] || fail "header-only point: $(cat o/sweep.csv)"
echo "cli_sweep_edges: ok"

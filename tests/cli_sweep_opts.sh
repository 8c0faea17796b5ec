#!/usr/bin/env bash
# scimitar sweep's options and its sweep: section: every form of values
# (list, scalar, values:, range, pow2, zip) gives the points docs/sweeps.md
# promises in the promised order; --set reaches every point; plot axes
# default as documented; the default output directory; each usage error
# (exit 2) and each error of the sweep: section, with its file:line:col
# (exit 1, nothing run). cli_sweep.sh covers tables, -j, MPI and resume.
# usage: cli_sweep_opts.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

base() { nic_yaml "$@"; }
# the values of the swept keys at each point, in point order, from point.txt
points() {
    for p in "$1"/points/*/point.txt; do tail -n +2 "$p" | sed 's/^[^=]*=//' | tr '\n' ' '; echo; done
}

# usage errors: exit 2, nothing written
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [16, 32]\n'; } > "$T/sw.yaml"
expect2() { # expect2 WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    (cd "$T" && "$BIN" sweep "$@") > "$T/out" 2> "$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "$what: exit status $rc, expected 2"
    grep -q -- "$msg" "$T/err" || fail "$what: message: $(cat "$T/err")"
}
expect2 "no configuration" "^usage: scimitar sweep CONFIG.yaml"
for j in "-j 0" "-j 4097" "-j x" "-j 2x" "-j0" "-jx" "-j-1"; do
    expect2 "$j" "-j needs a number of processes from 1 to 4096, not '" "$T/sw.yaml" $j --out "$T/never"
done
expect2 "unknown option" "unexpected argument '--fast'" "$T/sw.yaml" --fast
expect2 "two configurations" "unexpected argument 'more.yaml'" "$T/sw.yaml" more.yaml
[ -e "$T/never" ] && fail "a usage error created the output directory"
"$BIN" sweep --help > "$T/help" || fail "--help exit status"
grep -q -- "--plot METRIC \[--x KEY\] \[--series KEY\]" "$T/help" || fail "--help text: $(cat "$T/help")"
"$BIN" sweep -h | cmp -s - "$T/help" || fail "-h differs from --help"

# -jN is -j N: the same table
"$BIN" sweep "$T/sw.yaml" -j2 --out "$T/j2" --quiet || fail "-j2"
"$BIN" sweep "$T/sw.yaml" -j 1 --out "$T/j1" --quiet || fail "-j 1"
cmp -s "$T/j1/sweep.csv" "$T/j2/sweep.csv" || fail "-j2 and -j 1 tables differ"

# errors of the sweep: section: exit 1, file:line:col and what to write,
# before anything runs (no output directory)
n=0
expect_spec() { # expect_spec MESSAGE  (the sweep: section on stdin)
    n=$((n + 1))
    { base; cat; } > "$T/e$n.yaml"
    "$BIN" sweep "$T/e$n.yaml" --out "$T/e$n" --quiet > /dev/null 2> "$T/err"; rc=$?
    [ $rc -eq 1 ] || fail "e$n.yaml: exit status $rc, expected 1"
    grep -q -- "$1" "$T/err" || fail "e$n.yaml: message: $(cat "$T/err")"
    [ -e "$T/e$n" ] && fail "e$n.yaml: output directory created for a bad sweep"
    return 0
}
L=10 # base() is 9 lines, so sweep: is line 10
expect_spec "e1.yaml:$L:8: error: sweep must be a map (parameters, zip, plot)" <<'EOF'
sweep: [1, 2]
EOF
expect_spec "e2.yaml:$((L + 1)):3: error: unknown key 'sweep.params'; expected parameters, zip or plot" <<'EOF'
sweep:
  params: {devices.nic0.iotlb.entries: [16]}
EOF
expect_spec "e3.yaml:$((L + 1)):15: error: sweep.parameters must be a map of key path to values" <<'EOF'
sweep:
  parameters: [devices.nic0.iotlb.entries]
EOF
expect_spec "e4.yaml:$((L + 2)):38: error: sweep value of 'devices.nic0.iotlb.entries' must be a scalar" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: [16, [32, 64]]
EOF
expect_spec "e5.yaml:$((L + 2)):33: error: sweep parameter 'devices.nic0.iotlb.entries' has no values" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: []
EOF
expect_spec "e6.yaml:$((L + 2)):33: error: sweep parameter 'devices.nic0.iotlb.entries': expected a list, or one of" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {pow2: [16, 64], values: [16]}
EOF
expect_spec "e7.yaml:$((L + 2)):34: error: sweep parameter 'devices.nic0.iotlb.entries': unknown form 'steps'; expected values, range or pow2" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {steps: [16, 64]}
EOF
expect_spec "e8.yaml:$((L + 2)):41: error: sweep parameter 'devices.nic0.iotlb.entries': range takes \[from, to, step\]" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [16, 64]}
EOF
expect_spec "e9.yaml:$((L + 2)):40: error: sweep parameter 'devices.nic0.iotlb.entries': pow2 takes \[from, to\]" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {pow2: 16}
EOF
expect_spec "e10.yaml:$((L + 2)):28: error: sweep parameter 'os.iopf_cost': expected a plain number (no unit suffix)" <<'EOF'
sweep:
  parameters:
    os.iopf_cost: {range: [1us, 4us, 1us]}
EOF
expect_spec "e11.yaml:$((L + 2)):41: error: sweep parameter 'devices.nic0.iotlb.entries': range needs from <= to and a step > 0" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [64, 16, 16]}
EOF
expect_spec "e12.yaml:$((L + 2)):41: error: sweep parameter 'devices.nic0.iotlb.entries': range needs from <= to and a step > 0" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [16, 64, 0]}
EOF
expect_spec "e13.yaml:$((L + 4)):5: error: 'devices.nic0.iotlb.entries' is swept twice; list it once" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: [16, 32]
  zip:
    devices.nic0.iotlb.entries: [16, 32]
EOF
expect_spec "e14.yaml:$((L + 3)):24: error: sweep.zip: 'os.iopf_page_cost' has 3 values but the others have 2" <<'EOF'
sweep:
  zip:
    os.iopf_cost: [1us, 2us]
    os.iopf_page_cost: [1ns, 2ns, 3ns]
EOF
expect_spec "e15.yaml:$((L + 1)):3: error: sweep has no parameters; add sweep.parameters" <<'EOF'
sweep:
  plot: {metric: nic0.iotlb.misses}
EOF
expect_spec "e16.yaml:$((L + 2)):37: error: sweep.plot takes metric, x and series (scalars)" <<'EOF'
sweep:
  parameters: {devices.nic0.iotlb.entries: [16, 32]}
  plot: {metric: nic0.iotlb.misses, colour: red}
EOF
expect_spec "e17.yaml:$((L + 1)):3: error: the sweep has more than 10 million points" <<'EOF'
sweep:
  parameters:
    a.a: {range: [1, 10, 1]}
    a.b: {range: [1, 10, 1]}
    a.c: {range: [1, 10, 1]}
    a.d: {range: [1, 10, 1]}
    a.e: {range: [1, 10, 1]}
    a.f: {range: [1, 10, 1]}
    a.g: {range: [1, 10, 1]}
    a.h: {range: [1, 10, 1]}
EOF
# pow2 from a number that is no power of two above 0, or down from a larger one
for from_to in "0, 64" "-4, 64" "64, 16"; do
    expect_spec "e$((n + 1)).yaml:$((L + 2)):40: error: sweep parameter 'devices.nic0.iotlb.entries': pow2 needs a power of two from <= to" <<EOF
sweep:
  parameters:
    devices.nic0.iotlb.entries: {pow2: [$from_to]}
EOF
done
# a range bound that is not finite, pointing at it
expect_spec "e$((n + 1)).yaml:$((L + 2)):45: error: sweep parameter 'devices.nic0.iotlb.entries': expected a plain number (no unit suffix)" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [1, inf, 1]}
EOF
expect_spec "e$((n + 1)).yaml:$((L + 2)):8: error: sweep.zip must be a map of key path to values" <<'EOF'
sweep:
  parameters: {devices.nic0.iotlb.entries: [16]}
  zip: [1, 2]
EOF
# a plot key whose value is not a scalar
expect_spec "e$((n + 1)).yaml:$((L + 2)):10: error: sweep.plot takes metric, x and series (scalars)" <<'EOF'
sweep:
  parameters: {devices.nic0.iotlb.entries: [16, 32]}
  plot: {metric: [a, b]}
EOF
# a step lost in the rounding of large numbers never reached `to` (found by
# fuzz_cli: the sweep hung, growing); values that print alike are refused
expect_spec "e$((n + 1)).yaml:$((L + 2)):41: error: sweep parameter 'devices.nic0.iotlb.entries': range step 1e+289 is too small to tell values apart near 1e+300" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [1e300, 1.0000000001e300, 1e289]}
EOF
# from = to at 1e300, a step of 1: one value (the point is then refused)
expect_spec "point 0 (devices.nic0.iotlb.entries=1e+300) is not a valid configuration" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [1e300, 1e300, 1]}
EOF
expect_spec "e$((n + 1)).yaml:$((L + 2)):27: error: sweep parameter 'os.iopf_cost': range step 1e-11 is too small to tell values apart near 1 (10 significant digits)" <<'EOF'
sweep:
  parameters:
    os.iopf_cost: {range: [1, 1.0000000001, 0.00000000001]}
EOF

# a swept key that does not exist fails on the first point, before any run
expect_spec "point 0 (devices.nic0.iotlb.entires=16) is not a valid configuration: .*did you mean 'entries'" <<'EOF'
sweep:
  parameters:
    devices.nic0.iotlb.entires: [16, 32]
EOF
# any number of keys (70 here; an array of 64 indices once overflowed):
# the first point is described and rejected, nothing crashes
{ printf 'sweep:\n  parameters:\n'; for k in $(seq 1 70); do echo "    a.k$k: [$k]"; done; } > "$T/many"
expect_spec "point 0 (a.k1=1, a.k2=2, a.k3=3, .*\.\.\.) is not a valid configuration: .*unknown key 'a'" < "$T/many"
# so does a bad --set
"$BIN" sweep "$T/sw.yaml" --out "$T/bs" --set devices.nic0.iotbl.entries=8 2> "$T/err" && fail "a bad --set was accepted"
grep -q "unknown key 'devices.nic0.iotbl'; did you mean 'iotlb'" "$T/err" || fail "bad --set message: $(cat "$T/err")"
[ -e "$T/bs" ] && fail "output directory created for a bad --set"

# every form of values, in order: the grid's first key varies slowest,
# the zip group is one more dimension, varying fastest
{ base; cat <<'EOF'; } > "$T/forms.yaml"
sweep:
  parameters:
    devices.nic0.iotlb.entries: {range: [16, 48, 16]}
    devices.nic0.iotlb.ways: {values: [4]}
    devices.nic0.walk: iommu
  zip:
    os.iopf_cost: [1us, 2us]
    os.iopf_page_cost: [10ns, 20ns]
EOF
"$BIN" sweep "$T/forms.yaml" -j 2 --out "$T/forms" > "$T/forms.out" 2> "$T/forms.err" || fail "sweep of every form"
cat > "$T/want" <<'EOF'
16 4 iommu 1us 10ns 
16 4 iommu 2us 20ns 
32 4 iommu 1us 10ns 
32 4 iommu 2us 20ns 
48 4 iommu 1us 10ns 
48 4 iommu 2us 20ns 
EOF
points "$T/forms" | diff -u "$T/want" - || fail "points of every form"
# without --quiet: what will run on stderr, where it went on stdout
grep -q "^scimitar sweep: 6 points, 6 to run, 0 already done; local processes$" "$T/forms.err" ||
    fail "sweep progress line: $(cat "$T/forms.err")"
grep -qx "sweep: 6 points (6 run, 0 skipped, 0 failed); table $T/forms/sweep.csv, $T/forms/sweep.json" "$T/forms.out" ||
    fail "sweep result line: $(cat "$T/forms.out")"
# each row is the run of its values: a zipped fault cost shows in the
# point's own statistics (1us + 10ns vs 2us + 20ns per fault)
python3 - "$T/forms/sweep.csv" <<'PY' || fail "rows do not follow their values"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["os.iopf_cost"] for r in rows] == ["1us", "2us"] * 3, [r["os.iopf_cost"] for r in rows]
for a, b in zip(rows[0::2], rows[1::2]):
    fa, fb = float(a["os.iopf.latency.mean"]), float(b["os.iopf.latency.mean"])
    assert fa > 0 and fb > fa, (fa, fb)
PY
# pow2 gives the powers of two from..to
{ base; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: {pow2: [8, 64]}\n'; } > "$T/p2.yaml"
"$BIN" sweep "$T/p2.yaml" -j 2 --out "$T/p2" --quiet || fail "pow2 sweep"
[ "$(points "$T/p2" | tr -d ' ' | tr '\n' ,)" = "8,16,32,64," ] || fail "pow2 points: $(points "$T/p2")"

# --set reaches every point (and changes the configuration hash, so a
# resumed sweep with a different --set reruns everything)
"$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/j2" --set sim.max_time=20us 2> "$T/err" > /dev/null || fail "--set sweep"
grep -q "2 to run, 0 already done" "$T/err" || fail "--set did not rerun the points: $(cat "$T/err")"
python3 - "$T/j2/sweep.csv" "$T/j1/sweep.csv" <<'PY' || fail "--set did not reach every point"
import csv, sys
new, old = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(new) == 2
for n, o in zip(new, old):
    assert int(n["sim.time_ps"]) <= 20_000_000 < int(o["sim.time_ps"]), (n["sim.time_ps"], o["sim.time_ps"])
PY

# plot axes: x defaults to the first key, series to the next one
{ base; cat <<'EOF'; } > "$T/pl.yaml"
sweep:
  parameters:
    devices.nic0.iotlb.entries: [16, 32, 64]
    devices.nic0.walk: [iommu, device]
EOF
svg() { # svg FILE POLYLINES POINTS_EACH TEXT...
    python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
lines = root.findall(f".//{ns}polyline")
assert len(lines) == int(sys.argv[2]), f"{len(lines)} polylines"
for l in lines:
    assert len(l.get("points").split()) == int(sys.argv[3]), l.get("points")
texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
for want in sys.argv[4:]:
    assert want in texts, f"{want!r} not in {texts!r}"
PY
}
"$BIN" sweep "$T/pl.yaml" -j 2 --out "$T/pl" --quiet --plot nic0.iotlb.misses || fail "--plot"
svg "$T/pl/plot.svg" 2 3 "devices.nic0.iotlb.entries" "walk = iommu" "walk = device" || fail "default plot axes"
"$BIN" sweep "$T/pl.yaml" --out "$T/pl" --quiet --plot nic0.iotlb.misses --x devices.nic0.walk || fail "--plot --x"
svg "$T/pl/plot.svg" 3 2 "devices.nic0.walk" "entries = 16" "entries = 64" || fail "--x makes the other key the series"
"$BIN" sweep "$T/pl.yaml" --out "$T/pl" --quiet --plot nic0.dma.latency.p99 --x devices.nic0.iotlb.entries \
    --series devices.nic0.walk || fail "--plot --x --series"
svg "$T/pl/plot.svg" 2 3 "(us)" "walk = iommu" || fail "explicit axes"
# one key: one line, no legend of series
"$BIN" sweep "$T/sw.yaml" --out "$T/j1" --quiet --plot nic0.iotlb.misses || fail "--plot of one key"
svg "$T/j1/plot.svg" 1 2 "devices.nic0.iotlb.entries" || fail "plot of one key"

# on a terminal: a progress line per finished point, a failure on a line
# of its own; --quiet shows neither (script(1) provides the terminal)
if command -v script > /dev/null; then
    sed 's/devices.nic0.iotlb.entries: \[16, 32\]/devices.nic0.max_outstanding: [4, 0]/' "$T/sw.yaml" > "$T/tty.yaml"
    script -qefc "'$BIN' sweep '$T/tty.yaml' -j 1 --out '$T/tty'" /dev/null | tr -d '\r' > "$T/tty.txt"
    grep -q "^  sweep: 1/2 points done, 0 failed | elapsed [0-9]* s | ETA [0-9]* s *$" "$T/tty.txt" ||
        fail "no progress line after the first point: $(cat -A "$T/tty.txt")"
    grep -q "^scimitar sweep: point 1 (devices.nic0.max_outstanding=0) failed (exit 1); see $T/tty/points/000001/log.txt" \
        "$T/tty.txt" || fail "the failure is not on a line of its own: $(cat -A "$T/tty.txt")"
    grep -q "^  sweep: 2/2 points done, 1 failed | " "$T/tty.txt" || fail "no final progress line: $(cat -A "$T/tty.txt")"
    script -qefc "'$BIN' sweep '$T/tty.yaml' -j 1 --out '$T/tty2' --quiet" /dev/null | tr -d '\r' > "$T/tty.txt"
    grep -q "points done" "$T/tty.txt" && fail "--quiet showed progress: $(cat "$T/tty.txt")"
    grep -q "^scimitar sweep: point 1 (devices.nic0.max_outstanding=0) failed" "$T/tty.txt" ||
        fail "--quiet hid the failure: $(cat "$T/tty.txt")"
fi

# without --out: out/<config name up to its first dot>-sweep
mkdir -p "$T/cwd"
cp "$T/sw.yaml" "$T/my.sweep.yaml"
(cd "$T/cwd" && "$BIN" sweep ../my.sweep.yaml --quiet) || fail "sweep without --out"
[ -s "$T/cwd/out/my-sweep/sweep.csv" ] || fail "default output: $(find "$T/cwd" | head)"
# an output directory that cannot be made: exit 1, its name
: > "$T/file"
"$BIN" sweep "$T/sw.yaml" --out "$T/file/sub" --quiet 2> "$T/err" && fail "output under a file accepted"
grep -q "scimitar sweep: cannot create output directory $T/file/sub: $T/file is a file, not a directory" "$T/err" ||
    fail "cannot create message: $(cat "$T/err")"
echo "cli_sweep_opts: ok"

#!/usr/bin/env bash
# scimitar run --progress=off|line|bar (issue 14): the display is driven by
# host time between events, never by simulated events, so
#  - stats.json is byte-identical with progress off, as lines, as a bar on
#    a terminal (script(1)), and by default piped or on a terminal, even
#    when it redraws at every call of the hook (SCIMITAR_PROGRESS_INTERVAL=0);
#  - the bar shows simulated time, the trace position against the trace
#    file's size (compressed bytes of a .gz), events/s and an ETA; line
#    mode prints the same as plain lines;
#  - a trace with a 1000 s idle gap runs as fast with the bar as without;
#  - a bad --progress is a usage error (exit 2).
# usage: cli_progress.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1

TRACE=$SRC/traces/nic_rx.trace.gz
cat > nic.yaml <<YAML
processes:
  app:
    pasid: 1
    regions:
      - {va: 0x7f0000000000, size: 64KiB, populate: true}
      - {va: 0x7f0000100000, size: 4MiB, populate: false}
devices:
  nic0: {trace: $TRACE, pasid: 1}
YAML

"$BIN" run nic.yaml --out off --progress=off > /dev/null 2> off.err || fail "run --progress=off"
[ -s off.err ] && fail "--progress=off printed: $(cat off.err)"
SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" run nic.yaml --out line --progress line > /dev/null 2> line.err ||
    fail "run --progress line"
cmp -s off/stats.json line/stats.json || fail "stats.json differs between --progress=off and line"
# line mode: plain lines, the trace position against the file's size
size=$(stat -c %s "$TRACE")
kib=$(awk -v s="$size" 'BEGIN { printf "%.1f KiB", s / 1024 }')
n=$(grep -c "^scimitar: progress: simulated [0-9.]* [mu]*s, trace [0-9.]* [KMi]*B/$kib ([0-9.]*%), [0-9.]* M events/s, elapsed .*, ETA .*$" line.err)
[ "$n" -ge 2 ] || fail "line mode: expected progress lines, got: $(head -3 line.err)"
grep -vq "^scimitar: progress: " line.err && fail "line mode printed something else: $(grep -v '^scimitar: progress' line.err | head -3)"
# the position only grows and stays within the file
awk -F'trace |/' '/progress/ { print $2 }' line.err > pos.txt
python3 - "$size" pos.txt <<'PY' || fail "line mode: the trace position is not monotonic within the file size"
import sys
size = int(sys.argv[1])
unit = {"B": 1, "KiB": 1024, "MiB": 1 << 20}
vals = []
for l in open(sys.argv[2]):
    v, u = l.split()
    vals.append(float(v) * unit[u])
assert vals == sorted(vals), vals
assert all(v <= size * 1.001 for v in vals)
PY
# not a terminal, not quiet: line mode at 30 s by default, so a short run prints nothing
"$BIN" run nic.yaml --out piped > /dev/null 2> piped.err || fail "default run"
[ -s piped.err ] && fail "a short piped run printed progress: $(cat piped.err)"
cmp -s off/stats.json piped/stats.json || fail "stats.json differs piped"
if command -v script > /dev/null; then
    # bar on a terminal, redrawn at every call of the hook
    script -qec "SCIMITAR_PROGRESS_INTERVAL=0 '$BIN' run nic.yaml --out bar --progress=bar" /dev/null > bar.txt ||
        fail "run --progress=bar"
    cmp -s off/stats.json bar/stats.json || fail "stats.json differs between --progress=off and bar"
    tr '\r' '\n' < bar.txt > bar.lines
    grep -q "^sim [0-9.]* [mu]*s | trace [0-9.]* [KMi]*B/$kib ([0-9.]*%) | [0-9.]* M ev/s | .* | ETA " bar.lines ||
        fail "bar: $(head -c 400 bar.txt)"
    # the default on a terminal is the bar; --quiet turns it off
    script -qec "SCIMITAR_PROGRESS_INTERVAL=0 '$BIN' run nic.yaml --out tty" /dev/null > tty.txt || fail "run on a tty"
    grep -q "| ETA" tty.txt || fail "no bar by default on a terminal"
    cmp -s off/stats.json tty/stats.json || fail "stats.json differs on a terminal"
    script -qec "SCIMITAR_PROGRESS_INTERVAL=0 '$BIN' run nic.yaml --out q --quiet" /dev/null > q.txt || fail "--quiet"
    grep -q "ETA" q.txt && fail "--quiet showed progress"
    cmp -s off/stats.json q/stats.json || fail "stats.json differs with --quiet"
    # an idle gap of 1000 simulated seconds: few events, no redraws of its own
    printf '+0 read 0x7f0000000000 64\n@1000000000000 read 0x7f0000000040 64\n' > gap.trace
    sed "s|$TRACE|$T/gap.trace|" nic.yaml > gap.yaml
    t0=$(date +%s%N)
    timeout 60 script -qec "'$BIN' run gap.yaml --out gap --progress=bar" /dev/null > gap.txt || fail "gap run"
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -lt 5000 ] || fail "a 1000 s idle gap took $ms ms with the bar"
    grep -q '"sim.time_ps": 1000000' gap/stats.json || fail "gap run: $(grep time_ps gap/stats.json)"
    echo "cli_progress: bar checked (gap run $ms ms)"
else
    echo "cli_progress: no script(1); the terminal cases are skipped"
fi

# usage errors
"$BIN" run nic.yaml --out never --progress=fancy 2> err; [ $? -eq 2 ] || fail "--progress=fancy: exit status"
grep -q "progress takes off, line or bar, not 'fancy'" err || fail "--progress=fancy: $(cat err)"
[ -e never ] && fail "a usage error created the output"
echo "cli_progress: stats identical with progress off, line and bar ($n progress lines)"

#!/usr/bin/env bash
# scimitar sweep stopped from outside: a SIGTERM stops the sweep and its
# running point (the exit status of the signal, the finished points kept,
# no point process left, the same command resumes the rest); a point
# killed by a signal is reported as crashed with its log while the others
# finish. cli_sweep.sh and cli_sweep_opts.sh cover normal runs and errors.
# usage: cli_sweep_signals.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
ulimit -c 0 # the crashed point leaves no core file
# In a sanitizer build a point that has set up AddressSanitizer catches the
# SIGSEGV sent below and aborts (signal 6); one killed before that dies of
# signal 11: which one depends on the host's speed. Let the signal through.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"

base() { nic_yaml "$@"; }
# The point processes of sweep PID (spawned children).
children() { cat /proc/"$1"/task/*/children 2> /dev/null; }

# SIGTERM: eight points, one at a time; stopped after the first is done
# (a point takes about 40 ms: with three, a fast build could finish them
# all between two looks)
{ base 2ms; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [4, 8, 16, 32, 64, 128, 256, 512]\n'; } \
    > "$T/sig.yaml"
"$BIN" sweep "$T/sig.yaml" -j 1 --out "$T/sig" > /dev/null 2> "$T/sig.err" &
spid=$!
for _ in $(seq 3000); do
    ls "$T"/sig/points/*/point.txt > /dev/null 2>&1 && break
    sleep 0.01
done
ls "$T"/sig/points/*/point.txt > /dev/null 2>&1 || fail "no point finished within 30 s"
kill -TERM "$spid"
wait "$spid"; rc=$?
[ $rc -eq 143 ] || fail "SIGTERM: exit status $rc, expected 143 (killed by SIGTERM): $(cat "$T/sig.err")"
grep -q "scimitar sweep: interrupted; the points that finished are kept in $T/sig: run the same command again to resume" \
    "$T/sig.err" || fail "SIGTERM: message: $(cat "$T/sig.err")"
grep -q "failed\|crashed" "$T/sig.err" && fail "the point stopped by the signal was reported as failed: $(cat "$T/sig.err")"
kept=$(ls "$T"/sig/points/*/point.txt | wc -l)
[ "$kept" -ge 1 ] && [ "$kept" -lt 8 ] || fail "SIGTERM: $kept points kept, expected 1 to 7"
[ -e "$T/sig/sweep.csv" ] && fail "an interrupted sweep wrote its table"
# no point process outlives the sweep
sleep 0.2
pgrep -f "$T/sig.yaml" > /dev/null && fail "a point process outlived the interrupted sweep"
# the same command resumes: only the points not kept run
"$BIN" sweep "$T/sig.yaml" -j 2 --out "$T/sig" > /dev/null 2> "$T/resume.err" || fail "resume: $(cat "$T/resume.err")"
grep -q "8 points, $((8 - kept)) to run, $kept already done" "$T/resume.err" ||
    fail "resume: $(cat "$T/resume.err")"
[ "$(wc -l < "$T/sig/sweep.csv")" -eq 9 ] || fail "resumed table: $(wc -l < "$T/sig/sweep.csv") lines, expected 9"

# a point killed by a signal: reported as crashed, the others finish
{ base 2ms; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [4, 8, 16]\n'; } > "$T/crash.yaml"
"$BIN" sweep "$T/crash.yaml" -j 3 --out "$T/crash" > /dev/null 2> "$T/crash.err" &
spid=$!
killed=0
for _ in $(seq 600); do
    for c in $(children "$spid"); do
        kill -SEGV "$c" 2> /dev/null && killed=1 && break
    done
    [ $killed -eq 1 ] && break
    sleep 0.02
done
[ $killed -eq 1 ] || fail "no point process to kill"
wait "$spid"; rc=$?
[ $rc -eq 1 ] || fail "crashed point: exit status $rc, expected 1: $(cat "$T/crash.err")"
grep -q "scimitar sweep: point [0-2] (devices.nic0.iotlb.entries=[0-9]*) crashed (signal 11); see $T/crash/points/.*/log.txt" \
    "$T/crash.err" || fail "crashed point: message: $(cat "$T/crash.err")"
[ "$(grep -c crashed "$T/crash.err")" -eq 1 ] || fail "more than one crash: $(cat "$T/crash.err")"
[ "$(ls "$T"/crash/points/*/point.txt | wc -l)" -eq 2 ] || fail "the other two points did not both finish"
[ "$(wc -l < "$T/crash/sweep.csv")" -eq 3 ] || fail "crash: the table should hold the two good points"

echo "cli_sweep_signals: ok"

#!/usr/bin/env bash
# A sweep on a terminal (script(1) provides it) stopped from outside: the
# progress line has no newline of its own, so what comes after it must
# start one. A SIGTERM after the first point: "scimitar sweep: interrupted;
# ..." on a line of its own after "  sweep: 1/3 points done"; a point
# killed by SIGSEGV: "... crashed (signal 11) ..." on a line of its own,
# then "  sweep: 1/3 points done, 1 failed". cli_sweep_signals.sh checks the same without a terminal,
# cli_sweep_opts.sh a failed point on a terminal.
# usage: cli_sweep_tty.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
ulimit -c 0 # the crashed point leaves no core file
# In a sanitizer build a point that has set up AddressSanitizer catches the
# SIGSEGV sent below and aborts (signal 6); one killed before that dies of
# signal 11: which one depends on the host's speed. Let the signal through.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
# a failed check must not leave never-ending points behind: stop the sweeps
# (they forward SIGTERM to their points; a point also gets it when its sweep dies)
trap 'for f in "$T"/*.pid; do [ -s "$f" ] && kill -TERM "$(cat "$f")" 2> /dev/null; done; sleep 0.3; rm -rf "$T"' EXIT
command -v script > /dev/null || { echo "cli_sweep_tty: no script(1); skipped"; exit 0; }

# configs/cpu_nic.yaml: a point without device invalidation never ends (a
# livelock the watchdog would stop only after 1000 s, as in
# cli_sweep_guard.sh); point 0 keeps it and ends within a second
sed "s|\.\./traces/|$SRC/traces/|" "$SRC/configs/cpu_nic.yaml" > "$T/sw.yaml"
printf 'sweep:\n  parameters:\n    os.unsafe_skip_device_invalidation: [false, true, true]\n' >> "$T/sw.yaml"
LIVE="--set sim.check_invariants=false --set sim.watchdog=1000s"
# sweep on a terminal in the background; its pid in $T/$1.pid (exec keeps it)
on_tty() {
    local name=$1
    shift
    script -qefc "sh -c 'echo \$\$ > $T/$name.pid; exec $BIN sweep $T/sw.yaml --out $T/$name $*'" /dev/null \
        > "$T/$name.raw" 2>&1 &
    for _ in $(seq 600); do
        [ -s "$T/$name.pid" ] && break
        sleep 0.05
    done
    [ -s "$T/$name.pid" ] || fail "$name: the sweep did not start"
}
children() { cat /proc/"$1"/task/*/children 2> /dev/null; }

# SIGTERM after the first point is done
on_tty sig -j 1 $LIVE
spid=$(cat "$T/sig.pid")
for _ in $(seq 600); do
    ls "$T"/sig/points/*/point.txt > /dev/null 2>&1 && grep -q "points done" "$T/sig.raw" && break
    sleep 0.05
done
grep -q "points done" "$T/sig.raw" || fail "no progress line within 30 s: $(cat -A "$T/sig.raw")"
kill -TERM "$spid"
wait
tr -d '\r' < "$T/sig.raw" > "$T/sig.txt"
grep -q "^  sweep: 1/3 points done, 0 failed | " "$T/sig.txt" || fail "progress: $(cat -A "$T/sig.txt")"
grep -q "^scimitar sweep: interrupted; the points that finished are kept in $T/sig: run the same command again to resume$" \
    "$T/sig.txt" || fail "the interruption is not on a line of its own: $(cat -A "$T/sig.txt")"

# a point killed by SIGSEGV while the others run
on_tty crash -j 3 $LIVE
spid=$(cat "$T/crash.pid")
killed=0
for _ in $(seq 600); do
    for c in $(children "$spid"); do
        kill -SEGV "$c" 2> /dev/null && killed=1 && break
    done
    [ $killed -eq 1 ] && break
    sleep 0.02
done
[ $killed -eq 1 ] || fail "no point process to kill"
# the two others never end: stop the sweep once the crash is reported
for _ in $(seq 600); do
    grep -q "crashed" "$T/crash.raw" && break
    sleep 0.05
done
kill -TERM "$spid"
wait
tr -d '\r' < "$T/crash.raw" > "$T/crash.txt"
grep -q "^scimitar sweep: point [0-2] (os.unsafe_skip_device_invalidation=[a-z]*) crashed (signal 11); see $T/crash/points/.*/log.txt$" \
    "$T/crash.txt" || fail "the crash is not on a line of its own: $(cat -A "$T/crash.txt")"
grep -q "^  sweep: 1/3 points done, 1 failed | " "$T/crash.txt" || fail "progress after the crash: $(cat -A "$T/crash.txt")"
echo "cli_sweep_tty: ok"

#!/usr/bin/env bash
# Outputs are checked before any simulation (issue 14): run, compare,
# sweep and trace gen/convert/pack/cat with --out/-o naming a regular file,
# a directory no file can be created in, or a path that cannot be created
# fail at once with exit 1, the path and a fix, and write nothing. "At
# once" is proven with a configuration that never ends by itself (a
# livelock the watchdog would stop only after 1000 s): under `timeout`,
# a check made after the run would time out. Every tool names only the
# files it wrote.
# usage: cli_outputs.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1

# a run that only a signal ends
sed "s|\.\./traces/|$SRC/traces/|" "$SRC/configs/cpu_nic.yaml" > live.yaml
LIVE=(--set os.unsafe_skip_device_invalidation=true --set sim.check_invariants=false --set sim.watchdog=1000s)
printf 'sweep:\n  parameters:\n    seed: [1, 2]\n' > sweep_part.yaml
cat live.yaml sweep_part.yaml > live_sweep.yaml

touch afile
# a directory no file can be created in: root writes anywhere but /sys
if [ "$(id -u)" = 0 ]; then
    RO=/sys/kernel
else
    mkdir ro && chmod 555 ro && RO=$T/ro
fi
if touch "$RO/probe" 2> /dev/null; then rm -f "$RO/probe"; RO=; fi

# expect1 WHAT MESSAGE COMMAND...: exit 1 within 20 s, the message on stderr
expect1() {
    local what=$1 msg=$2
    shift 2
    timeout 20 "$@" > out.txt 2> err.txt; rc=$?
    [ $rc -eq 124 ] && fail "$what: still running after 20 s (the output was not checked first)"
    [ $rc -eq 1 ] || fail "$what: exit status $rc, expected 1 ($(cat err.txt))"
    grep -qF -- "$msg" err.txt || fail "$what: message: $(cat err.txt)"
    [ -s out.txt ] && fail "$what: printed on stdout: $(cat out.txt)"
    return 0
}
for tool in run sweep compare; do
    expect1 "$tool --out FILE" "output directory afile is a file, not a directory; give another --out DIR" \
        "$BIN" $tool live_sweep.yaml "${LIVE[@]}" --out afile
    expect1 "$tool --out FILE/sub" "cannot create output directory afile/sub: afile is a file, not a directory" \
        "$BIN" $tool live_sweep.yaml "${LIVE[@]}" --out afile/sub
    if [ -n "$RO" ]; then
        expect1 "$tool --out read-only" "cannot write in $RO:" "$BIN" $tool live_sweep.yaml "${LIVE[@]}" --out "$RO"
        expect1 "$tool --out read-only/new" "cannot write in $RO to create $RO/new/dir" \
            "$BIN" $tool live_sweep.yaml "${LIVE[@]}" --out "$RO/new/dir"
    fi
done
[ "$(cat afile)" = "" ] || fail "afile was written"

# trace tools: -o names a file; a directory, a missing directory or a
# read-only one fails before the input is read or generated
expect1 "trace gen -o DIR" "output $T is a directory; give a file name" \
    "$BIN" trace gen nic-rx --count 100000000 -o "$T"
expect1 "trace gen -o missing/x" "cannot create nodir/x.trace: nodir does not exist" \
    "$BIN" trace gen nic-rx --count 100000000 -o nodir/x.trace
expect1 "trace gen --cpu-trace DIR" "output $T is a directory" \
    "$BIN" trace gen nic-rx --count 100000000 -o ok.trace --cpu-trace "$T"
[ -e ok.trace ] && fail "trace gen wrote its device trace though --cpu-trace was bad"
for sub in pack convert cat; do
    expect1 "trace $sub -o DIR" "output $T is a directory" "$BIN" trace $sub "$SRC/traces/nic_rx.trace.gz" -o "$T"
    expect1 "trace $sub -o afile/x" "cannot create afile/x: afile is not a directory" \
        "$BIN" trace $sub "$SRC/traces/nic_rx.trace.gz" -o afile/x
    if [ -n "$RO" ]; then
        expect1 "trace $sub -o read-only" "cannot create $RO/x.trace: $RO:" \
            "$BIN" trace $sub "$SRC/traces/nic_rx.trace.gz" -o "$RO/x.trace"
    fi
done
ls -A | grep -q tmp && fail "temporary files left: $(ls -A)"

# what each tool says it wrote is what it wrote
cat > nic.yaml <<YAML
sim: {max_time: 50us}
processes:
  app:
    pasid: 1
    regions:
      - {va: 0x7f0000000000, size: 64KiB, populate: true}
      - {va: 0x7f0000100000, size: 4MiB, populate: false}
devices:
  nic0: {trace: $SRC/traces/nic_rx.trace.gz, pasid: 1}
YAML
"$BIN" run nic.yaml --out r > r.txt || fail "run"
[ "$(ls r | tr '\n' ' ')" = "config.yaml meta.json stats.csv stats.json " ] || fail "run wrote: $(ls r)"
grep -q "^statistics: r/stats.json, r/stats.csv; the run: r/config.yaml, r/meta.json$" r.txt || fail "run said: $(tail -1 r.txt)"
"$BIN" compare nic.yaml --schemes scimitar,pin --out c > c.txt || fail "compare"
grep -q "^table: c/compare.csv; statistics: c/<scheme>/stats.json, with config.yaml and meta.json$" c.txt || fail "compare said: $(tail -1 c.txt)"
for s in scimitar pin; do
    [ "$(ls c/$s | tr '\n' ' ')" = "config.yaml meta.json stats.csv stats.json " ] || fail "compare wrote c/$s: $(ls c/$s)"
done
[ -f c/compare.csv ] || fail "compare did not write c/compare.csv"
echo "cli_outputs: bad outputs refused before running (run, sweep, compare, trace gen/pack/convert/cat)"

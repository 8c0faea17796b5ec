#!/usr/bin/env bash
# What keeps a sweep's results whole (issue 14):
#  - SIGTERM or SIGINT to a sweep is forwarded to its point runs, which it
#    waits for: no point keeps running after the sweep exits (128+signal),
#    no table is written, and a resume runs the stopped points; a sweep
#    killed with SIGKILL takes its point runs with it too;
#  - a lock file (flock) in the output directory refuses a second sweep on
#    it while the first runs, with exit 1 and a clear message;
#  - a build without MPI started by an MPI launcher with several ranks
#    refuses to run (each rank would run every point);
#  - --plot METRIC, --x and --series, and compare --schemes are checked
#    before any point or scheme runs.
# Points that never end by themselves: a livelock the watchdog would stop
# only after 1000 s (configs/cpu_nic.yaml without device invalidation).
# usage: cli_sweep_guard.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
PIDS=
trap 'for p in $PIDS; do kill -KILL $p 2>/dev/null; done; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1

sed "s|\.\./traces/|$SRC/traces/|" "$SRC/configs/cpu_nic.yaml" > live.yaml
printf 'sweep:\n  parameters:\n    seed: [1, 2, 3]\n' >> live.yaml
LIVE=(--set os.unsafe_skip_device_invalidation=true --set sim.check_invariants=false --set sim.watchdog=1000s)

# children PID: the point runs of a sweep, once two are running
children() {
    for _ in $(seq 100); do
        kids=$(pgrep -P "$1" | tr '\n' ' ')
        [ "$(echo $kids | wc -w)" -ge 2 ] && { echo "$kids"; return 0; }
        sleep 0.1
    done
    return 1
}
for sig in TERM INT; do
    rm -rf s
    "$BIN" sweep live.yaml "${LIVE[@]}" -j 2 --out s --quiet 2> s.err &
    P=$!
    PIDS="$PIDS $P"
    kids=$(children $P) || fail "SIG$sig: the sweep started no point runs"
    PIDS="$PIDS $kids"
    # a second sweep on the same directory is refused while this one runs
    timeout 20 "$BIN" sweep live.yaml "${LIVE[@]}" --out s > second.out 2> second.err; rc=$?
    [ $rc -eq 1 ] || fail "a second sweep on s: exit status $rc, expected 1"
    grep -q "another sweep is running in s (s/sweep.lock is locked; the last sweep to take it was process $P)" \
        second.err || fail "second sweep: $(cat second.err)"
    kill -$sig $P
    wait $P; rc=$?
    if [ $sig = TERM ]; then want=143; else want=130; fi
    [ $rc -eq $want ] || fail "SIG$sig: the sweep exited $rc, expected $want"
    for k in $kids; do
        kill -0 "$k" 2> /dev/null && fail "SIG$sig: point run $k outlived the sweep"
    done
    grep -q "interrupted; the points that finished are kept in s: run the same command again to resume" s.err ||
        fail "SIG$sig: $(cat s.err)"
    [ -e s/sweep.csv ] && fail "SIG$sig: a table was written"
    ls s/points/*/point.txt > /dev/null 2>&1 && fail "SIG$sig: a stopped point was marked done"
done
# a sweep killed outright (SIGKILL: nothing to forward) takes its point
# runs with it (on Linux they ask for SIGTERM on their parent's death)
rm -rf s
"$BIN" sweep live.yaml "${LIVE[@]}" -j 2 --out s --quiet 2> s.err &
P=$!
PIDS="$PIDS $P"
kids=$(children $P) || fail "SIGKILL: the sweep started no point runs"
PIDS="$PIDS $kids"
sleep 1 # past the point runs' start-up, where they ask for the signal
kill -KILL $P
wait $P 2> /dev/null
for k in $kids; do
    for _ in $(seq 50); do kill -0 "$k" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$k" 2> /dev/null && fail "SIGKILL: point run $k outlived the sweep by 5 s"
done
# the lock is gone with the sweep: a short sweep in the same directory runs
sed -i 's/seed: \[1, 2, 3\]/seed: [1]/' live.yaml
cat > short.yaml <<YAML
sim: {max_time: 50us}
processes:
  app:
    pasid: 1
    regions:
      - {va: 0x7f0000000000, size: 64KiB, populate: true}
      - {va: 0x7f0000100000, size: 4MiB, populate: false}
devices:
  nic0: {trace: $SRC/traces/nic_rx.trace.gz, pasid: 1, iotlb: {ways: 4}}
sweep:
  parameters:
    devices.nic0.iotlb.entries: [16, 32]
YAML
"$BIN" sweep short.yaml --out s --quiet || fail "a sweep after the interrupted one"
[ -f s/sweep.csv ] || fail "no table after the interrupted one"

# --plot, --x and --series before any point runs (nothing created)
expect1() { # expect1 WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    timeout 20 "$BIN" "$@" > out.txt 2> err.txt; rc=$?
    [ $rc -eq 1 ] || fail "$what: exit status $rc, expected 1 ($(cat err.txt))"
    grep -qF -- "$msg" err.txt || fail "$what: message: $(cat err.txt)"
}
expect1 "--plot bogus" "plot metric 'nic0.bogus' is not a statistic of this run" \
    sweep short.yaml --out p1 --plot nic0.bogus
expect1 "--x bogus" "plot x 'iommu.walkers' is not a swept parameter" \
    sweep short.yaml --out p2 --plot nic0.iotlb.misses --x iommu.walkers
expect1 "--series bogus" "plot series 'seed' is not a swept parameter" \
    sweep short.yaml --out p3 --plot nic0.iotlb.misses --series seed
expect1 "--plot on a livelock" "plot metric 'nic0.bogus' is not a statistic of this run" \
    sweep live.yaml "${LIVE[@]}" --out p4 --plot nic0.bogus
for d in p1 p2 p3 p4; do [ -e $d ] && fail "$d: created for a bad plot"; done
"$BIN" sweep short.yaml --out p5 --plot nic0.iotlb.misses --quiet || fail "a good --plot"
[ -f p5/plot.svg ] || fail "no plot.svg"

# compare --schemes: the whole list before any scheme runs (exit 2)
for bad in "scimitar,bogus" "pin,pin" "" ","; do
    timeout 20 "$BIN" compare live.yaml "${LIVE[@]}" --schemes "$bad" --out cmp > out.txt 2> err.txt; rc=$?
    [ $rc -eq 2 ] || fail "--schemes '$bad': exit status $rc, expected 2 ($(cat err.txt))"
    grep -q "scimitar compare: .*--schemes" err.txt || fail "--schemes '$bad': $(cat err.txt)"
    [ -e cmp ] && fail "--schemes '$bad' created the output"
done
grep -q "expected a comma-separated list of scimitar, pin, iommu-map" err.txt || fail "--schemes ',': $(cat err.txt)"

# MPI requested from a build without it
if ldd "$BIN" | grep -q libmpi; then
    echo "cli_sweep_guard: built with MPI; the no-MPI refusal is not tested here"
else
    for var in OMPI_COMM_WORLD_SIZE PMI_SIZE; do
        env $var=2 timeout 20 "$BIN" sweep short.yaml --out mpi > out.txt 2> err.txt; rc=$?
        [ $rc -eq 1 ] || fail "$var=2: exit status $rc, expected 1"
        grep -q "started by an MPI launcher with 2 ranks, but this scimitar was built without MPI" err.txt ||
            fail "$var=2: $(cat err.txt)"
        [ -e mpi ] && fail "$var=2: the sweep wrote output"
    done
    OMPI_COMM_WORLD_SIZE=1 "$BIN" sweep short.yaml --out mpi1 --quiet || fail "one MPI rank is a local sweep"
    echo "cli_sweep_guard: MPI launcher without MPI refused"
fi
echo "cli_sweep_guard: signals forwarded and waited for, one sweep per directory, plot and schemes checked first"

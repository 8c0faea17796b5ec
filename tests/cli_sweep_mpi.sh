#!/usr/bin/env bash
# scimitar sweep under mpirun -np 2 when points fail: a point whose
# configuration fails on rank 1 is reported by rank 0 with rank 1's
# message; a point whose results rank 0 cannot store (its directory, its
# stats.json, stats.csv or config.yaml cannot be written) is reported as
# such; the points that worked are in the table, row for row as the same
# sweep run locally; a configuration error is printed once (by rank 0),
# not once per rank. cli_sweep.sh covers the MPI sweep that works.
# usage: cli_sweep_mpi.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

if ! { ldd "$BIN" | grep -q libmpi && command -v mpirun > /dev/null; }; then
    [ "${CI:-}" = true ] && fail "CI must test the MPI sweep: build with libopenmpi-dev and openmpi-bin installed"
    echo "cli_sweep_mpi: MPI not built here; skipped"
    exit 0
fi
# as in cli_sweep.sh: root in containers, no cross-memory attach,
# OpenMPI's own allocations at MPI_Finalize
mpi() {
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none \
        ASAN_OPTIONS=detect_leaks=0 mpirun -np 2 --oversubscribe "$BIN" "$@"
}

# ten points: entries 16..256 (slowest) x max_outstanding 4, 0 (fastest);
# the odd points (max_outstanding 0) fail to build, and rank r runs the
# points k with k % 2 == r: every failing point is rank 1's
{ nic_yaml; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: {pow2: [16, 256]}\n    devices.nic0.max_outstanding: [4, 0]\n'; } \
    > "$T/sw.yaml"
# the reference: the same sweep with local processes (a --set reaches
# every point, in both)
"$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/ref" --quiet --set devices.nic0.iotlb.ways=2 > /dev/null 2> "$T/ref.err" && fail "the local sweep did not fail"
[ "$(grep -c "failed (exit 1)" "$T/ref.err")" -eq 5 ] || fail "local sweep: $(cat "$T/ref.err")"
[ "$(wc -l < "$T/ref/sweep.csv")" -eq 6 ] || fail "local table: $(cat "$T/ref/sweep.csv")"

# rank 0 cannot store point 2 (points/000002 is a file), point 4's
# stats.json, point 6's stats.csv, point 8's config.yaml (directories
# with their names): only point 0 is stored
mkdir -p "$T/mpi/points" "$T/mpi/points/000004/stats.json" "$T/mpi/points/000006/stats.csv" \
    "$T/mpi/points/000008/config.yaml"
: > "$T/mpi/points/000002"
mpi sweep "$T/sw.yaml" --out "$T/mpi" --set devices.nic0.iotlb.ways=2 > "$T/mpi.out" 2> "$T/mpi.err"
rc=$?
[ $rc -eq 1 ] || fail "exit status $rc, expected 1: $(cat "$T/mpi.err")"
grep -qF "scimitar sweep: 10 points, 10 to run, 0 already done; MPI ranks share them" "$T/mpi.err" ||
    fail "what runs: $(cat "$T/mpi.err")"
for p in 1 3 5 7 9; do
    e=$((16 << (p / 2)))
    grep -qF "scimitar sweep: point $p (devices.nic0.iotlb.entries=$e, devices.nic0.max_outstanding=0) failed on rank 1: " \
        "$T/mpi.err" || fail "point $p: $(cat "$T/mpi.err")"
done
# rank 1's message is the one a single run gives
"$BIN" run "$T/sw.yaml" --out "$T/one" --set devices.nic0.max_outstanding=0 2> "$T/one.err" && fail "point 1 alone ran"
msg=$(sed -n 's/^scimitar: //p' "$T/one.err")
[ -n "$msg" ] || fail "no message from the single run: $(cat "$T/one.err")"
grep -qF "point 1 (devices.nic0.iotlb.entries=16, devices.nic0.max_outstanding=0) failed on rank 1: $msg" "$T/mpi.err" ||
    fail "rank 1's message is not the run's ($msg): $(cat "$T/mpi.err")"
for p in 2 4 6 8; do
    e=$((16 << (p / 2)))
    grep -qF "scimitar sweep: point $p (devices.nic0.iotlb.entries=$e, devices.nic0.max_outstanding=4) failed on rank 0: cannot write its statistics" \
        "$T/mpi.err" || fail "point $p: $(cat "$T/mpi.err")"
done
[ "$(grep -c "failed on rank" "$T/mpi.err")" -eq 9 ] || fail "failures: $(cat "$T/mpi.err")"
grep -qF "sweep: 10 points (1 run, 0 skipped, 9 failed)" "$T/mpi.out" || fail "summary: $(cat "$T/mpi.out")"
# the one stored point's row is the local sweep's; the points stored in
# part (6: stats.json, 8: stats.json and stats.csv) have no row (once a
# row of empty values for 6, and 8's values as if it had worked)
[ "$(wc -l < "$T/mpi/sweep.csv")" -eq 2 ] || fail "table: $(cat "$T/mpi/sweep.csv")"
[ "$(sed -n 2p "$T/mpi/sweep.csv")" = "$(sed -n 2p "$T/ref/sweep.csv")" ] || fail "point 0's row differs from the local run"
[ -e "$T/mpi/points/000002" ] && [ ! -d "$T/mpi/points/000002" ] || fail "the file in point 2's place was touched"

# a configuration error under mpirun: exit 1, said once
mpi sweep "$T/none.yaml" --out "$T/none" > /dev/null 2> "$T/none.err" && fail "a missing configuration ran"
[ "$(grep -c "none.yaml" "$T/none.err")" -eq 1 ] || fail "not said once: $(cat "$T/none.err")"
[ -e "$T/none" ] && fail "output directory created"
echo "cli_sweep_mpi: ok"

#!/usr/bin/env bash
# Per translated page: events, instructions and host ns, for the hit- and
# miss-dominated workloads, a 64-tenant run and two devices' hits (every
# hop an event: never a device alone) of bench_translate, so that a
# regression shows as a number rather than as seconds.
#
#   bench/run.sh [BUILD_DIR] [DMAS] [NATIVE_DMAS] [-- bench_translate options, e.g. --no-fast]
#
# events       sim.events / translated pages (deterministic): the model's
#              events, the same with sim.fast_path on or off
# ran          events the kernel executed / translated pages (fewer with
#              the fast path, and by the dormant replay pumps)
# instr        instructions executed inside scim_sim_run (valgrind
#              callgrind, --toggle-collect), / translated pages; does not
#              depend on machine load. DMAS DMAs (default 100,000).
# host ns      thread CPU time of scim_sim_run / translated pages, native
#              backend, NATIVE_DMAS DMAs (default 1,000,000), best of 3.
# Also: `cmake --build build --target bench`.
set -euo pipefail
build=${1:-build}
dmas=${2:-100000}
native_dmas=${3:-1000000}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
bin=$build/bench_translate
[ -x "$bin" ] || { echo "run.sh: $bin not found; build first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "run.sh: valgrind is needed for instruction counts" >&2; exit 1; }
export SC_COPYRIGHT_MESSAGE=DISABLE

# "workload hit% rate floor ratio events/page ns/page" line of bench_translate
row() { "$bin" "$1" native -w "$2" --no-floor "${@:3}" "${extra[@]}" | awk -v w="$2" '$1 == w'; }

printf '%-10s %10s %12s %10s %12s %12s\n' workload "IOTLB hit" events/page ran/page instr/page "host ns/page"
for w in hit miss tenants64 hit2dev; do
    out=$(mktemp)
    valgrind --tool=callgrind --toggle-collect=scim_sim_run --callgrind-out-file=/dev/null \
        "$bin" "$dmas" native -w "$w" --no-floor "${extra[@]}" >"$out" 2>"$out.err"
    line=$(awk -v w="$w" '$1 == w' "$out")
    ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out.err")
    hit=$(echo "$line" | awk '{ print $2 }')
    events=$(echo "$line" | awk '{ print $6 }')
    ran=$(echo "$line" | awk '{ print $8 }')
    rm -f "$out" "$out.err"
    # pages translated = DMAs (each 64-byte DMA touches one page)
    instr=$(awk -v ir="$ir" -v n="$dmas" 'BEGIN { printf "%.0f", ir / n }')
    best=$(row "$native_dmas" "$w" --repeat 3 | awk '{ print $7 }')
    printf '%-10s %10s %12s %10s %12s %12s\n' "$w" "$hit" "$events" "$ran" "$instr" "$best"
done

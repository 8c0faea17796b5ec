#!/usr/bin/env bash
# A profile-guided (PGO) Release build, for long hit-dominated runs and
# sweeps: 8-9% fewer instructions per simulated DMA than the plain Release
# build; on the 2-core build machine hits ran 5-10% faster and misses 5-8%
# slower (docs/testing.md, "Round 6"): measure your own workload with
# `bench/run.sh build-pgo` before relying on it. Statistics are those of the
# plain build: the same C code, only compiled with measured branch and call
# frequencies; the script checks that on the golden runs before it ends.
#
#   scripts/pgo.sh [BUILD_DIR]          (default build-pgo)
#
# Two passes in one build directory, so the profiles sit beside the
# objects they describe: SCIM_PGO=generate builds instrumented programs, a
# training run (bench_translate's hit, miss and 64-tenant workloads and the
# bundled default configuration) writes the profiles, SCIM_PGO=use rebuilds
# from them. About twice the time of a plain build. Needs the packages of
# scripts/setup.sh (run it first on a fresh machine) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-pgo}
export SC_COPYRIGHT_MESSAGE=DISABLE
jobs=$(nproc)

step() { echo "pgo: $*" >&2; }

step "1/4 instrumented build in $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSCIM_PGO=generate >/dev/null
# profiles of an earlier training would be merged into this one's
find "$dir" -name '*.gcda' -delete
cmake --build "$dir" -j "$jobs" --target scimitar_cli bench_translate >/dev/null

step "2/4 training run"
train=$(mktemp -d)
trap 'rm -rf "$train"' EXIT
"$dir/bench_translate" 200000 native -w hit,miss,tenants64 --no-floor >/dev/null
"$dir/bench_translate" 50000 systemc -w hit,miss --no-floor >/dev/null
"$dir/scimitar" run configs/default.yaml --out "$train/default" --quiet >/dev/null
n=$(find "$dir" -name '*.gcda' | wc -l)
[ "$n" -gt 0 ] || { echo "pgo: the training wrote no profiles" >&2; exit 1; }

step "3/4 optimised build from $n profiles"
cmake -S . -B "$dir" -DSCIM_PGO=use >/dev/null
# the programs and libraries users run (the test runners build here too,
# without profiles, with `cmake --build $dir`)
cmake --build "$dir" -j "$jobs" --target scimitar_cli scimitar scimitar_shared bench_translate bench_kernel >/dev/null

step "4/4 golden statistics"
python3 scripts/golden.py compare "$dir/scimitar" tests/golden/stats.json.gz >/dev/null ||
    { echo "pgo: the PGO build's statistics differ from the golden runs (python3 scripts/golden.py compare $dir/scimitar tests/golden/stats.json.gz)" >&2; exit 1; }
step "built $dir/scimitar and $dir/bench_translate (profile-guided)"

#!/usr/bin/env bash
# What CI runs (.ci/run): set up, then two checks of the whole code base.
#  1. AddressSanitizer + UBSan + LeakSanitizer build (build-asan/,
#     warnings as errors) and the whole ctest suite: Check runners, CLI
#     shell tests, golden statistics.
#  2. scripts/memcheck.sh: a Debug build (build-debug/) whose fast Check
#     runners run under valgrind memcheck, for what the sanitizers cannot
#     see (reads of uninitialised memory). The slow runners are left to
#     step 1; `scripts/memcheck.sh --all` runs them too.
# SCIM_MEMCHECK=0 skips step 2 (a quick local run). Arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
# OpenMPI (sweeps under mpirun) and python3 (checks of CSV/SVG output) are
# for the tests only; the simulator itself needs neither.
SCIM_EXTRA_PKGS="libopenmpi-dev openmpi-bin python3 ${SCIM_EXTRA_PKGS:-}" \
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DSCIM_SANITIZE=ON -DSCIM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SC_COPYRIGHT_MESSAGE=DISABLE
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" "$@"
echo "test: sanitizers done in $(($(date +%s) - t0)) s" >&2
if [ "${SCIM_MEMCHECK:-1}" != 0 ]; then
  t1=$(date +%s)
  scripts/memcheck.sh
  echo "test: memcheck done in $(($(date +%s) - t1)) s; total $(($(date +%s) - t0)) s" >&2
fi

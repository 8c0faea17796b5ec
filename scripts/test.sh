#!/usr/bin/env bash
# Set up, build with AddressSanitizer + UBSan, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMPI (sweeps under mpirun) and python3 (checks of CSV/SVG output) are
# for the tests only; the simulator itself needs neither.
SCIM_EXTRA_PKGS="libopenmpi-dev openmpi-bin python3 ${SCIM_EXTRA_PKGS:-}" \
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DSCIM_SANITIZE=ON -DSCIM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SC_COPYRIGHT_MESSAGE=DISABLE
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" "$@"

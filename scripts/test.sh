#!/usr/bin/env bash
# Set up, build with AddressSanitizer + UBSan, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo \
  CMAKE_ARGS="-DSCIM_SANITIZE=ON -DSCIM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export SC_COPYRIGHT_MESSAGE=DISABLE
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" "$@"

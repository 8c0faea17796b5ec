#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/fuzz_*.c) with clang + ASan/UBSan and
# run each for a number of seconds.
#   scripts/fuzz.sh            -> every target, 60 s each
#   scripts/fuzz.sh 300        -> every target, 300 s each
#   scripts/fuzz.sh 120 trace  -> fuzz_trace only
# New inputs libFuzzer finds go to build-fuzz/corpus-work/<name>/ (kept
# between runs, never committed); the seeds in fuzz/corpus/<name>/ are only
# read. A crash is written to build-fuzz/crash-* and fails the script; add a
# minimized copy (-minimize_crash=1) to fuzz/corpus/<name>/ once fixed, so
# that tests/test_fuzz_corpus.c replays it in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
ONLY=("$@")

# clang (libFuzzer) and the build dependencies, only those missing
PKGS=(clang cmake pkg-config libsystemc-dev libyaml-dev zlib1g-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null || ((${#missing[@]})); then
  ((${#missing[@]})) || missing=(clang)
  echo "fuzz: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# libFuzzer's runtime is a separate package on recent Debian/Ubuntu
# (libclang-rt-N-dev, only recommended by clang)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > "$probe/p.c"
if ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
  v=$(clang -dumpversion | cut -d. -f1)
  echo "fuzz: installing libclang-rt-$v-dev (libFuzzer runtime)" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "libclang-rt-$v-dev" >/dev/null
fi

BUILD_DIR=${BUILD_DIR:-build-fuzz}
cmake -S . -B "$BUILD_DIR" -DSCIM_FUZZ=ON -DSCIM_SANITIZE=ON -DSCIM_TESTS=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  short=${name#fuzz_}
  if ((${#ONLY[@]})) && [[ ! " ${ONLY[*]} " == *" $short "* && ! " ${ONLY[*]} " == *" $name "* ]]; then
    continue
  fi
  targets+=("$name")
done
((${#targets[@]})) || { echo "fuzz: no target matches ${ONLY[*]}" >&2; exit 2; }
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${targets[@]}" >/dev/null

export SC_COPYRIGHT_MESSAGE=DISABLE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for name in "${targets[@]}"; do
  short=${name#fuzz_}
  work="$BUILD_DIR/corpus-work/$short"
  mkdir -p "$work"
  echo "fuzz: $name for ${SECS}s (seeds fuzz/corpus/$short, new inputs $work)" >&2
  if ! "$BUILD_DIR/$name" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
       -artifact_prefix="$BUILD_DIR/" "$work" "fuzz/corpus/$short" 2>"$BUILD_DIR/$name.log"; then
    echo "fuzz: $name FAILED; see $BUILD_DIR/$name.log and $BUILD_DIR/crash-*" >&2
    status=1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^Done' "$BUILD_DIR/$name.log" >&2 || true
done
exit $status

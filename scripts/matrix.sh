#!/usr/bin/env bash
# Build and test every build type with every compiler, warnings as errors.
#   scripts/matrix.sh                      -> gcc and clang × Release, Debug, RelWithDebInfo,
#                                             and gcc Release without MPI (gcc:Release:nompi)
#   scripts/matrix.sh clang:Debug gcc:Release   -> only those cells
# A cell ending in :nompi is configured with -DSCIM_MPI=OFF (scimitar sweep
# without MPI support, as on a machine without OpenMPI): the code that only
# MPI builds use must not leave unused functions behind.
# Each cell is its own build directory, build-matrix/<compiler>-<type>/,
# configured with -DSCIM_WERROR=ON and tested with the whole ctest suite
# (golden statistics included: every build must give the same numbers).
# Prints one line per cell and a table at the end; exits 1 if any cell
# failed (its log is build-matrix/<cell>.log). Not part of CI by default:
# the six builds and suites take about half an hour on 2 cores
# (docs/testing.md).
set -uo pipefail
cd "$(dirname "$0")/.."

cells=("$@")
if ((${#cells[@]} == 0)); then
  for cc in gcc clang; do
    for type in Release Debug RelWithDebInfo; do cells+=("$cc:$type"); done
  done
  cells+=("gcc:Release:nompi")
fi

# clang only if a cell asks for it; installed like the other dependencies.
need=(build-essential cmake pkg-config libsystemc-dev libyaml-dev zlib1g-dev check libopenmpi-dev openmpi-bin python3)
for c in "${cells[@]}"; do [[ $c == clang:* ]] && need+=(clang) && break; done
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "matrix: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export SC_COPYRIGHT_MESSAGE=DISABLE
mkdir -p build-matrix
results=()
failed=0
for cell in "${cells[@]}"; do
  cc=${cell%%:*}
  type=${cell#*:}
  extra=()
  name=$cc-$type
  if [[ $type == *:nompi ]]; then
    type=${type%:nompi}
    extra=(-DSCIM_MPI=OFF)
    name=$cc-$type-nompi
  fi
  case $cc in
    gcc) cxx=g++ ;;
    clang) cxx=clang++ ;;
    *) echo "matrix: unknown compiler '$cc' (gcc or clang)" >&2; exit 2 ;;
  esac
  case $type in
    Release | Debug | RelWithDebInfo | MinSizeRel) ;;
    *) echo "matrix: unknown build type '$type'" >&2; exit 2 ;;
  esac
  dir=build-matrix/$name
  log=build-matrix/$name.log
  t0=$(date +%s)
  step=configure
  {
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
      -DSCIM_WERROR=ON "${extra[@]}" &&
      step=build && cmake --build "$dir" -j "$(nproc)" &&
      step=ctest && ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" &&
      step=ok
  } >"$log" 2>&1
  secs=$(($(date +%s) - t0))
  if [ "$step" = ok ]; then
    line="$(printf '%-22s pass  %4d s' "${name//-/ }" "$secs")"
  else
    failed=1
    line="$(printf '%-22s FAIL  %4d s  (%s; see %s)' "${name//-/ }" "$secs" "$step" "$log")"
  fi
  echo "matrix: $line" >&2
  results+=("$line")
done
echo
printf '%s\n' "${results[@]}"
exit $failed

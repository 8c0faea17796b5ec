#!/usr/bin/env bash
# Build Debug and run the Check runners under valgrind memcheck: reads of
# uninitialised memory, invalid reads and writes, bad frees — the first of
# which AddressSanitizer does not see at all.
#   scripts/memcheck.sh                 -> every runner but the slow ones (CI)
#   scripts/memcheck.sh --all           -> every runner (about 20 min on 2 cores)
#   scripts/memcheck.sh test_tlb ...    -> those runners
# Environment: BUILD_DIR (build-debug), JOBS (nproc), ORIGINS=0 to leave out
# --track-origins (about twice as fast, less helpful messages).
#
# Check's fork mode stays on: every test case runs in a child that fork()s
# from the runner, and valgrind follows fork() by itself (the child is the
# same process image under the same valgrind), so --trace-children is not
# needed; it only matters for exec(), and the runners exec nothing of ours
# (only sh/rm/gzip through system()), which we leave unchecked.
# CK_FORK=no is not an option: the SystemC kernel cannot be elaborated
# twice in a process, and one bad case would take the others with it.
# A child with an error exits with --error-exitcode, which Check reports as
# the case's error ("Early exit with return value 99"); its report is in
# BUILD_DIR/memcheck/<runner>.<pid>.log, and any non-empty log fails too.
# Leaks are LeakSanitizer's job in scripts/test.sh (--leak-check=no here:
# a forked child that exits without freeing its parent's state is not a leak).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-debug}
JOBS=${JOBS:-$(nproc)}
ORIGINS=${ORIGINS:-1}
# Too slow under memcheck for every CI run (measured on 2 cores: several
# minutes each under load; on a quiet machine test_trace_binary takes 22 s
# and test_config_aliases, which parses two documents of a million nodes,
# 22 s, as test_walker 24 s and test_schemes 12 s); scripts/test.sh runs
# them under ASan, --all runs them here. The test_oom_* runners repeat a
# whole build or run once per allocation (thousands of times). test_kslot
# (49 s: random event trees of 20,000 events against a reference, 16 times)
# and test_faultpath (45 s) run the kernel and the fault path that the
# other runners here run too; so does test_kqueue (50 s: random queues
# against a brute-force model). test_config_errors (39 s) parses hundreds of
# bad configurations, which the fuzz corpus and ASan cover. test_rss (67 s)
# runs the CLI in child processes, which memcheck does not follow: under it
# only the test's own few lines are checked, for a minute of CI. The warm-up's
# twin runners (test_warm_walker 73 s, test_warm_os 49 s, test_warm_os_ops
# 75 s, test_warm_os_reclaim, test_warm_nested 18 s) and its whole-system
# runners (test_warm 34 s, 38 cases; test_warm_vm) drive the same walker,
# core, OS and driver code as the timed runners here; ASan and UBSan run
# all seven in scripts/test.sh.
SLOW=(test_sample_fork test_warm test_warm_walker test_warm_nested test_warm_vm test_warm_os test_warm_os_ops test_warm_os_reclaim test_rss test_design test_e2e test_oom_sim test_pagetable test_tracegen test_progress
      test_tlb_index test_os test_ptfmt test_physmem test_short_writes test_oom
      test_kernel test_trace_text test_trace_binary test_walker test_schemes
      test_config_aliases test_oom_vm test_oom_run test_oom_build test_oom_writers
      test_kslot test_faultpath test_kqueue test_config_errors)
# Never under memcheck: the initiators of test_tlm, test_tlm_edges and
# test_tlm_errors are SC_THREADs (TLM's b_transport may wait()), and
# SystemC 2.3.4 runs SC_THREADs on QuickThreads
# stacks it does not register with valgrind (VALGRIND_STACK_REGISTER), so
# every read on such a stack is reported as uninitialised (330 reports in
# SystemC, libstdc++ and our adapter alike, all with the origin "a stack
# allocation" at the coroutine switch). No suppression could tell a real
# error from those; ASan runs it in scripts/test.sh.
NEVER=(test_tlm test_tlm_edges test_tlm_errors)

SCIM_EXTRA_PKGS="valgrind ${SCIM_EXTRA_PKGS:-}" BUILD_DIR=$BUILD_DIR BUILD_TYPE=Debug \
  CMAKE_ARGS="-DSCIM_WERROR=ON ${CMAKE_ARGS:-}" scripts/setup.sh

runners=()
if (($# == 0)) || [ "$1" = --all ]; then
  for t in "$BUILD_DIR"/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    if (($# == 0)) && [[ " ${SLOW[*]} " == *" $name "* ]]; then continue; fi
    if [[ " ${NEVER[*]} " == *" $name "* ]]; then continue; fi
    runners+=("$name")
  done
else
  runners=("$@")
fi

LOGS=$BUILD_DIR/memcheck
rm -rf "$LOGS"
mkdir -p "$LOGS"
VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --quiet
  --suppressions="$PWD/scripts/valgrind.supp" --log-file="$PWD/$LOGS/%q{RUNNER}.%p.log")
if [ "$ORIGINS" = 1 ]; then VG+=(--track-origins=yes); fi
export SC_COPYRIGHT_MESSAGE=DISABLE
# a case's time limit (CK_DEFAULT_TIMEOUT, 120 s under ctest) is for native
# speed; memcheck runs 20 to 50 times slower
export CK_DEFAULT_TIMEOUT=120 CK_TIMEOUT_MULTIPLIER=20

run_one() {
  local name=$1 t0 rc=0
  t0=$(date +%s)
  (cd "$BUILD_DIR" && RUNNER=$name "${VG[@]}" "./$name") > "$LOGS/$name.out" 2>&1 || rc=$?
  echo "$rc $(($(date +%s) - t0))" > "$LOGS/$name.status"
}

t0=$(date +%s)
running=0
for name in "${runners[@]}"; do
  [ -x "$BUILD_DIR/$name" ] || { echo "memcheck: no runner $BUILD_DIR/$name" >&2; exit 2; }
  run_one "$name" &
  running=$((running + 1))
  if ((running >= JOBS)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
for name in "${runners[@]}"; do
  read -r rc secs < "$LOGS/$name.status"
  # --quiet: a log holds nothing but errors (and warnings, which fail too)
  reports=$(find "$LOGS" -name "$name.*.log" -size +0 | wc -l)
  if [ "$rc" != 0 ] || [ "$reports" != 0 ]; then
    failed=1
    printf 'memcheck: %-20s FAIL (exit %s, %s processes reported, %3d s)\n' "$name" "$rc" "$reports" "$secs"
    tail -n 5 "$LOGS/$name.out" | sed 's/^/    /'
    for log in "$LOGS/$name".*.log; do
      [ -s "$log" ] && { echo "    --- $log"; head -n 40 "$log" | sed 's/^/    /'; }
    done
  else
    printf 'memcheck: %-20s ok (%3d s)\n' "$name" "$secs"
  fi
done
echo "memcheck: ${#runners[@]} runners in $(($(date +%s) - t0)) s$( ((failed)) && echo ", FAILED" || true)"
exit $failed

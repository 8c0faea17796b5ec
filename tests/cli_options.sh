#!/usr/bin/env bash
# The CLI's options and usage errors (tools/main.c), and the summary that
# `scimitar run` prints: every number in it is read back and compared with
# the run's own stats.json (tests/summary_check.py), for a device-only run
# and for a CPU + device run under each scheme with the checker on.
# usage: cli_options.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --version prints the version CMakeLists.txt declares
want=$(sed -n 's/^project(scimitar VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$want" ] || fail "no project version in CMakeLists.txt"
for v in --version version; do
    [ "$("$BIN" $v)" = "scimitar $want" ] || fail "$v printed '$("$BIN" $v)', expected 'scimitar $want'"
done

# help on stdout with exit 0; every command it names is one main() knows
for h in --help -h help; do
    "$BIN" $h > "$T/help" 2> "$T/err" || fail "$h exit status"
    [ -s "$T/err" ] && fail "$h wrote to stderr"
    for c in run check sweep compare trace doc; do
        grep -q "scimitar $c " "$T/help" || fail "$h does not name '$c'"
    done
done
"$BIN" > /dev/null 2> "$T/err"; [ $? -eq 2 ] || fail "no command: exit status, expected 2"
grep -q "^usage: scimitar run" "$T/err" || fail "no command: no usage on stderr"

# usage errors of run/check/doc exit 2 and write nothing
expect2() { # expect2 WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    (cd "$T" && "$BIN" "$@") > "$T/out" 2> "$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "$what: exit status $rc, expected 2"
    grep -q -- "$msg" "$T/err" || fail "$what: message: $(cat "$T/err")"
}
CFG=$SRC/configs/default.yaml
expect2 "unknown run option" "unknown option '--fast'" run "$CFG" --fast
expect2 "two configurations" "more than one configuration given ('$CFG', 'other.yaml')" run "$CFG" other.yaml
expect2 "check without config" "check needs a configuration file" check
expect2 "check takes no --out" "unknown option '--out'" check "$CFG" --out "$T/o"
expect2 "check takes no --quiet" "unknown option '--quiet'" check "$CFG" --quiet
expect2 "--set without a value" "scimitar: --set needs a value" run "$CFG" --set
expect2 "doc without a subject" "usage: scimitar doc config|stats" doc
expect2 "doc of something else" "usage: scimitar doc config|stats" doc traces
expect2 "doc with two subjects" "usage: scimitar doc config|stats" doc config stats
[ -e "$T/out" ] && [ -s "$T/out" ] && fail "a usage error wrote to stdout"
[ -e "$T/o" ] && fail "a usage error created an output directory"

# a configuration that cannot be read: exit 1, its path in the message
"$BIN" run "$T/none.yaml" --quiet --out "$T/none" 2> "$T/err"; [ $? -eq 1 ] || fail "missing config: exit status"
grep -q "cannot open configuration $T/none.yaml" "$T/err" || fail "missing config message: $(cat "$T/err")"
# statistics that cannot be written: exit 1, the path and a fix
: > "$T/file"
"$BIN" run "$CFG" --quiet --out "$T/file/sub" 2> "$T/err"; [ $? -eq 1 ] || fail "unwritable --out: exit status"
# (checked before the run, issue 14; tests/cli_outputs.sh has the other cases)
grep -q "cannot create output directory $T/file/sub: $T/file is a file, not a directory; give another --out DIR" \
    "$T/err" || fail "unwritable --out message: $(cat "$T/err")"

# --set=K=V is --set K V; the same statistics either way
"$BIN" run "$CFG" --quiet --out "$T/s1" --set devices.nic0.iotlb.entries=64 || fail "--set K=V run"
"$BIN" run "$CFG" --quiet --out "$T/s2" --set=devices.nic0.iotlb.entries=64 || fail "--set=K=V run"
cmp -s "$T/s1/stats.json" "$T/s2/stats.json" || fail "--set=K=V and --set K=V differ"
cmp -s "$T/s1/stats.json" <("$BIN" run "$CFG" --quiet --out "$T/s3" && cat "$T/s3/stats.json") &&
    fail "--set=K=V had no effect"
"$BIN" run "$CFG" --quiet --out "$T/s4" --set=devices.nic0.iotlb.entires=64 2> "$T/err" && fail "--set= of a bad key accepted"
grep -q "did you mean 'entries'" "$T/err" || fail "--set= bad key message: $(cat "$T/err")"

# without --out, statistics go to out/<config name without .yaml/.yml>
mkdir -p "$T/cwd" "$T/cfg"
sed "s#\.\./traces/#$SRC/traces/#" "$CFG" > "$T/cfg/rx.yaml"
cp "$T/cfg/rx.yaml" "$T/cfg/rx2.yml"
cp "$T/cfg/rx.yaml" "$T/cfg/rx3.conf"
cp "$T/cfg/rx.yaml" "$T/cfg/plain"
(cd "$T/cwd" && for c in rx.yaml rx2.yml rx3.conf plain; do "$BIN" run "../cfg/$c" --quiet || exit 1; done) ||
    fail "runs without --out"
for d in rx rx2 rx3.conf plain; do
    [ -s "$T/cwd/out/$d/stats.json" ] || fail "no default output out/$d/ ($(ls "$T/cwd/out" | tr '\n' ' '))"
done
cmp -s "$T/cwd/out/rx/stats.json" "$T/cwd/out/plain/stats.json" || fail "the same config gave different stats"

# the summary reports the run's statistics (device only; CPU + device under
# each scheme, with the invariant checker's line)
(cd "$T/cwd" && "$BIN" run ../cfg/rx.yaml --out "$T/sum0") > "$T/sum0.txt" || fail "run with summary"
python3 "$SRC/tests/summary_check.py" "$T/sum0.txt" "$T/sum0/stats.json" scimitar 0 || fail "summary of default.yaml"
for scheme in scimitar pin iommu-map; do
    "$BIN" run "$SRC/configs/cpu_nic.yaml" --out "$T/sum-$scheme" --set scheme=$scheme \
        --set sim.check_invariants=true > "$T/sum-$scheme.txt" || fail "cpu_nic under $scheme"
    python3 "$SRC/tests/summary_check.py" "$T/sum-$scheme.txt" "$T/sum-$scheme/stats.json" $scheme 1 ||
        fail "summary of cpu_nic under $scheme"
done
# an open-loop trace faster than the device: the summary says it fell behind
# (the closed-loop runs above do not: summary_check.py requires the line
# exactly when a wait reaches a tenth of the run)
"$BIN" trace gen nic-rx --count 20000 --timing abs -o "$T/abs.trace.gz" > /dev/null || fail "trace gen"
sed "s#../traces/nic_rx.trace.gz#$T/abs.trace.gz#" "$SRC/configs/default.yaml" > "$T/abs.yaml"
"$BIN" run "$T/abs.yaml" --out "$T/sum-abs" > "$T/sum-abs.txt" || fail "open-loop run"
grep -q "^      nic0 fell behind its trace: requests waited up to .* ms (mean .*) after the trace made them eligible" \
    "$T/sum-abs.txt" || fail "no line that nic0 fell behind: $(cat "$T/sum-abs.txt")"
python3 "$SRC/tests/summary_check.py" "$T/sum-abs.txt" "$T/sum-abs/stats.json" scimitar 0 ||
    fail "summary of an open-loop run"

# compare: help, usage errors, --set reaching every scheme's run
"$BIN" compare --help > "$T/help" || fail "compare --help exit status"
grep -q "^usage: scimitar compare CONFIG.yaml" "$T/help" || fail "compare --help: $(cat "$T/help")"
expect2 "compare with two configurations" "unexpected argument 'other.yaml'" compare "$CFG" other.yaml
expect2 "compare with an unknown option" "unexpected argument '--fast'" compare "$CFG" --fast
"$BIN" compare "$CFG" --schemes scimitar,pin --set sim.max_time=50us --out "$T/cmp" > "$T/cmp.txt" ||
    fail "compare --set"
grep -q "^simulated time (ms) *0.05 *0.05$" "$T/cmp.txt" || fail "--set did not reach both schemes: $(cat "$T/cmp.txt")"
"$BIN" run "$CFG" --quiet --out "$T/cmp1" --set sim.max_time=50us --set scheme=pin || fail "pin run"
cmp -s "$T/cmp1/stats.json" "$T/cmp/pin/stats.json" || fail "compare --set column differs from run --set"

# --help of every command and subcommand: exit 0, the usage on stdout,
# nothing on stderr (issue 14); -h alike
for cmd in "run" "check" "sweep" "compare" "validate" "doc" "trace" "trace cat" "trace pack" "trace convert" \
    "trace stats" "trace gen" "trace gen nic-rx" "trace import" "trace import lackey" "trace import strace" \
    "trace locality"; do
    for h in --help -h; do
        "$BIN" $cmd $h > "$T/h.out" 2> "$T/h.err"; rc=$?
        [ $rc -eq 0 ] || fail "$cmd $h: exit status $rc"
        [ -s "$T/h.err" ] && fail "$cmd $h wrote to stderr: $(cat "$T/h.err")"
        grep -qi "usage\|options" "$T/h.out" || fail "$cmd $h: $(head -3 "$T/h.out")"
    done
done
# with other arguments before it, --help still only prints the usage
"$BIN" run "$CFG" --out "$T/never" --help > "$T/h.out" || fail "run CFG --help"
[ -e "$T/never" ] && fail "run --help ran"

# --quiet prints nothing at all
"$BIN" run "$CFG" --quiet --out "$T/q" > "$T/q.txt" 2>&1 || fail "--quiet run"
[ -s "$T/q.txt" ] && fail "--quiet printed: $(head -3 "$T/q.txt")"
echo "cli_options: ok"

#!/usr/bin/env bash
# scimitar sweep when its output directory cannot take what it writes: a
# lock file that cannot be made, a lock held by another program, a point
# whose directory or log cannot be made (reported with the system's reason,
# the other points finish), a point whose statistics went missing (run
# again on resume, and only it), a table or plot that cannot be written
# (exit 1 with the reason, no "sweep:" line claiming files); and the
# command's own edges: an empty -j, a missing configuration, a second --set
# after a bad one, the default output of a configuration in the working
# directory. Messages and exit statuses are the expected values, the rows
# of a clean sweep the reference for the rows that were written.
# cli_sweep.sh, cli_sweep_opts.sh and cli_sweep_guard.sh cover normal runs.
# usage: cli_sweep_fail.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

{ nic_yaml; printf 'sweep:\n  parameters:\n    devices.nic0.iotlb.entries: [4, 8]\n'; } > "$T/sw.yaml"
# the reference: a clean sweep of the same two points
"$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/ref" --quiet || fail "reference sweep"
[ "$(wc -l < "$T/ref/sweep.csv")" -eq 3 ] || fail "reference table: $(cat "$T/ref/sweep.csv")"
row() { sed -n "$(($2 + 2))p" "$1/sweep.csv"; } # row of point $2

# exit status $1 with stderr holding $2 (fixed string), for command "${@:3}"
expect() {
    local want=$1 msg=$2
    shift 2
    "$@" > "$T/out" 2> "$T/err"
    local rc=$?
    [ $rc -eq "$want" ] || fail "$*: exit status $rc, expected $want: $(cat "$T/err")"
    grep -qF -- "$msg" "$T/err" || fail "$*: message: $(cat "$T/err")"
}

# usage: an empty -j is not one process
expect 2 "scimitar sweep: -j needs a number of processes from 1 to 4096, not ''" \
    "$BIN" sweep "$T/sw.yaml" -j "" --out "$T/u1"
[ -e "$T/u1" ] && fail "a usage error created the output directory"
# a configuration that is not there: its name, nothing made
expect 1 "$T/none.yaml" "$BIN" sweep "$T/none.yaml" --out "$T/u2"
[ -e "$T/u2" ] && fail "a missing configuration created the output directory"
# the first bad --set is the one reported; the next is not tried
expect 1 "unknown key 'devices.nic0.iotbl'" \
    "$BIN" sweep "$T/sw.yaml" --out "$T/u3" --set devices.nic0.iotbl.entries=8 --set devices.nic0.nope=1
grep -q "nope" "$T/err" && fail "the --set after a bad one was tried: $(cat "$T/err")"

# the lock file cannot be made (a directory has its name): nothing runs
mkdir -p "$T/lk/sweep.lock"
expect 1 "scimitar sweep: cannot create $T/lk/sweep.lock: Is a directory" \
    "$BIN" sweep "$T/sw.yaml" --out "$T/lk" --quiet
[ -e "$T/lk/points" ] && fail "a sweep without its lock ran points"

# the lock held by another program, which wrote no process id: refused,
# without naming a process
mkdir -p "$T/fl"
: > "$T/fl/sweep.lock"
exec 9< "$T/fl/sweep.lock" # this shell holds the lock: no process to clean up
flock -n 9 || fail "cannot take the lock for the test"
expect 1 "scimitar sweep: another sweep is running in $T/fl ($T/fl/sweep.lock is locked); wait for it to finish, or give another --out DIR" \
    "$BIN" sweep "$T/sw.yaml" --out "$T/fl" --quiet 9<&-
exec 9<&-
grep -q "last sweep to take it" "$T/err" && fail "an empty lock file named a process: $(cat "$T/err")"
[ -e "$T/fl/points" ] && fail "a refused sweep ran points"

# no point directory can be made (points is a file): each point is
# reported with the reason, the sweep fails, the table has no row
mkdir -p "$T/nd"
: > "$T/nd/points"
expect 1 "scimitar sweep: point 0 (devices.nic0.iotlb.entries=4) could not be started: Not a directory" \
    "$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/nd" --quiet
grep -qF "point 1 (devices.nic0.iotlb.entries=8) could not be started: Not a directory" "$T/err" ||
    fail "point 1 not reported: $(cat "$T/err")"
grep -qF "sweep: 2 points (0 run, 0 skipped, 2 failed)" "$T/out" || fail "summary: $(cat "$T/out")"
[ "$(wc -l < "$T/nd/sweep.csv")" -eq 1 ] || fail "rows for points that never ran: $(cat "$T/nd/sweep.csv")"

# one point's log cannot be opened (a directory has its name): that point
# is reported with the reason (posix_spawn's error, once reported as
# whatever errno held), the other one runs and its row is the reference's
mkdir -p "$T/nl/points/000001/log.txt"
expect 1 "scimitar sweep: point 1 (devices.nic0.iotlb.entries=8) could not be started: Is a directory" \
    "$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/nl" --quiet
[ "$(grep -c "could not be started" "$T/err")" -eq 1 ] || fail "point 0 not started: $(cat "$T/err")"
[ "$(row "$T/nl" 0)" = "$(row "$T/ref" 0)" ] || fail "the point that ran differs from the reference"

# a finished point whose stats.csv went missing runs again on resume, and
# only it; its row is as before
cp -r "$T/ref" "$T/rs"
rm -f "$T/rs/sweep.lock" "$T/rs/points/000001/stats.csv"
"$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/rs" > /dev/null 2> "$T/err" || fail "resume: $(cat "$T/err")"
grep -qF "2 points, 1 to run, 1 already done" "$T/err" || fail "resume ran: $(cat "$T/err")"
cmp -s "$T/rs/sweep.csv" "$T/ref/sweep.csv" || fail "resumed table differs from the reference"

# a point that fails after its values changed keeps the stats.csv of its
# earlier values: the table has no row for it (once a row with the new
# values and the old statistics)
sed 's/entries: \[4, 8\]/entries: [4, 8]\n    devices.nic0.max_outstanding: [4, 8]/' "$T/sw.yaml" > "$T/st.yaml"
"$BIN" sweep "$T/st.yaml" -j 2 --out "$T/st" --quiet || fail "sweep of st.yaml"
[ "$(wc -l < "$T/st/sweep.csv")" -eq 5 ] || fail "st.yaml's table: $(cut -c1-40 "$T/st/sweep.csv")"
sed -i 's/max_outstanding: \[4, 8\]/max_outstanding: [4, 0]/' "$T/st.yaml"
expect 1 "point 1 (devices.nic0.iotlb.entries=4, devices.nic0.max_outstanding=0) failed (exit 1)" \
    "$BIN" sweep "$T/st.yaml" -j 2 --out "$T/st" --quiet
[ "$(cut -d, -f1,2 "$T/st/sweep.csv" | tr '\n' ' ')" = "devices.nic0.iotlb.entries,devices.nic0.max_outstanding 4,4 8,4 " ] ||
    fail "rows of points that failed: $(cut -d, -f1-3 "$T/st/sweep.csv")"
[ -e "$T/st/points/000001/stats.csv" ] || fail "the earlier stats.csv of point 1 is gone: the check above proves nothing"

# the table cannot be written (a directory named sweep.csv, then
# sweep.json): exit 1 with the reason, and no line naming the table
for f in sweep.csv sweep.json; do
    cp -r "$T/ref" "$T/tb_$f"
    rm -f "$T/tb_$f/sweep.csv" "$T/tb_$f/sweep.json"
    mkdir "$T/tb_$f/$f"
    expect 1 "scimitar sweep: cannot write the table in $T/tb_$f: Is a directory" \
        "$BIN" sweep "$T/sw.yaml" --out "$T/tb_$f"
    grep -q "^sweep:" "$T/out" && fail "$f: a table that failed was claimed: $(cat "$T/out")"
done
# the plot cannot be written: said so (once a silent exit 1), the table is
mkdir -p "$T/pl/plot.svg"
expect 1 "scimitar sweep: cannot write $T/pl/plot.svg: Is a directory" \
    "$BIN" sweep "$T/sw.yaml" --out "$T/pl" --quiet --plot nic0.iotlb.misses
cmp -s "$T/pl/sweep.csv" "$T/ref/sweep.csv" || fail "the table beside a failed plot differs from the reference"
ls "$T"/pl/plot.svg.tmp > /dev/null 2>&1 && fail "the plot's temporary file was left"

# a configuration in the working directory, no --out: out/<name>-sweep
mkdir -p "$T/cwd"
cp "$T/sw.yaml" "$T/cwd/mine.yaml"
(cd "$T/cwd" && "$BIN" sweep mine.yaml --quiet) || fail "sweep of ./mine.yaml"
cmp -s "$T/cwd/out/mine-sweep/sweep.csv" "$T/ref/sweep.csv" || fail "default output: $(find "$T/cwd" | head)"
echo "cli_sweep_fail: ok"

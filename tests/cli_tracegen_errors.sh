#!/usr/bin/env bash
# `scimitar trace gen` refuses what it cannot generate, with a message
# naming the option, exit 2, and no file left behind: layouts that do not
# fit (block larger than the file, object than the region, access than the
# array, more written arrays than arrays, a tenant stride that is not a
# page multiple or smaller than the span, tenants beyond the 57-bit user
# address space), CPU trace names (no %t with tenants, the device trace's
# own name, more than 1024 of them), values of each type (integers, sizes,
# numbers, times, distributions) and a missing value. A CPU trace that
# cannot be created (exit 1) removes the traces already written.
# usage: cli_tracegen_errors.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
O=$T/out/o.trace
mkdir "$T/out"

expect() { # STATUS MESSAGE KIND ARGS...
    local st=$1 msg=$2
    shift 2
    "$BIN" trace gen "$@" -o "$O" > /dev/null 2> "$T/err"
    local rc=$?
    [ $rc -eq "$st" ] || fail "trace gen $*: exit $rc, expected $st ($(cat "$T/err"))"
    grep -qF -- "$msg" "$T/err" || fail "trace gen $*: expected '$msg': $(cat "$T/err")"
    [ -z "$(ls "$T/out")" ] || fail "trace gen $*: left $(ls "$T/out")"
}

# layouts that do not fit
expect 2 "trace gen storage: --block-size exceeds --file-size" storage --block-size 1MiB --file-size 64KiB
expect 2 "trace gen kv: --object-size exceeds --region" kv --object-size 2MiB --region 1MiB
expect 2 "trace gen stream: --access exceeds --array-size" stream --access 1GiB --array-size 1MiB
expect 2 "trace gen stream: --write-arrays exceeds --arrays" stream --write-arrays 4 --arrays 2
expect 2 "--tenant-stride must be a multiple of 4 KiB and at least the layout's span" storage --tenant-stride 0x1001
expect 2 "--tenant-stride must be a multiple of 4 KiB and at least the layout's span" storage --tenant-stride 4096
# 2^56 - 64 GiB + 4095 tenants x 1 GiB ends beyond 2^56
expect 2 "the layout ends beyond 0x100000000000000" storage --base 0xfffff000000000 --tenants 4096
expect 2 "--tenants 4097 is out of range" storage --tenants 4097

# CPU trace names
expect 2 "the CPU trace's name needs %t" storage --tenants 2 --cpu-trace "$T/out/c.trace"
expect 2 "the CPU trace and the device trace are both $O" storage --cpu-trace "$O"
expect 2 "at most 1024 CPU traces (--tenants) at once" storage --tenants 1025 --cpu-trace "$T/out/c%t.trace"
long=$T/out/$(printf 'x%.0s' $(seq 1 4200))%t
expect 2 "CPU trace name too long" storage --cpu-trace "$long"
# tenant 1's directory does not exist: refused before anything is written
mkdir "$T/c0"
"$BIN" trace gen storage --tenants 2 --cpu-trace "$T/c%t/c.trace" -o "$O" > /dev/null 2> "$T/err"
[ $? -eq 1 ] && grep -q "cannot create $T/c1/c.trace: $T/c1 does not exist" "$T/err" ||
    fail "unwritable CPU trace: $(cat "$T/err")"
[ -e "$T/c0/c.trace" ] && fail "tenant 0's CPU trace was written although tenant 1's cannot be"
[ -z "$(find "$T/c0" "$T/out" -type f)" ] || fail "a failed trace gen left files"
# with both directories, each tenant's trace is written
mkdir "$T/c1"
"$BIN" trace gen storage --tenants 2 --cpu-trace "$T/c%t/c.trace" -o "$T/ok.trace" > /dev/null 2> "$T/err" ||
    fail "CPU traces per tenant: $(cat "$T/err")"
[ -s "$T/c0/c.trace" ] && [ -s "$T/c1/c.trace" ] || fail "CPU traces per tenant were not written"

# values
"$BIN" trace gen storage -o "$O" --count > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "trace gen storage: --count needs a value" "$T/err" || fail "--count without a value: $(cat "$T/err")"
expect 2 "--count 0 is out of range; expected 1..1000000000000 packets" nic-rx --count 0
for v in 0x 5K 1.5 -1 99999999999999999999999; do
    expect 2 "--count '$v': expected an integer (decimal or 0x hex)" storage --count "$v"
done
expect 2 "--seed '0x1g': expected an integer" storage --seed 0x1g
for v in 1x 1e999 nan ''; do
    expect 2 "--bandwidth '$v': expected a number" storage --bandwidth "$v"
done
expect 2 "--app-delay -5us is out of range; expected 0..1000000000000 ns" storage --app-delay -5us
for v in 1xs 1e400; do
    expect 2 "--app-delay '$v': expected a time (e.g. 500, 500ns, 80us, 1ms)" storage --app-delay "$v"
done
for v in 4KiBx 0x 99999999999999999999EiB 1.5KiB 16EiB; do
    expect 2 "--file-size '$v'" storage --file-size "$v"
done
for v in 0:1 64:-1 64:0 64:1, x '64:1;' 64:nan 64:1e999 4G:1 99999999999999999999999:1 "$(seq -s, 1 33)"; do
    expect 2 "--sizes '$v': expected SIZE:WEIGHT[,SIZE:WEIGHT...]" nic-rx --sizes "$v"
done
expect 2 "unknown option --countt; did you mean --count?" kv --countt 1
expect 2 "unknown option --frobnicate; see 'scimitar trace gen kv --help'" kv --frobnicate 1
expect 2 "unknown kind" nvme

# what the value forms mean: 0x hex, size suffixes, a size alone weighs 1
# (the same records; the header comments echo the options as given)
"$BIN" trace gen nic-rx --count 0x10 --sizes 1500 --text -o "$T/a.trace" || fail "--count 0x10 --sizes 1500"
"$BIN" trace gen nic-rx --count 16 --sizes 1500:1 --text -o "$T/b.trace" || fail "--count 16 --sizes 1500:1"
cmp -s <(grep -v "^#" "$T/a.trace") <(grep -v "^#" "$T/b.trace") || fail "0x10 and 16, or 1500 and 1500:1, differ"
"$BIN" trace gen storage --count 8 --file-size 1MiB --block-size 4KiB --text -o "$T/c.trace" || fail "sizes with suffixes"
"$BIN" trace gen storage --count 8 --file-size 1048576 --block-size 4096 --text -o "$T/d.trace" || fail "sizes in bytes"
cmp -s <(grep -v "^#" "$T/c.trace") <(grep -v "^#" "$T/d.trace") || fail "1MiB/4KiB and 1048576/4096 differ"
echo "cli_tracegen_errors: ok"

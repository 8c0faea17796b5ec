#!/usr/bin/env bash
# scimitar compare: one config under every scheme, side by side; the
# per-scheme statistics equal a plain run with --set scheme=...
# usage: cli_compare.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" compare "$SRC/configs/cpu_nic.yaml" --out "$T/cmp" > "$T/table" || fail "compare failed"
head -1 "$T/table" | grep -q "scimitar *pin *iommu-map" || fail "header lacks the three schemes: $(head -1 "$T/table")"
grep -q "OS CPU time" "$T/table" || fail "no OS CPU time row"
grep -q "pinned peak" "$T/table" || fail "no pinned row"
[ "$(head -1 "$T/cmp/compare.csv")" = "metric,scimitar,pin,iommu-map" ] || fail "compare.csv header"
for s in scimitar pin iommu-map; do
    [ -s "$T/cmp/$s/stats.json" ] || fail "no stats for $s"
done
# a compare column is exactly a run of that scheme
"$BIN" run "$SRC/configs/cpu_nic.yaml" --set scheme=pin --out "$T/pin" --quiet || fail "pin run failed"
cmp -s "$T/pin/stats.json" "$T/cmp/pin/stats.json" || fail "compare's pin column differs from a pin run"
# the pin scheme really pins, iommu-map really invalidates
grep -q '"os.io.pins": [1-9]' "$T/cmp/pin/stats.json" || fail "pin pinned nothing"
grep -q '"os.io.flushes": [1-9]' "$T/cmp/iommu-map/stats.json" || fail "iommu-map flushed nothing"

# errors: an unknown scheme names the choices, exits 1, writes no table
"$BIN" compare "$SRC/configs/cpu_nic.yaml" --schemes scimitar,pinned --out "$T/bad" 2> "$T/err" && fail "bad scheme accepted"
grep -q "iommu-map" "$T/err" || fail "bad scheme error does not list the choices: $(cat "$T/err")"
[ -e "$T/bad/compare.csv" ] && fail "a table was written after a failure"
"$BIN" compare > /dev/null 2>&1; [ $? -eq 2 ] || fail "compare without a config must exit 2"
echo "cli_compare: ok"

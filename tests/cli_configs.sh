#!/usr/bin/env bash
# Every bundled configuration is valid with its traces, and the workload
# examples run to completion with the safety checker on and no failed
# request. usage: cli_configs.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for c in "$SRC"/configs/*.yaml; do
    "$BIN" check "$c" > /dev/null || fail "$(basename "$c") does not check"
done
for c in nic_tx storage kv stream kv_tenants; do
    "$BIN" run "$SRC/configs/$c.yaml" --quiet --set sim.check_invariants=true --out "$T/$c" ||
        fail "configs/$c.yaml did not run"
    grep -q '\.dma\.errors,0,' "$T/$c/stats.csv" || fail "configs/$c.yaml: failed DMAs"
    if grep -q '\.mem\.errors,' "$T/$c/stats.csv"; then
        grep -q '\.mem\.errors,0,' "$T/$c/stats.csv" || fail "configs/$c.yaml: failed CPU accesses"
    fi
done
echo "cli_configs: ok"

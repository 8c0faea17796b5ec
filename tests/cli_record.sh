#!/usr/bin/env bash
# A run explains itself: beside stats.json it writes config.yaml (the
# configuration as run: every key, defaults filled in, overrides applied,
# trace paths absolute) and meta.json (what ran where). Running config.yaml
# again, from another directory, gives byte-identical statistics; every
# key the components read is in it; meta.json is valid JSON naming the
# version, seed, backend and overrides; a sweep point keeps its config.yaml.
# usage: cli_record.sh SCIMITAR SOURCE_DIR LIBSCIMITAR_SO
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cases=(
    "default.yaml"
    "default.yaml --set scheme=iommu-map --set os.iommu_map.mode=deferred"
    "cpu_nic.yaml --set os.fault_profile=odp --set kernel.backend=native"
    "storage.yaml --set scheme=pin"
    "kv_tenants.yaml"
    "exp_c_walk.yaml --set devices.nic0.walk=shadow"
)
i=0
for c in "${cases[@]}"; do
    set -- $c
    cfg=$1
    shift
    "$BIN" run "$SRC/configs/$cfg" "$@" --out "$T/a$i" --quiet || fail "run $c"
    for f in stats.json stats.csv config.yaml meta.json; do
        [ -s "$T/a$i/$f" ] || fail "$c: no $f"
    done
    # from elsewhere: nothing in config.yaml is relative to the original directory
    mkdir -p "$T/elsewhere$i"
    cp "$T/a$i/config.yaml" "$T/elsewhere$i/run.yaml"
    (cd "$T/elsewhere$i" && "$BIN" run run.yaml --out "$T/b$i" --quiet) || fail "$c: config.yaml does not run"
    cmp -s "$T/a$i/stats.json" "$T/b$i/stats.json" || fail "$c: config.yaml gives other statistics"
    # resolving is idempotent: the re-run's config.yaml is the same text
    cmp -s "$T/a$i/config.yaml" "$T/b$i/config.yaml" || fail "$c: config.yaml of config.yaml differs"
    python3 - "$T/a$i/meta.json" "$c" <<'PY' || fail "$c: meta.json"
import json, sys
m = json.load(open(sys.argv[1]))
for k in ("scimitar", "git_revision", "config", "overrides", "seed", "kernel_backend", "host", "started_utc",
          "wall_seconds", "events", "fast_path", "simulated_ps"):
    assert k in m, k
assert m["fast_path"] in ("on", "off", "redone"), m["fast_path"]
args = sys.argv[2].split()
sets = [args[j + 1] for j in range(len(args)) if args[j] == "--set"]
assert m["overrides"] == sets, (m["overrides"], sets)
assert m["kernel_backend"] == ("native" if "kernel.backend=native" in sets else "systemc"), m["kernel_backend"]
assert m["seed"] == 1 and m["events"] > 0 and m["simulated_ps"] > 0
PY
    i=$((i + 1))
done
# every key of the devices' table is there, with its default where the file had none
for k in "max_outstanding: 32" "source: trace" "inv_queue: 32" "pri:" "allocation: 2048" "drop_timeout: 100us"; do
    grep -q "^ *$k" "$T/a0/config.yaml" || fail "config.yaml lacks '$k'"
done
grep -q "^ *mode: deferred" "$T/a1/config.yaml" || fail "an override is not in config.yaml"
grep -q "^ *fault_profile: odp" "$T/a2/config.yaml" || fail "the profile is not in config.yaml"
grep -q "^ *iopf_cost: 218us" "$T/a2/config.yaml" || fail "the profile's defaults are not filled in"
grep -q "trace: /" "$T/a0/config.yaml" || fail "trace paths are not absolute"

# a sweep point keeps its configuration as run
cat > "$T/sw.yaml" <<Y
$(sed '/^sweep:/,$d' "$SRC/configs/default.yaml" | sed "s|\.\./traces/|$SRC/traces/|")
sweep:
  parameters:
    devices.nic0.iotlb.entries: [32, 64]
Y
"$BIN" sweep "$T/sw.yaml" -j 2 --out "$T/sw" --quiet > /dev/null 2>&1 || fail "sweep"
for p in "$T"/sw/points/*/; do
    grep -q "^ *entries: \(32\|64\)$" "$p/config.yaml" || fail "sweep point $(basename "$p"): no config.yaml"
done
# each column of a compare is a run with its own record, which reproduces it
"$BIN" compare "$SRC/configs/default.yaml" --schemes pin,iommu-map --set sim.max_time=50us --out "$T/cmp" \
    > /dev/null || fail "compare"
for s in pin iommu-map; do
    grep -q "^scheme: $s$" "$T/cmp/$s/config.yaml" || fail "compare column $s: config.yaml without its scheme"
    grep -q "\"scheme=$s\"" "$T/cmp/$s/meta.json" || fail "compare column $s: meta.json without the scheme override"
    "$BIN" run "$T/cmp/$s/config.yaml" --quiet --out "$T/cmp-re-$s" || fail "rerun of compare column $s"
    cmp -s "$T/cmp/$s/stats.json" "$T/cmp-re-$s/stats.json" || fail "compare column $s: config.yaml does not reproduce it"
done
echo "cli_record: config.yaml reproduces ${#cases[@]} runs and 2 compare columns byte for byte; meta.json complete; sweep points keep theirs"

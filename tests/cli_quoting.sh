#!/usr/bin/env bash
# Values holding a comma, a quote, a backslash or a tab (here in trace
# file names) through the CLI's outputs: RFC 4180 quoting in sweep.csv,
# JSON escapes in sweep.json and in `scimitar run`'s meta.json, each read
# back to the value given.
# usage: cli_quoting.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"

base() { nic_yaml "$@"; }
# values with a comma, a quote and a tab: RFC 4180 quoting in the CSV, JSON escapes
odd=$(printf '%s/a,b"c\td.trace.gz' "$T")
cp "$SRC/traces/nic_rx.trace.gz" "$odd"
cp "$SRC/traces/nic_rx.trace.gz" "$T/plain.trace.gz"
{ base 100us; printf "sweep:\n  parameters:\n    devices.nic0.trace: ['%s', '%s']\n" "$T/plain.trace.gz" "$odd"; } \
    > "$T/odd.yaml"
"$BIN" sweep "$T/odd.yaml" -j 2 --out "$T/odd" --quiet || fail "sweep of odd trace names"
grep -qF "\"$(printf '%s/a,b""c\td' "$T").trace.gz\"," "$T/odd/sweep.csv" || fail "CSV quoting: $(cat "$T/odd/sweep.csv")"
grep -qF 'a,b\"c\u0009d.trace.gz' "$T/odd/sweep.json" || fail "JSON escapes: $(head -c 300 "$T/odd/sweep.json")"
python3 - "$T/odd" "$T/plain.trace.gz" "$odd" <<'PY' || fail "sweep.csv / sweep.json do not give back the values"
import csv, json, sys
out, plain, odd = sys.argv[1:]
rows = list(csv.DictReader(open(out + "/sweep.csv")))
assert [r["devices.nic0.trace"] for r in rows] == [plain, odd], rows
# both traces are the same bytes: the same statistics
assert rows[0]["nic0.dma.requests"] == rows[1]["nic0.dma.requests"] != "", rows
j = json.load(open(out + "/sweep.json"))
assert [p["params"]["devices.nic0.trace"] for p in j["points"]] == [plain, odd], j["points"]
PY

# meta.json holds the overrides as given, escaped (a backslash and a tab in a file name)
base 100us > "$T/run.yaml"
odd2=$(printf '%s/t\\u\tv.trace.gz' "$T")
cp "$SRC/traces/nic_rx.trace.gz" "$odd2"
"$BIN" run "$T/run.yaml" --quiet --out "$T/run" --set "devices.nic0.trace=$odd2" --set "sim.max_time=1ms" ||
    fail "run with an odd trace name"
python3 - "$T/run/meta.json" "devices.nic0.trace=$odd2" "sim.max_time=1ms" <<'PY' || fail "meta.json: $(cat "$T/run/meta.json")"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["overrides"] == sys.argv[2:], m["overrides"]
PY
grep -qF 't\\u\u0009v.trace.gz' "$T/run/meta.json" || fail "meta.json escapes: $(grep overrides "$T/run/meta.json")"
echo "cli_quoting: ok"

#!/usr/bin/env bash
# The shared library exports the public API and nothing else: every
# dynamic symbol it defines is a scim_ function declared SCIM_API in
# include/scimitar/, and every such function is exported.
# usage: cli_symbols.sh SCIMITAR SOURCE_DIR LIBSCIMITAR_SO
set -u
SRC=$2
LIB=$3
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$LIB" ] || fail "no shared library at $LIB"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# sc_main: the weak default SystemC needs (src/core/sc_bridge.cpp), the one
# symbol outside the API
nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRWV]$/ && $3 != "sc_main" {print $3}' | sort -u > "$T/exported"
nm -D --defined-only "$LIB" | grep -q ' W sc_main$' || fail "no weak sc_main exported"
grep -ho '^SCIM_API [^(]*(' "$SRC"/include/scimitar/*.h | sed 's/[[:space:]]*($//' | awk '{print $NF}' | tr -d '*' |
    sort -u > "$T/declared"
[ -s "$T/declared" ] || fail "no SCIM_API declarations found"
extra=$(comm -23 "$T/exported" "$T/declared")
[ -z "$extra" ] || fail "exported but not public: $(echo $extra | head -c 600)"
missing=$(comm -13 "$T/exported" "$T/declared")
[ -z "$missing" ] || fail "public but not exported: $missing"
echo "cli_symbols: $(wc -l < "$T/exported") public symbols, nothing else exported"

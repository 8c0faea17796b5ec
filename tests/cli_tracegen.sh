#!/usr/bin/env bash
# `scimitar trace gen` through the CLI: help, formats chosen by file name,
# determinism, errors and exit codes, and the bundled traces being exactly
# what scripts/gen_traces.sh regenerates.  usage: cli_tracegen.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# help: every kind lists its options with defaults; --doc is the docs
for k in nic-rx nic-tx storage kv stream; do
    "$BIN" trace gen $k --help > "$T/help" || fail "$k --help exit status"
    grep -q -- "--seed N  (default 1)" "$T/help" || fail "$k --help lacks --seed"
    grep -q -- "--count N \[" "$T/help" || fail "$k --help lacks --count with its unit"
done
"$BIN" trace gen --help | grep -q "kinds: nic-rx nic-tx storage kv stream" || fail "gen --help lacks the kinds"
"$BIN" trace --help | grep -q "trace gen KIND" || fail "trace --help does not mention gen"
"$BIN" trace gen --doc | grep -q "^## kv: " || fail "--doc lacks the kv section"

# formats by name: text, gzip, binary, binary+gzip; --binary/--text override
"$BIN" trace gen kv --count 100 -o "$T/a.trace" || fail "text"
head -n 1 "$T/a.trace" | grep -qx "# scimitar trace v1" || fail "a.trace is not text"
"$BIN" trace gen kv --count 100 -o "$T/a.trace.gz" || fail "gzip"
[ "$(head -c 2 "$T/a.trace.gz" | od -An -tx1 | tr -d ' ')" = 1f8b ] || fail "a.trace.gz is not gzip"
"$BIN" trace gen kv --count 100 -o "$T/a.bin" || fail "binary"
head -c 7 "$T/a.bin" | grep -q "SCIMTRB" || fail "a.bin is not binary"
"$BIN" trace gen kv --count 100 -o "$T/a.bin.gz" || fail "binary gzip"
zcat "$T/a.bin.gz" | head -c 7 | grep -q "SCIMTRB" || fail "a.bin.gz is not gzip'd binary"
"$BIN" trace gen kv --count 100 --binary -o "$T/b.trace" && head -c 7 "$T/b.trace" | grep -q SCIMTRB \
    || fail "--binary ignored"
"$BIN" trace gen kv --count 100 --text -o "$T/b.bin" && head -c 1 "$T/b.bin" | grep -q "#" || fail "--text ignored"
# all four hold the same records
for f in a.trace.gz a.bin a.bin.gz; do
    "$BIN" trace cat "$T/$f" | grep -v '^#' > "$T/$f.txt"
    "$BIN" trace cat "$T/a.trace" | grep -v '^#' | cmp -s - "$T/$f.txt" || fail "$f differs from a.trace"
done
# --name=value form, and stdout
"$BIN" trace gen stream --count=10 --array-size=1MiB -o - > "$T/out" || fail "-o -"
[ "$(grep -c "^@" "$T/out")" = 10 ] || fail "--opt=value or -o -"

# determinism: same seed, same bytes; another seed, other bytes
"$BIN" trace gen nic-rx --count 2000 --seed 5 -o "$T/s1.trace.gz" --cpu-trace "$T/c1.trace.gz"
"$BIN" trace gen nic-rx --count 2000 --seed 5 -o "$T/s2.trace.gz" --cpu-trace "$T/c2.trace.gz"
"$BIN" trace gen nic-rx --count 2000 --seed 6 -o "$T/s3.trace.gz"
cmp -s "$T/s1.trace.gz" "$T/s2.trace.gz" || fail "same seed, different traces"
cmp -s "$T/c1.trace.gz" "$T/c2.trace.gz" || fail "same seed, different CPU traces"
cmp -s "$T/s1.trace.gz" "$T/s3.trace.gz" && fail "seeds 5 and 6 gave the same trace"

# --summary: footprint and the config regions; to stderr when the trace goes to stdout
"$BIN" trace gen storage --count 100 -o "$T/st.trace" --summary > "$T/sum" || fail "--summary"
grep -q "^footprint.pages_4k: " "$T/sum" && grep -q "^processes:" "$T/sum" || fail "summary: $(cat "$T/sum")"
"$BIN" trace gen storage --count 100 -o - --summary > "$T/out" 2> "$T/sum2" || fail "-o - --summary"
grep -q "^@" "$T/out" || fail "trace not on stdout"
grep -q "^footprint.pages_4k: " "$T/sum2" || fail "summary not on stderr with -o -"

# errors: exit 2, a message that says how to fix it, nothing written
expect_err() { # WANT ARGS...
    local want=$1
    shift
    "$BIN" trace gen "$@" 2> "$T/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "trace gen $*: exit status $rc, expected 2"
    grep -q -- "$want" "$T/err" || fail "trace gen $*: message '$(cat "$T/err")' lacks '$want'"
}
expect_err "did you mean --queue-depth" storage --queue-dpeth 4 -o "$T/e.trace"
expect_err "unknown kind 'disk'" disk -o "$T/e.trace"
expect_err "needs -o FILE" kv --count 10
expect_err "expected one of scatter|rank" kv --placement sorted -o "$T/e.trace"
expect_err "needs %t" nic-tx --tenants 3 -o "$T/e.trace" --cpu-trace "$T/c.trace"
[ -e "$T/e.trace" ] && fail "a failed run left e.trace behind"
ls "$T" | grep -q "tmp" && fail "temporary files left behind"

# the bundled traces are what scripts/gen_traces.sh generates (records
# compared after decompression: zlib versions may compress differently)
bash "$SRC/scripts/gen_traces.sh" "$BIN" "$T/bundled" > /dev/null || fail "gen_traces.sh failed"
for f in "$T"/bundled/*.trace.gz; do
    b=$(basename "$f")
    [ -f "$SRC/traces/$b" ] || fail "gen_traces.sh writes $b, which traces/ lacks"
    cmp -s <(zcat "$f") <(zcat "$SRC/traces/$b") || fail "traces/$b differs from what gen_traces.sh generates"
done
echo "cli_tracegen: ok"

#!/usr/bin/env bash
# `scimitar trace cat|pack|convert|stats` through the CLI: the numbers of
# `trace stats` against a hand-written trace (the sums are in the
# comments), conversions between every encoding giving back the same
# records, and each usage error (exit 2) and input error (exit 1).
# usage: cli_trace.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$T/s.trace" <<'EOF'
# scimitar trace v1
@100 mmap 0x7f0000200000 0x10000 populate=1 prot=rw
+50 write 0x7f0000200ff0 32    # crosses a page boundary
+0 read 0x7f0000200000 16
@1000 read 0x7f0000400000 0x1000
+250 munmap 0x7f0000200000 0x10000
EOF

# stats, by hand:
#   issue times 100, 150, 150, 1000, 1250: first 100, last 1250,
#   mean gap (1250 - 100) / 4 = 287.5
#   read 16 + 4096 = 4112 bytes, written 32
#   4 KiB pages touched by reads and writes: 0x7f0000200 and 0x7f0000201
#   (the write crosses), 0x7f0000400 -> 3; their 2 MiB regions (page >> 9):
#   0x3f80001 (twice) and 0x3f80002 -> 2. mmap and munmap touch nothing.
cat > "$T/expected" <<'EOF'
records: 5
op.read: 2
op.write: 1
op.mmap: 1
op.munmap: 1
bytes.read: 4112
bytes.written: 32
footprint.pages_4k: 3
footprint.regions_2m: 2
time.first_ns: 100
time.last_ns: 1250
time.mean_gap_ns: 287.500
EOF
"$BIN" trace stats "$T/s.trace" > "$T/stats" || fail "trace stats failed"
diff -u "$T/expected" "$T/stats" || fail "trace stats numbers"

# cat: the canonical text (decimal sizes, keys in table order)
cat > "$T/canon" <<'EOF'
# scimitar trace v1
@100 mmap 0x7f0000200000 65536 prot=rw populate=1
+50 write 0x7f0000200ff0 32
+0 read 0x7f0000200000 16
@1000 read 0x7f0000400000 4096
+250 munmap 0x7f0000200000 65536
EOF
"$BIN" trace cat "$T/s.trace" > "$T/cat" || fail "trace cat failed"
diff -u "$T/canon" "$T/cat" || fail "trace cat output"
"$BIN" trace cat "$T/s.trace" -o "$T/cat.txt" || fail "trace cat -o failed"
cmp -s "$T/canon" "$T/cat.txt" || fail "trace cat -o differs from stdout"

# every encoding gives back the same records: binary, gzip binary, gzip text
"$BIN" trace pack "$T/s.trace" -o "$T/s.bin" || fail "pack failed"
[ "$(head -c 8 "$T/s.bin" | od -An -c | tr -d ' ')" = 'SCIMTRB001' ] || fail "pack did not write the binary magic"
"$BIN" trace pack "$T/s.trace" -o "$T/s.bin.gz" --gzip || fail "pack --gzip failed"
"$BIN" trace convert "$T/s.bin" -o "$T/s.txt.gz" --gzip || fail "convert to gzip text failed"
"$BIN" trace convert "$T/s.txt.gz" -o "$T/s2.bin" --format binary || fail "convert --format binary failed"
"$BIN" trace convert "$T/s2.bin" -o "$T/s2.txt" --format text || fail "convert --format text failed"
gzip -t "$T/s.bin.gz" && gzip -t "$T/s.txt.gz" || fail "--gzip output is not gzip"
[ "$(gzip -dc "$T/s.bin.gz" | head -c 7)" = SCIMTRB ] || fail "pack --gzip is not gzip binary"
gzip -dc "$T/s.txt.gz" | cmp -s - "$T/canon" || fail "convert to text did not write the canonical text"
cmp -s "$T/s.bin" "$T/s2.bin" || fail "binary -> text -> binary changed bytes"
cmp -s "$T/s2.txt" "$T/canon" || fail "convert --format text differs from cat"
for f in s.bin s.bin.gz s.txt.gz s2.bin; do
    "$BIN" trace cat "$T/$f" | cmp -s - "$T/canon" || fail "cat of $f differs"
    "$BIN" trace stats "$T/$f" | cmp -s - "$T/expected" || fail "stats of $f differ"
done

# usage errors: exit 2, a message, nothing written
expect2() { # expect2 WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    "$BIN" "$@" > "$T/out" 2> "$T/err"; rc=$?
    [ $rc -eq 2 ] || fail "$what: exit status $rc, expected 2"
    grep -q -- "$msg" "$T/err" || fail "$what: message: $(cat "$T/err")"
}
expect2 "no trace command" "usage: scimitar trace cat" trace
expect2 "no input" "trace stats needs an input file" trace stats
expect2 "pack without -o" "trace pack needs -o OUT" trace pack "$T/s.trace"
expect2 "convert without -o" "trace convert needs -o OUT" trace convert "$T/s.trace"
expect2 "unknown format" "unknown trace format 'xml'; expected text or binary" trace convert "$T/s.trace" -o "$T/x" --format xml
expect2 "unknown option" "unknown option '--fast'" trace cat "$T/s.trace" --fast
expect2 "two inputs" "unexpected argument 'second'" trace cat "$T/s.trace" second
expect2 "unknown trace command" "unknown trace command 'frob'" trace frob "$T/s.trace"
[ -e "$T/x" ] && fail "a usage error wrote output"
"$BIN" trace --help > "$T/help" || fail "trace --help exit status"
grep -q "scimitar trace convert FILE -o OUT \[--format text|binary\] \[--gzip\]" "$T/help" || fail "trace --help text"

# input errors: exit 1 with the file's name or location, no output left
"$BIN" trace cat "$T/none.trace" > /dev/null 2> "$T/err" && fail "cat of a missing file succeeded"
grep -q "none.trace" "$T/err" || fail "missing file message: $(cat "$T/err")"
"$BIN" trace stats "$T/none.trace" > /dev/null 2> "$T/err" && fail "stats of a missing file succeeded"
grep -q "none.trace" "$T/err" || fail "stats missing file message: $(cat "$T/err")"
"$BIN" trace pack "$T/s.trace" -o "$T/no/such/dir/x.bin" 2> "$T/err" && fail "pack into a missing directory succeeded"
grep -q "x.bin" "$T/err" || fail "unwritable output message: $(cat "$T/err")"
printf '@0 read 0x1000 64\n+5 write 0x2000 64\n+5 wirte 0x3000 64\n' > "$T/bad.trace"
"$BIN" trace pack "$T/bad.trace" -o "$T/bad.bin" 2> "$T/err" && fail "pack of a bad trace succeeded"
grep -q "bad.trace:3:" "$T/err" || fail "bad trace message: $(cat "$T/err")"
[ -e "$T/bad.bin" ] && fail "a failed pack left its output behind"
ls "$T" | grep -q 'bad.bin' && fail "a failed pack left a temporary file"
"$BIN" trace stats "$T/bad.trace" > /dev/null 2> "$T/err" && fail "stats of a bad trace succeeded"
grep -q "bad.trace:3:" "$T/err" || fail "stats bad trace message: $(cat "$T/err")"
# trace gen: --gzip compresses whatever the name, and its usage errors
"$BIN" trace gen nic-rx --count 50 -o "$T/g.trace" --gzip || fail "trace gen --gzip"
gzip -t "$T/g.trace" || fail "trace gen --gzip did not compress"
"$BIN" trace gen nic-rx --count 50 -o "$T/g2.trace" || fail "trace gen"
gzip -dc "$T/g.trace" | cmp -s - "$T/g2.trace" || fail "--gzip changed the records"
expect2 "gen option without a value" "trace gen nic-rx: --count needs a value" trace gen nic-rx -o "$T/x" --count
expect2 "gen stray argument" "trace gen nic-rx: unexpected argument 'stray'" trace gen nic-rx stray -o "$T/x"
long=$(printf 'o%.0s' $(seq 1 70))
expect2 "gen option name too long" "trace gen nic-rx: unknown option '--$long=1'" trace gen nic-rx "--$long=1" -o "$T/x"
many=(); for k in $(seq 1 129); do many+=("--seed=$k"); done
expect2 "gen with 129 options" "trace gen: too many options" trace gen nic-rx "${many[@]}" -o "$T/x"
expect2 "gen without -o" "trace gen nic-rx needs -o FILE" trace gen nic-rx --count 5
[ -e "$T/x" ] && fail "a trace gen usage error wrote output"
# an output that cannot be written is a failure (1), not a usage error
"$BIN" trace gen nic-rx --count 5 -o "$T/no/such/dir/g.trace" 2> "$T/err"; rc=$?
[ $rc -eq 1 ] || fail "trace gen into a missing directory: exit status $rc, expected 1"
grep -q "g.trace" "$T/err" || fail "trace gen unwritable message: $(cat "$T/err")"

# stats that cannot be written (a full device) is an error, not a silent loss
if [ -w /dev/full ]; then
    "$BIN" trace stats "$T/s.trace" > /dev/full 2> "$T/err" && fail "stats to a full device exited 0"
    grep -q "cannot write the summary of" "$T/err" || fail "full device message: $(cat "$T/err")"
fi
echo "cli_trace: ok"

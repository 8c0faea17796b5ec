#!/usr/bin/env bash
# `scimitar trace import` options through the CLI, on the hand-written
# lackey log of tests/test_import.c (its times are worked out there):
# --ipns and --syscall-ns move the records exactly as the hand sums say,
# --text writes text traces, --quiet prints nothing, the warnings for
# unknown lines, vectored calls and a log without I/O; every usage error
# of the options (exit 2, the option named) and strace's --pid.
# usage: cli_import_opts.sh SCIMITAR SOURCE_DIR
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$T/a.log" <<'EOF'
==7== Lackey, an example Valgrind tool
==7== Command: ./a
I  04000000,3
 S 1fff000ff8,8
I  04000003,4
 L 00601000,4
 M 00601004,4
SYSCALL[7,1](0) sys_read ( 3, 0x601000, 5000 ) --> [async] ... 
SYSCALL[7,1](0) ... [async] --> Success(0x1388) 
I  04000007,2
 L 00601ffc,8
SYSCALL[7,1](1) sys_write ( 1, 0x602000, 100 )[sync] --> Success(0x64) 
SYSCALL[7,1](20) sys_writev ( 1, 0x1fff000f00, 2 ) --> [async] ... 
SYSCALL[7,1](0) sys_read ( 3, 0x601000, 0 ) --> [async] ... 
an unknown line
SYSCALL[7,1](17) sys_pread64 ( 3, 0x603000, 8192, 0 ) --> [async] ... 

I  0400000a,1
 S 00603000,8
SYSCALL[7,1](44) sys_sendto ( 5, 0x603100, 64, 0, 0x0, 0 ) --> [async] ... 
 --> [pre-fail] Failure(0x26) 
==7== 
==7== Exit code:       0
EOF

# ipns 2, syscall 1000 ns (tests/test_import.c): device @1, @1001, @4001, @5002
"$BIN" trace import lackey "$T/a.log" -o "$T/a" --ipns 2 --syscall-ns 1000 --text > "$T/out" 2> "$T/err" ||
    fail "import lackey: $(cat "$T/err")"
grep -q "warning: $T/a.log: 1 unknown line skipped (the first is line 15)" "$T/err" || fail "unknown line warning: $(cat "$T/err")"
grep -q "warning: $T/a.log: 1 vectored call (readv" "$T/err" || fail "vectored call warning: $(cat "$T/err")"
for l in "cpu.instructions: 4" "cpu.loads: 2" "cpu.stores: 2" "cpu.modifies: 1" \
         "wrote: $T/a.dev.trace.gz, $T/a.cpu.trace.gz, $T/a.yaml"; do
    grep -qx "$l" "$T/out" || fail "import lackey output lacks '$l': $(cat "$T/out")"
done
# --text: the traces are gzip'ed text (their first line is the text header)
gzip -dc "$T/a.dev.trace.gz" | head -1 | grep -q '^# scimitar trace' || fail "--text did not write a text trace"
"$BIN" trace cat "$T/a.dev.trace.gz" | grep -v '^#' | cut -d' ' -f1 | tr '\n' ' ' > "$T/times"
[ "$(cat "$T/times")" = "@1 @1001 @4001 @5002 " ] || fail "device times with --ipns 2 --syscall-ns 1000: $(cat "$T/times")"

# ipns 1, syscall 10 ns: the time is the instructions before (1 per ns)
# plus 10 ns per call before: read (2 instr, 0 calls) @2, write (3, 1) @13,
# pread64 (3, 4 calls: read, write, writev, read of 0) @43, sendto (4, 5) @54
"$BIN" trace import lackey "$T/a.log" -o "$T/b" --ipns 1 --syscall-ns 10 --quiet > "$T/out" 2> /dev/null ||
    fail "import lackey --quiet"
[ -s "$T/out" ] && fail "--quiet printed: $(cat "$T/out")"
"$BIN" trace cat "$T/b.dev.trace.gz" | grep -v '^#' | cut -d' ' -f1 | tr '\n' ' ' > "$T/times"
[ "$(cat "$T/times")" = "@2 @13 @43 @54 " ] || fail "device times with --ipns 1 --syscall-ns 10: $(cat "$T/times")"
gzip -dc "$T/b.dev.trace.gz" | head -c 20 | grep -q '^# scimitar' && fail "without --text the trace is text"

# a log whose only system call (close) has no buffer: a warning, an empty
# device trace
printf '==1== Lackey\nI  04000000,3\n L 1000,4\nSYSCALL[1,1](3) sys_close ( 3 ) --> Success(0x0)\n==1== Exit code: 0\n' > "$T/n.log"
"$BIN" trace import lackey "$T/n.log" -o "$T/n" > /dev/null 2> "$T/err" || fail "import of a log without I/O"
grep -q "no I/O call on a buffer; the device trace is empty" "$T/err" || fail "no-I/O warning: $(cat "$T/err")"
[ "$("$BIN" trace stats "$T/n.dev.trace.gz" | sed -n 's/^records: //p')" = 0 ] || fail "the device trace is not empty"

# usage errors: exit 2 and the option or argument named
expect_usage() { # MESSAGE ARGS...
    local msg=$1
    shift
    "$BIN" trace import "$@" > /dev/null 2> "$T/err"
    [ $? -eq 2 ] || fail "trace import $*: exit status, expected 2 ($(cat "$T/err"))"
    grep -qF -- "$msg" "$T/err" || fail "trace import $*: message, expected '$msg': $(cat "$T/err")"
}
expect_usage "--ipns 'x' is not a positive number" lackey "$T/a.log" -o "$T/x" --ipns x
expect_usage "--ipns '0' is not a positive number" lackey "$T/a.log" -o "$T/x" --ipns 0
expect_usage "--ipns '-1' is not a positive number" lackey "$T/a.log" -o "$T/x" --ipns -1
expect_usage "--syscall-ns '0': expected a whole number >= 1" lackey "$T/a.log" -o "$T/x" --syscall-ns 0
expect_usage "--syscall-ns '-5': expected a whole number >= 1" lackey "$T/a.log" -o "$T/x" --syscall-ns -5
expect_usage "--syscall-ns '1e3': expected a whole number >= 1" lackey "$T/a.log" -o "$T/x" --syscall-ns 1e3
expect_usage "--syscall-ns '': expected a whole number >= 1" lackey "$T/a.log" -o "$T/x" --syscall-ns ''
expect_usage "--syscall-ns '99999999999999999999999': expected" lackey "$T/a.log" -o "$T/x" --syscall-ns 99999999999999999999999
expect_usage "--pid 'x': expected a process id" strace "$T/a.log" -o "$T/x" --pid x
expect_usage "--pid '9223372036854775808': expected a process id" strace "$T/a.log" -o "$T/x" --pid 9223372036854775808
expect_usage "unknown option '--pid'" lackey "$T/a.log" -o "$T/x" --pid 3
expect_usage "unexpected argument 'second.log'" lackey "$T/a.log" second.log -o "$T/x"
expect_usage "needs -o PREFIX" strace "$T/a.log"
expect_usage "needs a LOG" strace -o "$T/x"
expect_usage "unknown log kind 'perf'" perf "$T/a.log" -o "$T/x"
ls "$T" | grep -q '^x' && fail "a usage error wrote files: $(ls "$T")"

# strace --pid keeps one process: pid 101's write only
cat > "$T/s.log" <<'EOF'
100 10:00:00.000000 read(0x3, 0x7f0000001000, 0x340) = 0x340
101 10:00:00.000300 write(0x1, 0x7f0000003000, 0x10) = 0x10
100 10:00:00.001000 +++ exited with 0 +++
101 10:00:00.001000 +++ exited with 0 +++
EOF
"$BIN" trace import strace "$T/s.log" -o "$T/s" --pid 101 > "$T/out" 2>&1 || fail "import strace --pid: $(cat "$T/out")"
grep -qx "io.calls: 1" "$T/out" || fail "--pid 101 kept other calls: $(cat "$T/out")"
grep -q "cpu.trace" "$T/out" && fail "an strace import wrote a CPU trace"
"$BIN" trace import strace "$T/s.log" -o "$T/s2" > "$T/out" 2>&1 || fail "import strace"
grep -qx "io.calls: 2" "$T/out" || fail "strace without --pid: $(cat "$T/out")"
echo "cli_import_opts: ok"

# Shared by scripts/capture_*.sh: run a program under valgrind lackey and
# under strace, import both logs with scimitar, and write the bundled files:
#   traces/NAME.dev.trace.gz, traces/NAME.cpu.trace.gz   (from the lackey log)
#   traces/NAME.strace.log.gz                            (the strace log itself)
#   configs/real_NAME.yaml                               (replays the traces under each scheme)
# Debian 12 (bookworm) packages: valgrind 1:3.19.0-1, strace 6.1-0.1
#     apt-get install valgrind strace
# The recipes are the ones docs/locality.md describes. A capture is not
# byte-for-byte repeatable across machines (library versions, the
# environment and the file system change the addresses and calls), so the
# test suite checks the bundled files' properties, not their bytes.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(realpath "${1:-$HERE/build/scimitar}")
OUT=$(realpath "${2:-$HERE}")
export SC_COPYRIGHT_MESSAGE=DISABLE
IO_CALLS=read,write,pread64,pwrite64,readv,writev,preadv,pwritev,preadv2,pwritev2,recvfrom,sendto,recvmsg,sendmsg,recvmmsg,sendmmsg
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# lackey_run LOG CMD...: CMD under lackey, its log in LOG.
lackey_run() {
    local log=$1
    shift
    valgrind --tool=lackey --trace-mem=yes --trace-syscalls=yes --log-file="$log" "$@"
}

# strace_run LOG CMD...: CMD under strace, its log in LOG.
strace_run() {
    local log=$1
    shift
    strace -f -tt -e trace=$IO_CALLS -e raw=all -o "$log" "$@"
}

# bundle NAME "DESCRIPTION": import $W/NAME.lackey.log and
# $W/NAME.strace.log, copy the traces and the strace log, and write
# configs/real_NAME.yaml from the importer's config.
bundle() {
    local name=$1 what=$2
    mkdir -p "$OUT/traces" "$OUT/configs"
    "$BIN" trace import lackey "$W/$name.lackey.log" -o "$W/$name" --quiet
    "$BIN" trace import strace "$W/$name.strace.log" -o "$W/${name}_strace" --quiet
    cp "$W/$name.dev.trace.gz" "$W/$name.cpu.trace.gz" "$OUT/traces/"
    gzip -9 -n -c "$W/$name.strace.log" > "$OUT/traces/$name.strace.log.gz"
    {
        echo "# $what"
        echo "# Captured by scripts/capture_$name.sh with valgrind lackey and imported by"
        echo "# \`scimitar trace import lackey\` (docs/locality.md): cpu0 replays the"
        echo "# program's data accesses, dev0 the transfers of its I/O system calls, in"
        echo "# one address space. Run one scheme, or all three as a sweep:"
        echo "#     scimitar run configs/real_$name.yaml --set scheme=pin"
        echo "#     scimitar sweep configs/real_$name.yaml -j 3"
        grep -v '^#' "$W/$name.yaml" |
            sed -e "s|trace: $name\\.|trace: ../traces/$name.|" \
                -e 's|^scheme: scimitar$|scheme: scimitar\nsim: {check_invariants: true}|'
        echo "sweep:"
        echo "  parameters:"
        echo "    scheme: [scimitar, pin, iommu-map]"
        echo "  plot:"
        echo "    metric: dev0.dma.latency.mean"
        echo "    x: scheme"
    } > "$OUT/configs/real_$name.yaml"
    echo "wrote $OUT/traces/$name.{dev,cpu}.trace.gz, $OUT/traces/$name.strace.log.gz, $OUT/configs/real_$name.yaml"
}

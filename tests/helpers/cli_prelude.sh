# Sourced by the CLI shell tests, whose arguments are SCIMITAR SOURCE_DIR:
#   . "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
# BIN and SRC (absolute), a temporary directory T removed on exit, fail(),
# expect STATUS MESSAGE COMMAND... and nic_yaml [MAX_TIME]: a short run of the bundled NIC trace (100 us by
# default), a point of a sweep taking a fraction of a second.
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The command exits with STATUS and its stderr holds MESSAGE (a fixed
# string); its output and errors stay in $T/e.out and $T/e.err.
expect() {
    local want=$1 msg=$2
    shift 2
    "$@" > "$T/e.out" 2> "$T/e.err"
    local rc=$?
    [ $rc -eq "$want" ] || fail "$*: exit status $rc, expected $want: $(cat "$T/e.err")"
    grep -qF -- "$msg" "$T/e.err" || fail "$*: message: $(cat "$T/e.err")"
}

nic_yaml() {
    cat <<YAML
sim: {max_time: ${1:-100us}}
processes:
  app:
    pasid: 1
    regions:
      - {va: 0x7f0000000000, size: 64KiB, populate: true}
      - {va: 0x7f0000100000, size: 4MiB, populate: false}
devices:
  nic0: {trace: $SRC/traces/nic_rx.trace.gz, pasid: 1, iotlb: {ways: 4}}
YAML
}

# Sourced by the CLI shell tests, whose arguments are SCIMITAR SOURCE_DIR:
#   . "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
# BIN and SRC (absolute), a temporary directory T removed on exit, fail(),
# and nic_yaml [MAX_TIME]: a short run of the bundled NIC trace (100 us by
# default), a point of a sweep taking a fraction of a second.
set -u
BIN=$(realpath "$1")
SRC=$(realpath "$2")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

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

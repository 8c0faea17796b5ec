#!/usr/bin/env bash
# scimitar validate writing its markdown where it does not fit: /dev/full
# takes the file but not its contents, so the error shows at the close;
# exit 1 with the path and the system's reason (it once exited 1 without
# a word). --markdown without its FILE is a usage error (exit 2).
# Expected values: the exact message and exit status.
# usage: cli_validate_edges.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
cd "$T" || exit 1
[ -w /dev/full ] || { echo "cli_validate_edges: skipped (no /dev/full)"; exit 0; }
"$BIN" validate --markdown /dev/full > out 2> err; rc=$?
[ $rc -eq 1 ] || fail "validate --markdown /dev/full: exit status $rc, expected 1"
grep -qxF "scimitar: cannot write /dev/full: No space left on device" err || fail "message: $(cat err)"
"$BIN" validate --markdown > out 2> err; rc=$?
[ $rc -eq 2 ] || fail "validate --markdown without FILE: exit status $rc, expected 2"
grep -qxF "usage: scimitar validate [--markdown FILE|-]" err || fail "usage: $(cat err)"
echo "cli_validate_edges: ok"

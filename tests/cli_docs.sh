#!/usr/bin/env bash
# docs/config.md and docs/stats.md are generated from the declaration tables
# in the code; they must not drift. Regenerate with:
#   build/scimitar doc config > docs/config.md; build/scimitar doc stats > docs/stats.md
#   build/scimitar trace gen --doc > docs/workloads.md
set -u
BIN=$1
SRC=$2
"$BIN" doc config | diff -u "$SRC/docs/config.md" - || { echo "FAIL: docs/config.md is stale"; exit 1; }
"$BIN" doc stats | diff -u "$SRC/docs/stats.md" - || { echo "FAIL: docs/stats.md is stale"; exit 1; }
"$BIN" trace gen --doc | diff -u "$SRC/docs/workloads.md" - || { echo "FAIL: docs/workloads.md is stale"; exit 1; }
"$BIN" validate --markdown - 2> /dev/null | diff -u "$SRC/docs/validation.md" - ||
    { echo "FAIL: docs/validation.md is stale (scimitar validate --markdown docs/validation.md)"; exit 1; }
"$BIN" validate > /dev/null || { echo "FAIL: scimitar validate: a published figure is not reproduced"; exit 1; }
echo "cli_docs: docs in sync"

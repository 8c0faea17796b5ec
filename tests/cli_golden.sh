#!/usr/bin/env bash
# Every bundled configuration, sweep point and scheme variant gives the
# statistics recorded in tests/golden/stats.json.gz, key by key. An
# intentional change of numbers re-records the file
# (scripts/golden.py record build/scimitar tests/golden/stats.json.gz) and
# says why in the commit. usage: cli_golden.sh SCIMITAR SOURCE_DIR
set -eu
exec python3 "$2/scripts/golden.py" compare "$1" "$2/tests/golden/stats.json.gz"

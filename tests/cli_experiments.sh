#!/usr/bin/env bash
# The tables of docs/experiments.md are what the sweeps of
# configs/exp_{a..e}_*.yaml measure: read from the golden statistics, which
# hold every point of those sweeps and which cli_golden checks against this
# binary run by run (so the tables are this binary's, without running the
# sweeps a second time). An intentional change of numbers re-records the
# golden file, regenerates the tables (python3 scripts/experiment_tables.py
# build/scimitar --write docs/experiments.md) and rewrites the text that
# explains them.
# usage: cli_experiments.sh SCIMITAR SOURCE_DIR
set -eu
exec python3 "$2/scripts/experiment_tables.py" "$1" --golden "$2/tests/golden/stats.json.gz" \
    --check "$2/docs/experiments.md"

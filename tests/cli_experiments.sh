#!/usr/bin/env bash
# The tables of docs/experiments.md are what the sweeps of
# configs/exp_{a..e}_*.yaml measure with this binary (about 20 s, one point
# at a time). An intentional change of numbers regenerates them
# (python3 scripts/experiment_tables.py build/scimitar --write
# docs/experiments.md) and rewrites the text that explains them.
# usage: cli_experiments.sh SCIMITAR SOURCE_DIR
set -eu
exec python3 "$2/scripts/experiment_tables.py" "$1" --check "$2/docs/experiments.md"

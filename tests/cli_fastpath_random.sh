#!/usr/bin/env bash
# Random variations of the bundled configurations (scripts/fastpath_random.py):
# 16 runs with sim.fast_path on and off, byte-identical stats.json and the
# fast path used in at least a quarter of them; 8 runs on the native and
# the SystemC kernel, byte-identical. A longer search:
# scripts/fastpath_random.py [--backends] build/scimitar 2000 SEED.
# usage: cli_fastpath_random.sh SCIMITAR SOURCE_DIR
set -eu
python3 "$2/scripts/fastpath_random.py" "$1" 16 2
python3 "$2/scripts/fastpath_random.py" --backends "$1" 8 2

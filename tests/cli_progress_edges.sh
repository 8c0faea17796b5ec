#!/usr/bin/env bash
# scimitar run's progress display where cli_progress.sh does not look:
#  - --progress bar into a file (not a terminal: no window size, so the
#    80 columns of a plain terminal): each redraw is "\r" + at most 79
#    characters + "\033[K", the last one clears the line, and stats.json
#    is byte-identical to the run without progress;
#  - SCIMITAR_PROGRESS_INTERVAL that is not a number >= 0 ("", "abc",
#    "-1", "2s") is ignored: line mode keeps its 30 s interval, so a short
#    run prints no line, where 0 prints lines.
# usage: cli_progress_edges.sh SCIMITAR SOURCE_DIR
. "$(dirname "$0")/helpers/cli_prelude.sh" "$@"
cd "$T" || exit 1
nic_yaml 2ms > nic.yaml
"$BIN" run nic.yaml --out off --progress off --quiet 2> off.err || fail "run --progress off"
[ -s off.err ] && fail "--progress off printed: $(cat off.err)"

SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" run nic.yaml --out bar --progress bar --quiet 2> bar.err || fail "run --progress bar"
cmp -s off/stats.json bar/stats.json || fail "stats.json differs with the bar drawn into a file"
python3 - bar.err <<'PY' || fail "the bar drawn into a file: $(cat -A bar.err | head -c 600)"
import sys
text = open(sys.argv[1], "rb").read().decode()
assert text.startswith("\r") and text.endswith("\r\x1b[K"), repr(text[-20:])
draws = text[1:-4].split("\r")
assert len(draws) >= 1, "no redraw"
for d in draws:
    assert d.endswith("\x1b[K"), repr(d)
    line = d[:-3]
    assert line.startswith("sim ") and " | trace " in line and " | ETA " in line, repr(line)
    assert len(line) <= 79, (len(line), line)
PY

SCIMITAR_PROGRESS_INTERVAL=0 "$BIN" run nic.yaml --out l0 --progress line --quiet 2> l0.err || fail "line, interval 0"
grep -q "^scimitar: progress: simulated " l0.err || fail "interval 0 printed no line: $(cat l0.err)"
for v in "" abc -1 2s; do
    SCIMITAR_PROGRESS_INTERVAL=$v "$BIN" run nic.yaml --out "l_$v" --progress line --quiet 2> lv.err ||
        fail "line, interval '$v'"
    [ -s lv.err ] && fail "SCIMITAR_PROGRESS_INTERVAL='$v' was not ignored: $(cat lv.err)"
    cmp -s off/stats.json "l_$v/stats.json" || fail "stats.json differs with interval '$v'"
done
echo "cli_progress_edges: ok"

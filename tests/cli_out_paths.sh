#!/usr/bin/env bash
# The forms an --out directory takes: trailing and doubled slashes and a
# bare relative name all write into that directory; a path that runs
# through a file, however deep, is refused before the run and names the
# file (it used to say only "Not a directory"). cli_outputs.sh covers
# read-only places and -o files.
# usage: cli_out_paths.sh SCIMITAR SOURCE_DIR
set -u
BIN=$(realpath "$1")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$T" || exit 1
printf 'sim: {max_time: 1us}\n' > c.yaml
for out in "a/b///" "c//d/" "rel"; do
    "$BIN" run c.yaml --quiet --out "$out" 2> err || fail "--out '$out': $(cat err)"
    dir=$(echo "$out" | tr -s / | sed 's:/$::')
    [ -s "$dir/stats.json" ] && [ -s "$dir/config.yaml" ] || fail "--out '$out' did not write into $dir"
done
: > afile
for out in afile/x afile/x/y/z; do
    "$BIN" run c.yaml --quiet --out "$out" 2> err; rc=$?
    [ $rc -eq 1 ] || fail "--out $out under a file: exit status $rc"
    [ "$(cat err)" = "scimitar: cannot create output directory $out: afile is a file, not a directory; give another --out DIR" ] ||
        fail "--out $out under a file: $(cat err)"
done
[ "$(ls -A | sort | tr '\n' ' ')" = "a afile c c.yaml err rel " ] || fail "left behind: $(ls -A)"
echo "cli_out_paths: ok"

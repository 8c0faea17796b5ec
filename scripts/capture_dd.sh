#!/usr/bin/env bash
# Capture dd copying a 2 MiB file in 16 KiB blocks: 128 reads into one
# page-aligned buffer, each followed by a write from it. The program never
# touches the data itself, the opposite of sqlite3 (scripts/capture_sqlite.sh).
#
# Debian 12 (bookworm) packages: coreutils 9.1-1, valgrind 1:3.19.0-1,
# strace 6.1-0.1, libc6 2.36-9+deb12u14
#     apt-get install coreutils valgrind strace
# usage: scripts/capture_dd.sh [SCIMITAR [OUTDIR]]   (OUTDIR: the source tree)
source "$(dirname "$0")/capture_common.sh"

cd "$W"
head -c 2097152 /dev/zero > in.bin
lackey_run "$W/dd.lackey.log" dd if=in.bin of=out.bin bs=16k 2> /dev/null
rm -f out.bin
strace_run "$W/dd.strace.log" dd if=in.bin of=out.bin bs=16k 2> /dev/null
bundle dd "dd (coreutils 9.1, Debian 12) copying a 2 MiB file in 16 KiB blocks."

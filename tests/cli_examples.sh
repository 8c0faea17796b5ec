#!/usr/bin/env bash
# The examples build and run against the installed package only (nothing
# from the source or build tree on their include or library paths):
# examples/embed_c with pkg-config and its Makefile, examples/systemc_tlm
# with find_package(scimitar CONFIG). Their output must show what each
# promises: callbacks with physical addresses, a fault, the invalidation
# an unmap from the program causes, a refused DMA; translation times from
# the TLM adapter and an address error.
# usage: cli_examples.sh SCIMITAR SOURCE_DIR LIBSCIMITAR_SO
set -u
BIN=$1
SRC=$2
BUILD=$(dirname "$BIN")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$BUILD" --prefix "$T/prefix" > /dev/null || fail "cmake --install"
cp -r "$SRC/examples" "$T/examples"

# a library built with the sanitizers (CI) needs them in the programs that link it
SAN=""
ldd "$T/prefix/lib/libscimitar.so.0" | grep -q libasan && SAN="-fsanitize=address,undefined"
# A coverage build (scripts/coverage.sh) installs a static library that
# calls gcov's runtime: the examples link it too (and add to the counts).
grep -q '^CMAKE_C_FLAGS:STRING=.*--coverage' "$BUILD/CMakeCache.txt" 2> /dev/null && SAN="$SAN --coverage"

# embed_c: pkg-config, a plain Makefile
export PKG_CONFIG_PATH=$T/prefix/lib/pkgconfig
make -s -C "$T/examples/embed_c" CFLAGS="-O1 -Wall -Wextra -Werror $SAN" > "$T/make.log" 2>&1 ||
    { cat "$T/make.log"; fail "embed_c does not build against the installed package"; }
(cd "$T/examples/embed_c" && ./embed_c nic.yaml "$T/embed_stats") > "$T/embed.out" 2> "$T/embed.err" ||
    { cat "$T/embed.out" "$T/embed.err"; fail "embed_c failed"; }
out=$T/embed.out
[ "$(grep -c '^completion  nic0  tag [0-3]: write 1500 bytes' "$out")" = 4 ] || fail "embed_c: four ring writes"
grep -q '^fault       nic0  tag 100: I/O page fault at va 0x20000000' "$out" || fail "embed_c: the heap fault"
grep -q '^fault       nic0  va 0x20000000 resolved' "$out" || fail "embed_c: fault resolved"
grep -q '^invalidate  nic0  pasid 1 va 0x10000000 + 4096 bytes: 1 entries removed' "$out" ||
    fail "embed_c: the munmap's invalidation"
grep -q '^os call     tag 1: done' "$out" || fail "embed_c: the munmap answered"
grep -q '^            tag 200 failed: SCIM_ENOENT' "$out" || fail "embed_c: DMA to the unmapped page refused"
grep -q '^stats       6 DMAs' "$out" || fail "embed_c: stats"
# the ring writes' physical addresses are the OS's frames: distinct, page-aligned pieces
[ "$(grep '^completion  nic0  tag [0-3]:' "$out" | sed 's/.*-> pa //; s/,.*//' | sort -u | wc -l)" = 4 ] ||
    fail "embed_c: four distinct physical addresses"
[ -s "$T/embed_stats/stats.json" ] || fail "embed_c: stats written"
[ ! -s "$T/embed.err" ] || { cat "$T/embed.err"; fail "embed_c printed to stderr (the library never prints)"; }

# systemc_tlm: find_package
cmake -S "$T/examples/systemc_tlm" -B "$T/tlm_build" -DCMAKE_PREFIX_PATH="$T/prefix" -DCMAKE_CXX_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN" > "$T/cmake.log" 2>&1 ||
    { cat "$T/cmake.log"; fail "systemc_tlm: find_package(scimitar)"; }
cmake --build "$T/tlm_build" > "$T/build.log" 2>&1 || { cat "$T/build.log"; fail "systemc_tlm does not build"; }
(cd "$T/examples/systemc_tlm" && SC_COPYRIGHT_MESSAGE=DISABLE "$T/tlm_build/systemc_tlm" platform.yaml) \
    > "$T/tlm.out" 2>&1 || { cat "$T/tlm.out"; fail "systemc_tlm failed"; }
out=$T/tlm.out
[ "$(grep -c '^dma write va 0x[0-9a-f]*: ok, translation' "$out")" = 5 ] || { cat "$out"; fail "systemc_tlm: five ok"; }
grep -q '^dma write va 0x10000100: ok, translation 1.000 ns' "$out" || { cat "$out"; fail "systemc_tlm: an IOTLB hit"; }
grep -q '^dma write va 0x30000000: TLM_ADDRESS_ERROR_RESPONSE' "$out" || fail "systemc_tlm: address error"
grep -q '^6 translations, 1 address errors, 2 I/O page faults' "$out" || { cat "$out"; fail "systemc_tlm: summary"; }
echo "cli_examples: embed_c (pkg-config) and systemc_tlm (find_package) build and run against the installed package"

#!/usr/bin/env bash
# The installed package is usable on its own: install the build into a
# temporary prefix, move it (the package is relocatable), then build and
# run a C program against it with pkg-config (shared and static) and with
# find_package(scimitar CONFIG) (shared and static). No sc_main anywhere:
# the library's weak one serves.
# usage: cli_install.sh SCIMITAR SOURCE_DIR LIBSCIMITAR_SO
set -u
BIN=$1
BUILD=$(dirname "$BIN")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$BUILD" --prefix "$T/staging" > /dev/null || fail "cmake --install"
mv "$T/staging" "$T/prefix"
P=$T/prefix
for f in include/scimitar/scimitar.h include/scimitar/kernel.h include/scimitar/trace.h include/scimitar/host.h include/scimitar/version.h \
         lib/libscimitar.a lib/pkgconfig/scimitar.pc lib/cmake/scimitar/scimitarConfig.cmake bin/scimitar; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
[ -e "$P"/lib/libscimitar.so.0 ] || fail "no versioned soname libscimitar.so.0"
ls "$P"/include/scimitar | grep -qv -e scimitar.h -e kernel.h -e trace.h -e host.h -e tlm.h -e version.h && fail "private headers installed"
cat > "$T/app.c" <<'C'
#include <stdio.h>
#include "scimitar/scimitar.h"
int main(void)
{
    if (scim_version_number() != SCIM_VERSION_NUMBER)
        return 3;
    scim_sim *s = scim_sim_create();
    int rc = scim_sim_load_string(s, "kernel: {backend: native}\n", "app");
    if (!rc)
        rc = scim_sim_build(s);
    if (!rc)
        rc = scim_sim_run(s);
    double t = -1;
    if (!rc)
        rc = scim_stats_lookup(scim_sim_stats(s), "sim.time_ps", &t);
    printf("%s rc=%d time=%.0f\n", scim_version_string(), rc, t);
    scim_sim_destroy(s);
    return rc != 0;
}
C
# A sanitized build (scripts/test.sh: -DSCIM_SANITIZE=ON) installs a
# library that needs the sanitizer runtimes: its programs are linked with
# the same sanitizers, so that the ASan runtime comes first.
SAN=
grep -q '^SCIM_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2> /dev/null && SAN="-fsanitize=address,undefined"
# A coverage build (scripts/coverage.sh) installs a static library that
# calls gcov's runtime.
grep -q '^CMAKE_C_FLAGS:STRING=.*--coverage' "$BUILD/CMakeCache.txt" 2> /dev/null && SAN="$SAN --coverage"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
cc $SAN "$T/app.c" $(pkg-config --cflags --libs scimitar) -Wl,-rpath,"$P/lib" -o "$T/app_pc" || fail "pkg-config build"
"$T/app_pc" > /dev/null || fail "pkg-config (shared) program"
cc $SAN "$T/app.c" $(pkg-config --cflags scimitar) "$P/lib/libscimitar.a" $(pkg-config --static --libs scimitar | sed 's/-lscimitar//') \
    -o "$T/app_pcs" || fail "pkg-config --static build"
"$T/app_pcs" > /dev/null || fail "pkg-config (static) program"
mkdir "$T/cm"
cat > "$T/cm/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(app C CXX)
find_package(scimitar CONFIG REQUIRED)
add_executable(app_shared $T/app.c)
target_link_libraries(app_shared PRIVATE scimitar::scimitar)
add_executable(app_static $T/app.c)
target_link_libraries(app_static PRIVATE scimitar::scimitar_static)
CM
cmake -S "$T/cm" -B "$T/cm/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN" > /dev/null || fail "find_package(scimitar)"
cmake --build "$T/cm/build" > /dev/null || fail "find_package build"
"$T/cm/build/app_shared" > /dev/null || fail "find_package (shared) program"
"$T/cm/build/app_static" > /dev/null || fail "find_package (static) program"
echo "cli_install: installed package works with pkg-config and find_package, shared and static"

#!/usr/bin/env bash
# install-test.sh BUILD_DIR [CC] — checks the installed package works.
#
# Installs BUILD_DIR into a scratch prefix, then builds examples/embed/embed.c
# against that prefix three ways and runs each: find_package(secdet) with
# secdet::secdet and secdet::secdet_static, and pkg-config (shared). Nothing
# outside the scratch directory is touched; it is removed at the end.
set -euo pipefail

build_dir=$(cd "$1" && pwd)
cc=${2:-cc}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/secdet-install-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix

step() { printf '== %s\n' "$*"; }

step "cmake --install into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$scratch/install.log" || {
    cat "$scratch/install.log"; exit 1; }

for f in include/secdet.h bin/secdet; do
    [[ -e $prefix/$f ]] || { echo "missing after install: $f"; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name 'libsecdet.so.*' -type f | head -n1)")
[[ -n $libdir && -e $libdir/libsecdet.a && -e $libdir/pkgconfig/secdet.pc ]] || {
    echo "libraries or secdet.pc missing under $prefix"; find "$prefix"; exit 1; }
soname=$(objdump -p "$libdir"/libsecdet.so.*.*.* 2>/dev/null | awk '/SONAME/ {print $2}')
[[ $soname == libsecdet.so.* ]] || { echo "unexpected soname: '$soname'"; exit 1; }
step "soname $soname"

step "find_package(secdet)"
cmake -S "$here" -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release >"$scratch/configure.log" || {
    cat "$scratch/configure.log"; exit 1; }
cmake --build "$scratch/cmake-build" >"$scratch/build.log" 2>&1 || {
    cat "$scratch/build.log"; exit 1; }
"$scratch/cmake-build/embed" >/dev/null
step "secdet::secdet ran"
"$scratch/cmake-build/embed_static" >/dev/null
step "secdet::secdet_static ran"

step "pkg-config secdet"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pkg-config --exists --print-errors secdet
step "secdet.pc version $(pkg-config --modversion secdet)"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "$here/embed.c" -o "$scratch/embed-pc" \
      $(pkg-config --cflags --libs secdet)
# No LD_LIBRARY_PATH: for a prefix outside the system's directories secdet.pc
# puts an rpath to libdir in Libs.
env -u LD_LIBRARY_PATH "$scratch/embed-pc" >/dev/null
step "pkg-config build ran"
# The static archive through pkg-config --static (its private dependencies).
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror "$here/embed.c" -o "$scratch/embed-pc-static" \
      -I"$prefix/include" "$libdir/libsecdet.a" $(pkg-config --static --libs secdet | sed "s/-lsecdet\b//")
"$scratch/embed-pc-static" >/dev/null
step "pkg-config --static build ran"
echo "install tree OK"

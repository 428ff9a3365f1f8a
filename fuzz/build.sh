#!/bin/bash -eu
# build.sh — builds libsecdet's fuzz targets the way OSS-Fuzz does.
#
# Environment (set by OSS-Fuzz / ClusterFuzzLite, or by run-fuzzers.sh):
#   CC CXX CFLAGS CXXFLAGS   compilers and flags with the sanitizer and coverage
#                            instrumentation chosen by the infrastructure
#   LIB_FUZZING_ENGINE       the fuzzing engine to link (-fsanitize=fuzzer, or a library)
#   OUT                      where the fuzzers, dictionaries, .options and
#                            <target>_seed_corpus.zip files go
#   SRC, WORK                source and scratch directories
#
# libsecdet's sources are compiled directly with $CC $CFLAGS (no CMake), so
# every line of the library is instrumented. Dependencies:
#   - cJSON and PCRE2: built from source with the same flags when the
#     Dockerfile cloned them into $SRC/cjson and $SRC/pcre2 (what OSS-Fuzz
#     uses: the fuzzers must not need shared libraries at run time); else the
#     system's, through pkg-config (a local run).
#   - zlib, libcrypto (and libuv, libcurl once a source includes them): the
#     system's; static archives in the OSS-Fuzz build.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -f $HERE/../include/secdet.h ]]; then
    ROOT=$(cd "$HERE/.." && pwd)         # run from the repository (fuzz/build.sh)
else
    ROOT=$SRC/libsecdet                  # OSS-Fuzz copies build.sh to $SRC
fi
FUZZ=$ROOT/fuzz
WORK=${WORK:-$(mktemp -d)}
CXX=${CXX:-clang++}
CXXFLAGS=${CXXFLAGS:-$CFLAGS}
# fuzz/targets: a name a line, then the program sources (not in the library)
# that target needs.
TARGETS=()
declare -A EXTRA=()
while read -r name needs; do
    [[ $name =~ ^[a-z] ]] || continue
    TARGETS+=("$name")
    EXTRA[$name]=$needs
done <"$FUZZ/targets"

OBJ=$WORK/secdet-obj
DEPS=$WORK/secdet-deps
rm -rf "$OBJ"
mkdir -p "$OBJ" "$DEPS/include/cjson" "$OUT"

DEP_CFLAGS=()
DEP_LIBS=()

# cJSON: two files.
if [[ -d $SRC/cjson && -f $SRC/cjson/cJSON.c ]]; then
    cp "$SRC/cjson/cJSON.h" "$DEPS/include/cjson/cJSON.h"
    $CC $CFLAGS -c "$SRC/cjson/cJSON.c" -o "$DEPS/cJSON.o"
    DEP_CFLAGS+=(-I"$DEPS/include")
    DEP_LIBS+=("$DEPS/cJSON.o")
else
    read -r -a f <<<"$(pkg-config --cflags libcjson)"; DEP_CFLAGS+=("${f[@]}")
    read -r -a f <<<"$(pkg-config --libs libcjson)"; DEP_LIBS+=("${f[@]}")
fi

# PCRE2: a static library of the 8-bit code units, no JIT (the fuzzers then
# exercise the interpreter and its match/depth limits, which instrumentation sees).
if [[ -d $SRC/pcre2 && -f $SRC/pcre2/CMakeLists.txt ]]; then
    if [[ ! -f $DEPS/pcre2/lib/libpcre2-8.a ]]; then
        cmake -S "$SRC/pcre2" -B "$WORK/pcre2-build" -DCMAKE_C_COMPILER="$CC" \
            -DCMAKE_C_FLAGS="$CFLAGS" -DBUILD_SHARED_LIBS=OFF -DPCRE2_BUILD_PCRE2_8=ON \
            -DPCRE2_BUILD_PCRE2GREP=OFF -DPCRE2_BUILD_TESTS=OFF -DPCRE2_SUPPORT_JIT=OFF \
            -DCMAKE_INSTALL_PREFIX="$DEPS/pcre2" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
        cmake --build "$WORK/pcre2-build" -j "$(nproc)" --target install >/dev/null
    fi
    DEP_CFLAGS+=(-I"$DEPS/pcre2/include")
    DEP_LIBS+=("$DEPS/pcre2/lib/libpcre2-8.a")
else
    read -r -a f <<<"$(pkg-config --cflags libpcre2-8)"; DEP_CFLAGS+=("${f[@]}")
    read -r -a f <<<"$(pkg-config --libs libpcre2-8)"; DEP_LIBS+=("${f[@]}")
fi

# libsecdet: every library source (what the root CMakeLists.txt globs) —
# src/ and its folders but the programs (cli, lambda).
shopt -s nullglob
sources=()
for s in "$ROOT"/src/*.c "$ROOT"/src/*/*.c; do
    case ${s#"$ROOT"/src/} in cli/* | lambda/*) continue ;; esac
    sources+=("$s")
done

# Static archives when building for OSS-Fuzz (fuzzers there must run
# without the builder's shared libraries); shared ones locally.
OSS_FUZZ_MODE=0
[[ -n ${SRC:-} && -d $SRC/cjson ]] && OSS_FUZZ_MODE=1
static_or_l() { # static_or_l NAME [ARCHIVE...]: the first archive found, else -lNAME
    local name=$1 dir a
    shift
    if [[ $OSS_FUZZ_MODE == 1 ]]; then
        for a in "$@" "lib$name.a"; do
            for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
                [[ -f $dir/$a ]] && { echo "$dir/$a"; return; }
            done
        done
    fi
    echo "-l$name"
}
# Optional dependencies, linked only when some source uses them.
if grep -lq '#include <uv.h>' "${sources[@]}" "$ROOT"/src/*/*.h 2>/dev/null; then
    read -r -a f <<<"$(pkg-config --cflags libuv)"; DEP_CFLAGS+=("${f[@]}")
    DEP_LIBS+=("$(static_or_l uv libuv_a.a)")
fi
if grep -lq '#include <curl/curl.h>' "${sources[@]}" 2>/dev/null; then
    read -r -a f <<<"$(pkg-config --cflags libcurl)"; DEP_CFLAGS+=("${f[@]}")
    read -r -a f <<<"$(pkg-config --libs libcurl)"; DEP_LIBS+=("${f[@]}")
fi
if grep -lq '#include <librdkafka/rdkafka.h>' "${sources[@]}" "$ROOT"/src/*/*.h 2>/dev/null; then
    # librdkafka: shared (its static archive needs lz4, zstd, sasl... archives
    # too). OSS-Fuzz's image installs librdkafka-dev (Dockerfile).
    read -r -a f <<<"$(pkg-config --cflags rdkafka)"; DEP_CFLAGS+=("${f[@]}")
    read -r -a f <<<"$(pkg-config --libs rdkafka)"; DEP_LIBS+=("${f[@]}")
fi
DEP_LIBS+=("$(static_or_l z)" "$(static_or_l ssl)" "$(static_or_l crypto)" -lm -ldl -lpthread)

SECDET_CFLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$ROOT/include" -I"$ROOT/src")
objects=()
for s in "${sources[@]}"; do
    rel=${s#"$ROOT"/src/}
    o=$OBJ/${rel//\//_}.o
    # shellcheck disable=SC2086
    $CC $CFLAGS "${SECDET_CFLAGS[@]}" "${DEP_CFLAGS[@]}" -c "$s" -o "$o" &
    objects+=("$o")
    if (( ${#objects[@]} % $(nproc) == 0 )); then wait; fi
done
wait
for o in "${objects[@]}"; do [[ -f $o ]] || { echo "build.sh: failed to compile ${o##*/}" >&2; exit 1; }; done
rm -f "$WORK/libsecdet_fuzz.a"
ar rcs "$WORK/libsecdet_fuzz.a" "${objects[@]}"

zip_corpus() { # zip_corpus OUT.zip DIR
    local zip=$1 dir=$2
    rm -f "$zip"
    if command -v zip >/dev/null 2>&1; then
        (cd "$dir" && zip -q -r "$zip" .)
    else
        python3 - "$zip" "$dir" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(sys.argv[2])):
        z.write(os.path.join(sys.argv[2], name), name)
PY
    fi
}

for t in "${TARGETS[@]}"; do
    # shellcheck disable=SC2086
    $CC $CFLAGS "${SECDET_CFLAGS[@]}" "${DEP_CFLAGS[@]}" -c "$FUZZ/fuzz_$t.c" -o "$WORK/fuzz_$t.o"
    extra=()
    for s in ${EXTRA[$t]}; do # program sources (src/cli, src/lambda) the library does not hold
        o=$WORK/${s//\//_}.o
        # shellcheck disable=SC2086
        $CC $CFLAGS "${SECDET_CFLAGS[@]}" "${DEP_CFLAGS[@]}" -c "$ROOT/$s" -o "$o"
        extra+=("$o")
    done
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS "$WORK/fuzz_$t.o" "${extra[@]}" -o "$OUT/fuzz_$t" $LIB_FUZZING_ENGINE \
        "$WORK/libsecdet_fuzz.a" "${DEP_LIBS[@]}"
    cp "$FUZZ/fuzz_$t.dict" "$OUT/fuzz_$t.dict"
    cp "$FUZZ/fuzz_$t.options" "$OUT/fuzz_$t.options"
    zip_corpus "$OUT/fuzz_${t}_seed_corpus.zip" "$FUZZ/corpus/$t"
done
echo "build.sh: ${#TARGETS[@]} fuzzers in $OUT"

#!/usr/bin/env bash
# run.sh — one entry point for a fresh checkout.
#
#   ./run.sh demo    install deps, build, scan the sample CloudTrail log with the CIS rules
#   ./run.sh test    install deps, build, run every test: ctest (gcc build), ctest again
#                    under ASan+UBSan (clang build), the unit tests under valgrind,
#                    each fuzz target for a bounded time with libFuzzer (fuzz/run-fuzzers.sh),
#                    and the language bindings' tests (bindings/*/ci.sh)
#   ./run.sh build   install deps and build into build/
#   ./run.sh bench   run the benchmarks (bench/run.sh: its own Release build, peers side by side)
#
# Each step installs only what is missing (tools/install-deps.sh) and reuses
# the build trees, so a second run is quick. Environment knobs:
#   SECDET_JOBS=N            parallel build/test jobs (default: number of cores)
#   SECDET_SKIP_DEPS=1       do not run tools/install-deps.sh
#   SECDET_SKIP_ASAN=1       skip the sanitizer tree in `test`
#   SECDET_SKIP_VALGRIND=1   skip the valgrind pass in `test`
#   SECDET_ASAN_EXCLUDE=RE   ctest -E regex for the sanitizer tree (default: none)
#   SECDET_SKIP_FUZZ=1       skip the libFuzzer pass in `test` (fuzz/run-fuzzers.sh)
#   SECDET_FUZZ_SECONDS=N    seconds per fuzz target in `test` (default 60; SECDET_JOBS at once)
#   SECDET_SKIP_BINDINGS=1   skip the language bindings' tests (bindings/*/ci.sh) in `test`
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
JOBS=${SECDET_JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf '\n==> %s\n' "$*"; }

deps() {
    [[ ${SECDET_SKIP_DEPS:-0} == 1 ]] || tools/install-deps.sh
}

# configure DIR [cmake args...]: configures once with Ninja; later runs reuse
# the tree (and the generator it was made with).
configure() {
    local dir=$1
    shift
    local gen=(-G Ninja)
    [[ -f $dir/CMakeCache.txt ]] && gen=()
    mkdir -p "$dir"
    cmake -S . -B "$dir" "${gen[@]}" "$@" >"$dir/configure.log" 2>&1 || {
        cat "$dir/configure.log"
        return 1
    }
}

build_tree() {
    local dir=$1
    shift
    say "configure and build $dir/"
    configure "$dir" "$@"
    cmake --build "$dir" -j "$JOBS"
}

cmd_build() {
    deps
    build_tree build
}

cmd_demo() {
    deps
    say "configure and build build/secdet"
    configure build
    cmake --build build -j "$JOBS" --target secdet_cli
    local sample=examples/data/cloudtrail-sample.json.gz
    if [[ ! -f $sample ]]; then
        echo "run.sh: $sample is missing" >&2
        exit 1
    fi
    say "build/secdet scan --rules rules/aws/cis.secdet $sample"
    build/secdet scan --rules rules/aws/cis.secdet "$sample"
}

# Runs every unit test executable of build/ under valgrind; a leak or a memory
# error fails it. Ends with a plain "N passed, N failed" line.
valgrind_unit_tests() {
    local dir=$1 passed=0 failed=0 failures=()
    local -a cmd
    local name
    local -a vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
                 --errors-for-leak-kinds=definite,indirect --track-origins=yes
                 --suppressions="$ROOT/tools/valgrind.supp")
    while IFS= read -r line; do
        eval "cmd=($line)"
        name=${cmd[0]##*/}
        if (cd "$dir/tests" && timeout 600 "${vg[@]}" "${cmd[@]}" >"$ROOT/$dir/valgrind-$name.log" 2>&1); then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            failures+=("$name")
            echo "valgrind: $name FAILED; its output:"
            tail -n 60 "$ROOT/$dir/valgrind-$name.log"
        fi
    done < <(ctest --test-dir "$dir" --show-only=json-v1 |
                 jq -r '.tests[] | select(.name | startswith("unit.")) | .command | @sh')
    # The command end to end as well: compile every rule pack, scan the sample.
    local -a clis=()
    [[ -d rules ]] && clis+=("check rules")
    [[ -f examples/data/cloudtrail-sample.json.gz && -f rules/aws/cis.secdet ]] &&
        clis+=("scan --quiet --rules rules/aws/cis.secdet examples/data/cloudtrail-sample.json.gz")
    local args
    for args in "${clis[@]}"; do
        [[ -x $dir/secdet ]] || break
        name="secdet ${args%% *}"
        # shellcheck disable=SC2086
        if timeout 600 "${vg[@]}" "$dir/secdet" $args >"$dir/valgrind-cli-${args%% *}.log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            failures+=("$name")
            echo "valgrind: $name FAILED; its output:"
            tail -n 60 "$dir/valgrind-cli-${args%% *}.log"
        fi
    done
    ((${#failures[@]} == 0)) || echo "valgrind failures: ${failures[*]}"
    echo "valgrind: $passed passed, $failed failed"
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    ((failed == 0 && passed > 0))
}

# ctest_counted DIR ARGS...: runs ctest, keeps its output, adds its counts to
# TOTAL_PASSED / TOTAL_FAILED.
TOTAL_PASSED=0
TOTAL_FAILED=0
ctest_counted() {
    local dir=$1 rc=0 line total failed
    shift
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900 "$@" 2>&1 |
        tee "$dir/ctest.log" || rc=$?
    line=$(grep -E 'tests? failed out of [0-9]+' "$dir/ctest.log" | tail -n1 || true)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        failed=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
        TOTAL_PASSED=$((TOTAL_PASSED + total - failed))
        TOTAL_FAILED=$((TOTAL_FAILED + failed))
    elif ((rc != 0)); then
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    ((rc == 0)) && [[ -n $line ]]
}

cmd_test() {
    deps
    local status=0 results=()
    local started=$SECONDS built=0

    local t0=$SECONDS
    # 1. The normal build (the system compiler, gcc on Debian) and all its tests.
    if build_tree build; then
        built=1
        say "ctest --test-dir build"
        if ctest_counted build; then
            results+=("build: ctest passed ($((SECONDS - t0)) s with the build)")
        else
            results+=("build: ctest FAILED"); status=1
        fi
    else
        results+=("build: build FAILED"); status=1; TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi

    # 2. Clang with AddressSanitizer and UndefinedBehaviorSanitizer.
    t0=$SECONDS
    if [[ ${SECDET_SKIP_ASAN:-0} != 1 ]]; then
        local cc=clang
        command -v clang >/dev/null 2>&1 || cc=gcc
        if build_tree build-asan -DSECDET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
                -DCMAKE_C_COMPILER="$cc"; then
            say "ctest --test-dir build-asan (ASan+UBSan, $cc)"
            local exclude=()
            [[ -n ${SECDET_ASAN_EXCLUDE:-} ]] && exclude=(-E "$SECDET_ASAN_EXCLUDE")
            # The Kafka scale-out tests with fewer events: the same paths, a
            # sanitized Debug build is several times slower (tests/kafka).
            if ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
               SECDET_SCALEOUT_EVENTS=${SECDET_SCALEOUT_EVENTS:-200000} \
               SECDET_SCALEOUT_KILL_EVENTS=${SECDET_SCALEOUT_KILL_EVENTS:-100000} \
               ctest_counted build-asan "${exclude[@]}"; then
                results+=("build-asan: ctest passed ($((SECONDS - t0)) s with the build)")
            else
                results+=("build-asan: ctest FAILED"); status=1
            fi
        else
            results+=("build-asan: build FAILED"); status=1; TOTAL_FAILED=$((TOTAL_FAILED + 1))
        fi
    fi

    # 3. valgrind over the unit tests of the normal build.
    t0=$SECONDS
    if [[ ${SECDET_SKIP_VALGRIND:-0} != 1 && $built == 1 ]]; then
        say "valgrind over the unit tests of build/"
        if valgrind_unit_tests build; then
            results+=("valgrind: passed ($((SECONDS - t0)) s)")
        else
            results+=("valgrind: FAILED"); status=1
        fi
    fi

    # 4. Each fuzz target under libFuzzer with ASan+UBSan, for a bounded time
    #    (clang only; the corpora already ran as tests in steps 1 and 2).
    t0=$SECONDS
    if [[ ${SECDET_SKIP_FUZZ:-0} != 1 ]]; then
        if command -v clang >/dev/null 2>&1; then
            say "fuzz/run-fuzzers.sh (${SECDET_FUZZ_SECONDS:-60} s per target)"
            if FUZZ_SECONDS=${SECDET_FUZZ_SECONDS:-60} FUZZ_JOBS=$JOBS FUZZ_DIR=build-fuzz \
                    fuzz/run-fuzzers.sh; then
                results+=("fuzz: clean ($((SECONDS - t0)) s with the build)")
                TOTAL_PASSED=$((TOTAL_PASSED + 1))
            else
                results+=("fuzz: FAILED (build-fuzz/artifacts/)"); status=1
                TOTAL_FAILED=$((TOTAL_FAILED + 1))
            fi
        else
            results+=("fuzz: skipped (no clang)")
        fi
    fi

    # 5. The language bindings, against this build installed into build/prefix
    #    (each binding's ci.sh prints its own runner's summary: pytest, go test).
    #    The Python one builds its own C core with pip and uses the prefix
    #    only for its installed-library build; Go links the prefix's library.
    if [[ ${SECDET_SKIP_BINDINGS:-0} != 1 && $built == 1 ]]; then
        local prefix=$ROOT/build/prefix
        if ls bindings/*/ci.sh >/dev/null 2>&1; then
            say "cmake --install build --prefix build/prefix"
            cmake --install build --prefix "$prefix" >build/install.log 2>&1 || {
                cat build/install.log; results+=("bindings: install FAILED"); status=1; }
        fi
        local ci
        for ci in bindings/*/ci.sh; do
            [[ -f $ci ]] || continue
            t0=$SECONDS
            local lang=${ci#bindings/}
            lang=${lang%/ci.sh}
            say "$ci (the $lang binding)"
            if bash "$ci" "$prefix"; then
                results+=("bindings/$lang: passed ($((SECONDS - t0)) s)")
                TOTAL_PASSED=$((TOTAL_PASSED + 1))
            else
                results+=("bindings/$lang: FAILED"); status=1
                TOTAL_FAILED=$((TOTAL_FAILED + 1))
            fi
        done
    fi

    say "summary ($((SECONDS - started)) s)"
    printf '  %s\n' "${results[@]}"
    echo "all: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
    return "$status"
}

# bench/run.sh builds its own Release tree (build-bench/) and says where its
# results go.
cmd_bench() {
    deps
    if [[ -f bench/run.sh ]]; then
        say "bench/run.sh"
        bash bench/run.sh "$@"
    else
        echo "run.sh: bench/run.sh is not there" >&2
        exit 1
    fi
}

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

case ${1:-} in
    demo) shift; cmd_demo "$@" ;;
    test) shift; cmd_test "$@" ;;
    build) shift; cmd_build "$@" ;;
    bench) shift; cmd_bench "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac

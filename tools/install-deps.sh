#!/usr/bin/env bash
# install-deps.sh — installs what building and testing libsecdet needs.
#
# Debian/Ubuntu packages are checked with dpkg-query; only when some are
# missing does it run `apt-get update` (once) and `apt-get install`. pytest
# comes from pip when `import pytest` fails. Safe to run again and again:
# when everything is present it prints nothing and takes well under a second.
# Uses sudo only when not root. Works without a terminal (CI, no stdin).
set -euo pipefail

PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libpcre2-dev libcjson-dev libuv1-dev libcmocka-dev libcurl4-openssl-dev
    zlib1g-dev libssl-dev
    clang libclang-rt-14-dev   # clang and its ASan/UBSan runtimes
    jq valgrind
    clang-format cppcheck             # tests/tools: the format and the lint CI keeps
    curl                              # bindings/go/ci.sh runs docs/go.md's curl lines
    rsyslog rsyslog-openssl openssl   # real syslog receiver for the sink tests
    librdkafka-dev                    # the kafka source and sink
    kcat default-jdk-headless maven   # the Kafka tests: a real broker (jars from Maven Central) and kcat
    python3 python3-pip python3-venv python3-dev   # the Python binding builds a cffi extension
)

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-deps: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: not a Debian-like system; install these yourself: ${PACKAGES[*]}" >&2
else
    # One dpkg-query for all of them; a package it does not know is missing.
    declare -A have=()
    while read -r name status; do
        [[ $status == installed ]] && have[${name%%:*}]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    missing=()
    for p in "${PACKAGES[@]}"; do
        [[ -n ${have[$p]:-} ]] || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "install-deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -qq </dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" </dev/null >/dev/null
    fi
fi

# pytest drives the CLI and end-to-end suites. Whatever python3 is first on
# PATH is the one ctest runs, so that is the one that needs it.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
    echo "install-deps: installing pytest with pip"
    python3 -m pip install --quiet --disable-pip-version-check pytest </dev/null ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages pytest </dev/null
fi

# The Lambda runtime's tests: AWS's Runtime Interface Emulator (go install)
# and moto's S3 server (pip). tests/lambda/setup.sh installs what is missing
# and never fails the set-up (the tests then skip, saying why).
sh "$(dirname "$0")/../tests/lambda/setup.sh" >/dev/null

# `secdet sql`'s tests: DuckDB and sqlglot (pip), the same way.
sh "$(dirname "$0")/../tests/sql/setup.sh" >/dev/null

# `secdet sigma`'s tests: pySigma (pip), the same way.
sh "$(dirname "$0")/../tests/sigma/setup.sh" >/dev/null

#!/bin/sh
# setup.sh — installs what tests/sql needs, idempotently, from PyPI:
#   duckdb    runs the DuckDB SQL of `secdet sql` over the events `secdet scan` reads
#   sqlglot   parses the Trino / Athena SQL (its trino dialect)
# An offline or failing install prints a message and exits 0: the tests
# then skip, saying what is missing.
set -u
if python3 -c 'import duckdb, sqlglot' >/dev/null 2>&1; then
    echo "setup.sh: duckdb and sqlglot present"
else
    timeout 600 python3 -m pip install --quiet 'duckdb>=1.3' 'sqlglot>=25' </dev/null ||
        timeout 600 python3 -m pip install --quiet --break-system-packages 'duckdb>=1.3' 'sqlglot>=25' </dev/null ||
        echo "setup.sh: could not install duckdb and sqlglot; tests/sql will skip"
fi
exit 0

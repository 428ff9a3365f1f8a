#!/bin/sh
# setup.sh — installs what tests/sigma needs, idempotently, from PyPI:
#   pysigma   parses Sigma rules for bindings/sigma (pysigma-backend-secdet)
# An offline or failing install prints a message and exits 0: the tests
# then skip, saying what is missing.
set -u
if python3 -c 'import sigma.collection' >/dev/null 2>&1; then
    echo "setup.sh: pysigma present"
else
    timeout 600 python3 -m pip install --quiet 'pysigma>=2.0,<3' </dev/null ||
        timeout 600 python3 -m pip install --quiet --break-system-packages 'pysigma>=2.0,<3' </dev/null ||
        echo "setup.sh: could not install pysigma; tests/sigma will skip"
fi
exit 0

#!/bin/sh
# setup.sh — installs what tests/lambda needs, idempotently:
#   aws-lambda-rie  AWS's Runtime Interface Emulator, with the Go toolchain
#                   (into $(go env GOPATH)/bin; the tests also look there).
#                   Tags before v1.29 declare another module path, so a
#                   pseudo-version the module proxy serves is pinned.
#   moto[server]    S3-compatible server (and boto3, which the tests use to
#                   fill it), from PyPI.
# Offline or failing installs print a message and exit 0: the tests then
# skip, saying what is missing.
set -u
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d

if command -v aws-lambda-rie >/dev/null 2>&1 || [ -x "$(go env GOPATH 2>/dev/null)/bin/aws-lambda-rie" ]; then
    echo "setup.sh: aws-lambda-rie present"
elif command -v go >/dev/null 2>&1; then
    timeout 600 go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION" \
        || echo "setup.sh: could not install aws-lambda-rie; tests/lambda will skip"
else
    echo "setup.sh: no Go toolchain; tests/lambda will skip"
fi

if python3 -c 'import moto.server, boto3, flask_cors' >/dev/null 2>&1; then
    echo "setup.sh: moto[server] present"
else
    timeout 600 python3 -m pip install --quiet 'moto[server]>=5,<6' \
        || echo "setup.sh: could not install moto[server]; tests/lambda will skip"
fi
exit 0

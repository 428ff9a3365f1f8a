"""conftest.py — shared fixtures of the secdet binding's tests.

The `secdet` command (for parity tests) is SECDET_BIN, else PREFIX/bin/secdet
for SECDET_PREFIX (ci.sh sets it), else build/secdet in the repository; tests
that need it skip when none exists. Tests that need the shared CloudTrail
data (SECDET_SHARED, default ../shared beside the repository) skip without it.
"""
import gzip
import json
import os
import shutil
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CIS = os.path.join(REPO, "rules", "aws", "cis.secdet")
SAMPLE = os.path.join(REPO, "examples", "data", "cloudtrail-sample.json.gz")
SHARED = os.environ.get("SECDET_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
INVICTUS = os.path.join(SHARED, "data", "cloudtrail", "invictus", "CloudTrail")

ROOT_RULE = textwrap.dedent(
    """\
    rule root_login {
        meta {
            title = "Root account used"
            severity = high
            tags = ["attack.initial_access", "cis-aws-4.3"]
        }
        on cloudtrail
        where .userIdentity.type == "Root" and .eventName == "ConsoleLogin"
        output "Root login from {.sourceIPAddress}"
    }
    """
)

COUNT_RULE = textwrap.dedent(
    """\
    rule failed_logins {
        meta { title = "Repeated failed sign-ins" severity = medium }
        on cloudtrail
        where .eventName == "ConsoleLogin" and .errorMessage == "Failed authentication"
        count >= 3 within 5m by .sourceIPAddress
    }
    """
)


def root_event(ip="203.0.113.7", minute=11, kind="Root", name="ConsoleLogin"):
    return {
        "eventVersion": "1.08",
        "eventTime": f"2023-07-10T12:{minute:02d}:15Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": name,
        "userIdentity": {"type": kind, "arn": "arn:aws:iam::111122223333:root"},
        "sourceIPAddress": ip,
    }


def failed_login(minute, ip="198.51.100.23", second=0):
    return {"eventTime": f"2024-03-14T09:{minute:02d}:{second:02d}Z", "eventName": "ConsoleLogin",
            "errorMessage": "Failed authentication", "sourceIPAddress": ip,
            "userIdentity": {"type": "IAMUser", "userName": "alice"}}


def jsonl(*events):
    return "".join(json.dumps(e) + "\n" for e in events)


def gz(data):
    return gzip.compress(data.encode() if isinstance(data, str) else data)


@pytest.fixture
def root_rules(tmp_path):
    path = tmp_path / "root.secdet"
    path.write_text(ROOT_RULE)
    return path


def find_secdet_bin():
    candidates = [os.environ.get("SECDET_BIN")]
    if os.environ.get("SECDET_PREFIX"):
        candidates.append(os.path.join(os.environ["SECDET_PREFIX"], "bin", "secdet"))
    candidates += [os.path.join(REPO, "build", "secdet"), shutil.which("secdet")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="session")
def secdet_bin():
    path = find_secdet_bin()
    if path is None:
        pytest.skip("no secdet binary (set SECDET_BIN or SECDET_PREFIX)")
    return path


@pytest.fixture(scope="session")
def invictus():
    if not os.path.isdir(INVICTUS) or not any(n.endswith(".json") for n in os.listdir(INVICTUS)):
        pytest.skip(f"no shared CloudTrail data at {INVICTUS}")
    return INVICTUS

"""`secdet scan -j N` with rules that keep state: the correlation is split
across one correlator per thread, partitioned by rule and group key
(src/engine/scan_split.c), and must give the alerts of -j 1 as a multiset,
ids included.

The stream mixes two log types routed by shape (Okta and CloudTrail) so
that sequences span log types, some with a key per step; counts, distinct
counts and a throttle; events out of order within the lateness (held and
reordered) and events later than it (dropped as late). Many groups, so
every correlator has some.
"""

import datetime
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

RULES = """\
rule okta_then_console {
    meta { severity = high }
    on okta, cloudtrail
    sequence within 1h by @ip {
        fails: .eventType == "user.session.start" and .outcome.result == "FAILURE" count >= 2 within 1h;
        console: .eventName == "ConsoleLogin" and .responseElements.ConsoleLogin == "Success"
    }
    output "{@ip} then console as {.userIdentity.arn}"
}
rule denied_burst {
    meta { severity = medium }
    on cloudtrail
    where .errorCode == "AccessDenied"
    count >= 3 within 10m by .userIdentity.arn
    output "{count} denied by {group}"
}
rule spray {
    meta { severity = medium }
    on okta
    where .outcome.result == "FAILURE"
    distinct .actor.alternateId >= 3 within 3h by .client.ipAddress
    output "{distinct} users from {group}"
}
rule recon_then_attach {
    meta { severity = high }
    on okta, cloudtrail
    sequence within 2h {
        login: .eventType == "user.session.start" by .client.ipAddress;
        attach: .eventName == "AttachUserPolicy" by .sourceIPAddress
    }
    output "login then attach from {group}"
}
rule root_ish {
    meta { severity = low }
    on cloudtrail
    where .eventName == "ListUsers"
    throttle 20m by .sourceIPAddress
    output "ListUsers from {.sourceIPAddress}"
}
"""


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def events():
    out = []
    base = 1700000000
    base=1700000000
    for n in range(30000):
        t = base + n
        if n % 50 == 7: t -= 300          # out of order, within the lateness
        if n % 997 == 3: t -= 7200        # late
        ip = "198.51.100.%d" % (n * 7 % 251)
        k = n % 5
        if k == 0:
            ev = {"uuid": "u%d" % n, "published": ts(t), "eventType": "user.session.start",
                  "actor": {"alternateId": "user%d@x.io" % (n % 13), "type": "User"},
                  "client": {"ipAddress": ip}, "outcome": {"result": "FAILURE" if n % 3 else "SUCCESS"}}
        else:
            name = ["ConsoleLogin", "ListUsers", "AttachUserPolicy", "DescribeInstances"][k - 1]
            ev = {"eventVersion": "1.08", "eventTime": ts(t), "eventSource": "signin.amazonaws.com" if k == 1 else "iam.amazonaws.com",
                  "eventName": name, "eventID": "e%d" % n, "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u%d" % (n % 11), "userName": "u%d" % (n % 11)},
                  "sourceIPAddress": ip, "recipientAccountId": "111122223333",
                  "responseElements": {"ConsoleLogin": "Success" if n % 4 else "Failure"}}
            if n % 6 == 0: ev["errorCode"] = "AccessDenied"
        ev["pad"] = "p" * 150
        out.append(json.dumps(ev, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs_corr")
    (d / "rules.secdet").write_text(RULES)
    (d / "mixed.jsonl").write_bytes(events())  # ~14 MiB: up to 4 engines
    return d


def scan(data, jobs):
    p = subprocess.run([BIN, "scan", "-j", jobs, "--output", "json", "--no-progress", "--stats", "--rules",
                        str(data / "rules.secdet"), str(data / "mixed.jsonl")], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    err = p.stderr.decode()
    stats = json.loads([ln for ln in err.splitlines() if ln.startswith('{"type":"stats"')][0])
    return sorted(p.stdout.decode().splitlines()), stats, err


def rules_of(alerts):
    return {json.loads(a)["rule"] for a in alerts}


@pytest.mark.parametrize("jobs", ["2", "3", "4"])
def test_partitioned_correlators_give_the_alerts_of_one_engine(data, jobs):
    one, s1, _ = scan(data, "1")
    # Every kind of state fired, else the comparison would prove little.
    assert rules_of(one) >= {"okta_then_console", "denied_burst", "recon_then_attach", "root_ish", "spray"}
    assert s1["late"] > 0, "no event was late: lateness is not exercised"
    many, sn, err = scan(data, jobs)
    assert "one engine" not in err
    assert many == one
    assert (sn["events"], sn["alerts"], sn["malformed"]) == (s1["events"], s1["alerts"], s1["malformed"])

"""Engine.scan(jobs=N): a path read by secdet_scan_file on N engines gives
the alerts of jobs=1 (ids included, order aside), with stateless rules,
counts, a sequence across Okta and CloudTrail events and a throttle."""
import datetime
import json

import pytest

import secdet

RULES = """\
rule console_login {
    meta { severity = low }
    on cloudtrail
    where .eventName == "ConsoleLogin"
    output "login by {.userIdentity.arn}"
}
rule denied_burst {
    meta { severity = medium }
    on cloudtrail
    where .errorCode == "AccessDenied"
    count >= 3 within 10m by .userIdentity.arn
    output "{count} denied by {group}"
}
rule okta_then_console {
    meta { severity = high }
    on okta, cloudtrail
    sequence within 1h by @ip {
        fails: .eventType == "user.session.start" and .outcome.result == "FAILURE" count >= 2 within 1h;
        console: .eventName == "ConsoleLogin"
    }
    output "{@ip} then console as {.userIdentity.arn}"
}
rule list_users {
    meta { severity = low }
    on cloudtrail
    where .eventName == "ListUsers"
    throttle 20m by .sourceIPAddress
    output "ListUsers from {.sourceIPAddress}"
}
"""


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    lines = []
    for n in range(16000):  # ~5 MiB: 2 MiB at least for two engines
        t = 1700000000 + n - (300 if n % 50 == 7 else 0)  # some out of order, within the lateness
        ip = "198.51.100.%d" % (n * 7 % 251)
        if n % 5 == 0:
            ev = {"uuid": "u%d" % n, "published": ts(t), "eventType": "user.session.start",
                  "actor": {"alternateId": "user%d@x.io" % (n % 13)}, "client": {"ipAddress": ip},
                  "outcome": {"result": "FAILURE" if n % 3 else "SUCCESS"}}
        else:
            ev = {"eventVersion": "1.08", "eventTime": ts(t), "eventSource": "iam.amazonaws.com",
                  "eventName": ["ConsoleLogin", "ListUsers", "DescribeInstances", "GetUser"][n % 5 - 1],
                  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u%d" % (n % 11)},
                  "sourceIPAddress": ip, "eventID": "e%d" % n}
            if n % 6 == 0:
                ev["errorCode"] = "AccessDenied"
        ev["pad"] = "p" * 150
        lines.append(json.dumps(ev, separators=(",", ":")))
    path = tmp_path_factory.mktemp("jobs") / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(path, jobs):
    e = secdet.Engine(RULES)
    try:
        e.add_source("mixed", "jsonl", log_type="auto")  # each event to its log type's source, by shape
        alerts = sorted(a.json for a in e.scan(str(path), source="mixed", jobs=jobs))
        return alerts, e.stats()
    finally:
        e.close()


@pytest.mark.parametrize("jobs", [2, 3])
def test_jobs_gives_the_alerts_of_one_engine(mixed, jobs):
    one, s1 = run(mixed, 1)
    assert {json.loads(a)["rule"] for a in one} == {"console_login", "denied_burst", "okta_then_console",
                                                    "list_users"}
    many, sn = run(mixed, jobs)
    assert many == one
    assert (sn.events, sn.alerts, sn.malformed) == (s1.events, s1.alerts, s1.malformed)
    # The correlators ran the stateful rules again: proof the file was split.
    assert sn.rules_run > s1.rules_run


def test_bad_jobs_is_refused(mixed):
    with secdet.Engine(RULES) as e, pytest.raises(ValueError):
        e.scan(str(mixed), jobs=-1)


def test_an_engine_with_correlation_state_is_not_split(mixed):
    """Its state must meet the file's events: one engine reads the file."""
    head = mixed.read_bytes()[:200000]
    head = head[:head.rindex(b"\n") + 1]
    runs = []
    for jobs in (1, 2):
        with secdet.Engine(RULES) as e:
            e.add_source("mixed", "jsonl", log_type="auto")
            alerts = e.feed(head, source="mixed") + e.end("mixed")
            assert e.stats().groups > 0
            alerts += list(e.scan(str(mixed), source="mixed", jobs=jobs))
            runs.append((sorted(a.json for a in alerts), e.stats().rules_run))
    assert runs[0] == runs[1]

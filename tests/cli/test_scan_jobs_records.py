"""`secdet scan -j N` forwards correlation records, not events: a reader
computes what its own correlator would have kept of a match (group key,
distinct or sum values, sequence steps and the keys of a count rule named
as a step, the throttle key, the alert's template texts) and the
correlator of the group keeps that as it is, without parsing the event
again (src/engine/scan_split.c, sd_engine_push_record).

Each rule here needs one of those parts to come through whole: a sum (its
value), a count throttled by another key than its group (the throttle
key), a sequence whose first step is a count rule with keys of its own
(those keys, in the values), a distinct count whose message reads the
event (the template texts), and a throttled stateless rule (still
forwarded as a match: one engine throttles it as each event comes). The
alerts must be those of -j 1 as a multiset, ids, counts and messages
included.
"""

import datetime
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

RULES = """\
rule bytes_out {
    meta { severity = medium }
    on cloudtrail
    where .eventName == "GetObject"
    sum .additionalEventData.bytesTransferredOut >= 5000 within 30m by .userIdentity.arn
    output "{sum} bytes by {group} in {count}, last from {.sourceIPAddress}"
}
rule denied_by_user_quiet_by_ip {
    meta { severity = low }
    on cloudtrail
    where .errorCode == "AccessDenied"
    count >= 2 within 10m by .userIdentity.arn
    throttle 30m by .sourceIPAddress
    output "{count} denied for {group}, from {.sourceIPAddress}"
}
rule get_failures {
    on cloudtrail
    where .eventName == "GetObject" and .errorCode == "AccessDenied"
    count >= 2 within 1h by .requestParameters.bucketName
    private
}
rule failures_then_delete {
    meta { severity = high }
    on cloudtrail
    sequence within 1h by .userIdentity.arn {
        fails: get_failures;
        del: .eventName == "DeleteObject"
    }
    output "{group} deleted from {.requestParameters.bucketName} after failures"
}
rule many_buckets {
    meta { severity = medium }
    on cloudtrail
    where .eventName == "GetObject"
    distinct .requestParameters.bucketName >= 4 within 1h by .sourceIPAddress
    output "{distinct} buckets from {group}, last {.requestParameters.bucketName} by {.userIdentity.arn}"
}
rule deletes {
    meta { severity = low }
    on cloudtrail
    where .eventName == "DeleteObject"
    throttle 15m by .userIdentity.arn
    output "delete of {.requestParameters.bucketName}"
}
"""


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def events():
    out = []
    base = 1700000000
    for n in range(30000):
        t = base + n
        if n % 40 == 9:
            t -= 200  # out of order, within the lateness
        name = ["GetObject", "GetObject", "DeleteObject", "ListBuckets"][n % 4]
        ev = {"eventVersion": "1.08", "eventTime": ts(t), "eventSource": "s3.amazonaws.com", "eventName": name,
              "eventID": "e%d" % n,
              "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/u%d" % (n % 17)},
              "sourceIPAddress": "203.0.113.%d" % (n * 5 % 23),
              "requestParameters": {"bucketName": "b%d" % (n * 3 % 29)},
              "additionalEventData": {"bytesTransferredOut": (n * 37) % 1000}}
        if n % 7 == 0:
            ev["errorCode"] = "AccessDenied"
        ev["pad"] = "p" * 200
        out.append(json.dumps(ev, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("jobs_records")
    (d / "rules.secdet").write_text(RULES)
    (d / "s3.jsonl").write_bytes(events())  # ~12 MiB: up to 4 engines
    return d


def scan(data, jobs):
    p = subprocess.run([BIN, "scan", "-j", jobs, "--output", "json", "--no-progress", "--stats", "--rules",
                        str(data / "rules.secdet"), str(data / "s3.jsonl")], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    err = p.stderr.decode()
    stats = json.loads([ln for ln in err.splitlines() if ln.startswith('{"type":"stats"')][0])
    return sorted(p.stdout.decode().splitlines()), stats, err


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_forwarded_records_give_the_alerts_of_one_engine(data, jobs):
    one, s1, _ = scan(data, "1")
    rules = [json.loads(a)["rule"] for a in one]
    # Every rule fired, and the throttles held some back, else the comparison proves little.
    for r in ("bytes_out", "denied_by_user_quiet_by_ip", "failures_then_delete", "many_buckets", "deletes"):
        assert rules.count(r) >= 3, (r, rules.count(r))
    assert any(json.loads(a)["suppressed"] > 0 for a in one if json.loads(a)["rule"] == "denied_by_user_quiet_by_ip")
    many, sn, err = scan(data, jobs)
    assert "one engine" not in err
    assert len(many) == len(one)
    assert many == one
    assert (sn["events"], sn["alerts"], sn["malformed"], sn["late"]) == (s1["events"], s1["alerts"], s1["malformed"],
                                                                      s1["late"])

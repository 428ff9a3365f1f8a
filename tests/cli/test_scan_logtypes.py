"""`secdet scan` over log types other than CloudTrail (issue 18).

A folder of mixed logs gives cross-source alerts without a config: the
panther compromised-root-creds scenario (../shared/data, $SECDET_SHARED)
with one `sequence ... by @ip` over okta and cloudtrail finds the chain
with the default lateness, and the alerts' times are the events' own; Okta
times are read (four failures an hour apart do not make a `count >= 4
within 10m`); `TYPE:PATH` names a file's log type; inputs of different
years are merged in event time, so a chain across them is not late.
"""

import json
import os
import subprocess
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))
SHARED = os.environ.get("SECDET_SHARED", os.path.join(os.path.dirname(REPO), "shared"))
SCENARIO = os.path.join(SHARED, "data", "scenarios", "panther", "compromised-root-creds")

CHAIN = textwrap.dedent(
    """\
    rule okta_login {
        meta { severity = low }
        on okta
        where @action == "user.session.start"
    }
    rule root_login {
        meta { severity = medium }
        on cloudtrail
        where @action == "ConsoleLogin" and .userIdentity.type == "Root"
    }
    rule okta_then_root {
        meta { severity = high }
        sequence within 7d by @ip {
            idp: okta_login;
            aws: root_login
        }
    }
    """
)


def scan(args, tmp_path, rules):
    r = tmp_path / "r.secdet"
    r.write_text(rules)
    p = subprocess.run([BIN, "scan", "--rules", str(r)] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode in (0, 1), p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()], p.stderr


@pytest.mark.skipif(not os.path.isdir(SCENARIO), reason="shared data not found (set SECDET_SHARED)")
def test_a_folder_of_okta_and_cloudtrail_gives_the_chain_by_ip_with_the_events_times(tmp_path):
    alerts, err = scan([SCENARIO], tmp_path, CHAIN)
    chains = {a["group"]["@ip"]: a for a in alerts if a["rule"] == "okta_then_root"}
    assert set(chains) == {"92.55.146.245", "71.253.251.71"}, (alerts, err)
    attacker = chains["92.55.146.245"]
    # the last Okta login before the first root login, both at their own times
    assert attacker["first_seen"] == "2020-10-26T12:23:51.650Z"
    assert attacker["time"] == attacker["last_seen"] == "2020-10-30T23:25:32Z"
    assert [e.get("eventName", e.get("eventType")) for e in attacker["events"]] == ["user.session.start",
                                                                                       "ConsoleLogin"]
    assert attacker["fields"]["ip"] == "92.55.146.245" and attacker["fields"]["type"] == "cloudtrail"
    okta = [a for a in alerts if a["rule"] == "okta_login"]
    assert sorted(a["time"] for a in okta) == ["2020-10-25T10:20:22Z", "2020-10-26T12:23:51.650Z",
                                               "2020-10-27T04:38:51.650Z"]
    assert all(a["source"] == "okta" for a in okta)


def okta_failure(t):
    return {"uuid": "u-" + t, "published": t, "eventType": "user.session.start",
            "actor": {"alternateId": "tracey.stone@acme.io"}, "client": {"ipAddress": "192.0.2.7"},
            "outcome": {"result": "FAILURE"}}


BRUTE = textwrap.dedent(
    """\
    rule okta_brute {
        on okta
        where @action == "user.session.start" and @outcome == "FAILURE"
        count >= 4 within 10m by @user
    }
    """
)


def test_okta_failures_an_hour_apart_are_not_a_burst_and_a_burst_is(tmp_path):
    f = tmp_path / "okta.jsonl"
    hours = ["2024-05-01T0%d:00:00.000Z" % h for h in range(4)]
    f.write_text("".join(json.dumps(okta_failure(t)) + "\n" for t in hours))
    alerts, err = scan(["okta:" + str(f)], tmp_path, BRUTE)
    assert alerts == [], err
    g = tmp_path / "burst.jsonl"
    minutes = ["2024-05-01 01:0%d:00.000" % m for m in range(4)]  # Okta's zone-less form: UTC
    g.write_text("".join(json.dumps(okta_failure(t)) + "\n" for t in minutes))
    alerts, err = scan([g], tmp_path, BRUTE)
    assert [a["rule"] for a in alerts] == ["okta_brute"], err
    assert alerts[0]["first_seen"] == "2024-05-01T01:00:00Z" and alerts[0]["time"] == "2024-05-01T01:03:00Z"


def test_a_type_prefix_names_the_log_type_of_a_file_the_shape_does_not_tell(tmp_path):
    f = tmp_path / "idp.jsonl"
    f.write_text(json.dumps({"eventType": "user.session.start", "published": "2024-05-01T00:00:00Z"}) + "\n")
    rules = 'rule o { on okta where @action == "user.session.start" }\n'
    alerts, _ = scan([f], tmp_path, rules)  # no actor: not okta's shape, so jsonl
    assert alerts == []
    alerts, err = scan(["okta:" + str(f)], tmp_path, rules)
    assert [(a["source"], a["time"]) for a in alerts] == [("okta", "2024-05-01T00:00:00Z")], err


def test_inputs_of_different_years_are_merged_in_event_time(tmp_path):
    # The CloudTrail file comes first on the command line but is a year later:
    # read one after the other, the Okta event would be a year late.
    ct = tmp_path / "a_trail.jsonl"
    ct.write_text(json.dumps({"eventVersion": "1.08", "eventTime": "2025-03-01T10:00:00Z",
                              "eventName": "ConsoleLogin", "sourceIPAddress": "198.51.100.9",
                              "userIdentity": {"type": "Root"}}) + "\n")
    ok = tmp_path / "b_okta.jsonl"
    ok.write_text(json.dumps(dict(okta_failure("2025-02-27T09:00:00Z"), client={"ipAddress": "198.51.100.9"},
                                  outcome={"result": "SUCCESS"})) + "\n")
    alerts, err = scan(["cloudtrail:" + str(ct), "okta:" + str(ok)], tmp_path, CHAIN)
    assert [a["rule"] for a in alerts if a["rule"] == "okta_then_root"] == ["okta_then_root"], (alerts, err)
    assert "late" not in err or " 0 late" in err

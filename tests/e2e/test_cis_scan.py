"""test_cis_scan.py — `secdet scan` with the CIS pack over real and sample
CloudTrail data, compared with an independent oracle (cis_expect.py).

- invictus (shared/data/cloudtrail/invictus, 2,900 real records): per CIS
  control, the multiset of eventIDs that alerted equals the oracle's;
- the shipped sample fires every control 4.1–4.15 and equals the oracle too;
- every alert has the shape LANGUAGE.md "Alerts" promises;
- ids are stable across runs and equal for duplicated records;
- gzip and JSON-lines input give the same alerts as plain CloudTrail files;
- a malformed JSON line is reported with its line number and the rest goes on.
"""

import collections
import datetime as dt
import gzip
import json
import re

import pytest

import cis_expect
import secdet_cli

FIELDS = {
    "rule": str, "title": str, "severity": str, "tags": list, "time": str, "source": str,
    "message": str, "group": dict, "count": int, "first_seen": str, "last_seen": str,
    "suppressed": int, "id": str, "events": list,
}
SEVERITIES = {"info", "low", "medium", "high", "critical"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_time(s):
    s = s.replace("Z", "+00:00")
    m = re.match(r"^(.*T\d{2}:\d{2}:\d{2})(\.\d+)?(.*)$", s)
    frac = (m.group(2) or ".0")[:7]
    return dt.datetime.fromisoformat(m.group(1) + frac.ljust(7, "0") + m.group(3))


def records_of(files):
    out = []
    for f in files:
        out.extend(secdet_cli.read_records(f))
    return out


def by_control(alerts):
    """{control: Counter of eventIDs} from the alerts (each must be a CIS rule's)."""
    got = {c: collections.Counter() for c in cis_expect.CONTROLS}
    for a in alerts:
        control = cis_expect.control_of_rule(a["rule"])
        assert control in got, "alert of an unexpected rule %r" % a["rule"]
        assert len(a["events"]) == 1, "a stateless alert carries exactly the firing event"
        got[control][a["events"][0].get("eventID")] += 1
    return got


def compare_with_oracle(alerts, records):
    expected = cis_expect.expected_event_ids(records)
    got = by_control(alerts)
    problems = []
    for c in cis_expect.CONTROLS:
        want = collections.Counter(expected[c])
        if got[c] != want:
            missing = sorted((want - got[c]).elements(), key=str)
            extra = sorted((got[c] - want).elements(), key=str)
            problems.append("%s: %d missing %s, %d unexpected %s"
                            % (c, len(missing), missing[:10], len(extra), extra[:10]))
    assert not problems, "engine and oracle disagree:\n" + "\n".join(problems)
    return expected, got


def check_shape(a):
    for key, typ in FIELDS.items():
        assert key in a, "alert lacks %r: %s" % (key, a)
        assert isinstance(a[key], typ) and not (typ is int and isinstance(a[key], bool)), \
            "alert field %r is %r, want %s" % (key, a[key], typ.__name__)
    assert a["severity"] in SEVERITIES
    assert all(isinstance(t, str) for t in a["tags"])
    for key in ("time", "first_seen", "last_seen"):
        assert RFC3339.match(a[key]), "%s %r is not RFC 3339" % (key, a[key])
    assert a["id"], "empty id"
    assert a["events"] and all(isinstance(e, dict) for e in a["events"])
    # Stateless rules: count 1, first_seen = last_seen = time, no group, nothing suppressed.
    assert a["count"] == 1 and a["suppressed"] == 0 and a["group"] == {}
    assert a["first_seen"] == a["time"] == a["last_seen"]
    # The alert time is the firing event's eventTime.
    assert parse_time(a["time"]) == parse_time(a["events"][-1]["eventTime"])
    # The CIS tag of the rule's control.
    assert "cis-aws-" + cis_expect.control_of_rule(a["rule"]) in a["tags"], a["tags"]


# ---- invictus: real CloudTrail ------------------------------------------------

@pytest.fixture(scope="module")
def invictus_scan(secdet, invictus):
    alerts, _ = secdet_cli.scan(invictus)
    return alerts, records_of(invictus)


def test_invictus_alerts_equal_the_cis_oracle_per_control(invictus_scan, summary):
    alerts, records = invictus_scan
    expected = cis_expect.expected_event_ids(records)
    got = by_control(alerts)
    summary.append("CIS controls over invictus CloudTrail (%d records): expected / alerted" % len(records))
    summary.append("  %-7s %8s %8s" % ("control", "expected", "alerted"))
    for c in cis_expect.CONTROLS:
        summary.append("  %-7s %8d %8d" % (c, len(expected[c]), sum(got[c].values())))
    summary.append("  %-7s %8d %8d" % ("total", sum(len(v) for v in expected.values()), len(alerts)))
    compare_with_oracle(alerts, records)


def test_invictus_alerts_have_the_contract_shape(invictus_scan):
    alerts, _ = invictus_scan
    assert alerts, "no alert at all over invictus"
    for a in alerts:
        check_shape(a)
        assert a["source"] == "cloudtrail"


def test_invictus_alert_ids_are_stable_across_runs(invictus_scan, invictus):
    first, _ = invictus_scan
    second, _ = secdet_cli.scan(invictus)
    assert sorted(map(secdet_cli.alert_key, first)) == sorted(map(secdet_cli.alert_key, second))


def canonical(alerts):
    return sorted(json.dumps(a, sort_keys=True) for a in alerts)


def test_invictus_gzip_and_jsonl_inputs_give_the_same_alerts(invictus_scan, invictus, tmp_path):
    plain, _ = invictus_scan
    gz_files = []
    for f in invictus:
        out = tmp_path / (f.name + ".gz")
        with open(f, "rb") as src, gzip.open(out, "wb") as dst:
            dst.write(src.read())
        gz_files.append(out)
    gz_alerts, _ = secdet_cli.scan(gz_files)
    assert canonical(gz_alerts) == canonical(plain)

    jsonl = tmp_path / "invictus.jsonl"
    secdet_cli.write_jsonl(records_of(invictus), jsonl)
    jl_alerts, _ = secdet_cli.scan([jsonl], extra=["--source", "cloudtrail"])
    assert canonical(jl_alerts) == canonical(plain)


# ---- the shipped sample -------------------------------------------------------

@pytest.fixture(scope="module")
def sample_scan(secdet):
    alerts, _ = secdet_cli.scan([secdet_cli.SAMPLE])
    return alerts, secdet_cli.read_records(secdet_cli.SAMPLE)


def test_sample_fires_every_cis_control(sample_scan, summary):
    alerts, records = sample_scan
    got = by_control(alerts)
    summary.append("CIS controls over examples/data/cloudtrail-sample.json.gz: "
                   + ", ".join("%s=%d" % (c, sum(got[c].values())) for c in cis_expect.CONTROLS))
    silent = [c for c in cis_expect.CONTROLS if not got[c]]
    assert not silent, "controls that never fired on the sample: %s" % silent


def test_sample_alerts_equal_the_cis_oracle(sample_scan):
    alerts, records = sample_scan
    compare_with_oracle(alerts, records)
    for a in alerts:
        check_shape(a)


def test_sample_messages_render_the_output_templates(sample_scan):
    alerts, _ = sample_scan
    root = [a for a in alerts if a["rule"] == "cis_aws_4_3_root_account_usage"]
    assert root
    for a in root:
        e = a["events"][0]
        assert a["message"] == "Root account used: %s from %s in %s" % (
            e["eventName"], e["sourceIPAddress"], e["awsRegion"])
    # 4.5's template names the trail; a field the event lacked would render "-".
    for a in (a for a in alerts if a["rule"] == "cis_aws_4_5_cloudtrail_config_changes"):
        e = a["events"][0]
        name = (e.get("requestParameters") or {}).get("name", "-")
        assert a["message"] == "CloudTrail %s on %s by %s from %s" % (
            e["eventName"], name, e["userIdentity"]["arn"], e["sourceIPAddress"])


def test_sample_duplicated_record_gives_the_same_id(sample_scan):
    alerts, records = sample_scan
    ids = collections.defaultdict(set)
    n = collections.Counter()
    for a in alerts:
        k = (a["rule"], a["events"][0]["eventID"])
        ids[k].add(a["id"])
        n[k] += 1
    dups = [k for k, c in n.items() if c > 1]
    assert dups, "the sample holds a record delivered twice; it should alert twice"
    for k in dups:
        assert len(ids[k]) == 1, "duplicated record %s got different ids %s" % (k, ids[k])
    # Different events of one rule never share an id.
    per_rule = collections.defaultdict(collections.Counter)
    for (rule, _), s in ids.items():
        per_rule[rule][next(iter(s))] += 1
    for rule, c in per_rule.items():
        assert all(v == 1 for v in c.values()), "%s: two different events share an id" % rule


def test_duplicated_records_give_equal_ids(secdet, tmp_path):
    records = secdet_cli.read_records(secdet_cli.SAMPLE)
    hits = [r for r in records if any(p(r) for p in cis_expect.CONTROLS.values())]
    doubled = []
    for r in hits:
        doubled += [r, json.loads(json.dumps(r))]
    f = tmp_path / "doubled.json"
    f.write_text(json.dumps({"Records": doubled}), encoding="utf-8")
    alerts, _ = secdet_cli.scan([f])
    ids = collections.defaultdict(list)
    for a in alerts:
        ids[(a["rule"], a["events"][0]["eventID"])].append(a["id"])
    assert ids
    for k, v in ids.items():
        assert len(v) % 2 == 0 and len(set(v)) == 1, "%s: ids %s" % (k, v)


def test_sample_ids_are_stable_across_runs(sample_scan):
    first, _ = sample_scan
    second, _ = secdet_cli.scan([secdet_cli.SAMPLE])
    assert [secdet_cli.alert_key(a) for a in first] == [secdet_cli.alert_key(a) for a in second]


def test_sample_gzip_plain_and_jsonl_give_the_same_alerts(sample_scan, tmp_path):
    alerts, records = sample_scan
    plain = tmp_path / "sample.json"
    with gzip.open(secdet_cli.SAMPLE, "rb") as src:
        plain.write_bytes(src.read())
    plain_alerts, _ = secdet_cli.scan([plain])
    assert canonical(plain_alerts) == canonical(alerts)
    jsonl = tmp_path / "sample.jsonl"
    secdet_cli.write_jsonl(records, jsonl)
    jl_alerts, _ = secdet_cli.scan([jsonl], extra=["--source", "cloudtrail"])
    assert canonical(jl_alerts) == canonical(alerts)


def test_malformed_jsonl_line_is_reported_with_its_line_number_and_the_rest_goes_on(secdet, tmp_path):
    records = secdet_cli.read_records(secdet_cli.SAMPLE)
    bad_line = len(records) // 2 + 1   # 1-based line number of the broken line
    f = tmp_path / "broken.jsonl"
    with open(f, "w", encoding="utf-8") as out:
        for i, r in enumerate(records):
            if i == bad_line - 1:
                out.write('{"eventVersion": "1.09", "eventName": "ConsoleLogin", oops\n')
            out.write(json.dumps(r, separators=(",", ":")) + "\n")
    proc = secdet_cli.run(["scan", "--output", "json", "--rules", secdet_cli.CIS_RULES,
                           "--source", "cloudtrail", str(f)])
    assert proc.returncode == 0, "a malformed line must not stop the scan (exit %d)\n%s" % (
        proc.returncode, proc.stderr[-2000:])
    assert re.search(r"(?<!\d)%d(?!\d)" % bad_line, proc.stderr), \
        "stderr does not name line %d:\n%s" % (bad_line, proc.stderr[-2000:])
    compare_with_oracle(secdet_cli.parse_alerts(proc.stdout), records)


def test_fail_on_alert_exits_1_when_something_fired(secdet):
    proc = secdet_cli.run(["scan", "--output", "json", "--fail-on-alert", "--rules", secdet_cli.CIS_RULES,
                           str(secdet_cli.SAMPLE)])
    assert proc.returncode == 1, proc.stderr[-2000:]

"""--logsource SEL:SOURCE: the rules of a Sigma logsource without a secdet
log type that SEL matches become `on SOURCE`, their field names as written.
The Sigma correlation examples (../shared/data/sigma/correlation) convert
so, counted per folder (the floor is floor.json's "logsource_map"), and the
specification's correlation tests, given the detection rules they name
(data/spec_tests_base_rules.yml), fire on Windows events written as JSON
lines exactly when they should. What the backend refuses stays refused."""
import collections
import json
import os

from conftest import HERE, convert, run

BASE_RULES = os.path.join(HERE, "data", "spec_tests_base_rules.yml")
MAP = ["--logsource", "product=windows:jsonl", "--logsource", "category=proxy:proxy"]


def folder_counts(secdet, tmp, sigma_data, *extra):
    corr = sigma_data / "correlation"
    report = tmp / "report.jsonl"
    p = run(secdet, "sigma", "convert", corr, *extra, "-o", tmp / "out", "--report", report, *MAP)
    assert p.returncode in (0, 1), p.stderr
    counts = collections.defaultdict(collections.Counter)
    for r in map(json.loads, report.read_text().splitlines()):
        if r["source"].startswith(str(corr) + os.sep):
            counts[os.path.relpath(r["source"], corr).split(os.sep)[0]][r["status"]] += 1
            assert r["status"] == "converted" or r["reason"] and r["id"] in p.stderr, r
    c = run(secdet, "check", tmp / "out")
    assert c.returncode == 0 and "(0 warnings)" in c.stderr, c.stdout + c.stderr
    return counts


def test_correlation_examples_with_a_logsource_map(secdet, sigma_data, tmp_path):
    with open(os.path.join(HERE, "floor.json")) as f:
        floor = json.load(f)["logsource_map"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    runs = {"alone": folder_counts(secdet, tmp_path / "a", sigma_data),
            "with_base_rules": folder_counts(secdet, tmp_path / "b", sigma_data, BASE_RULES)}
    print("\nSigma correlation examples with %s (converted / refused):" % " ".join(MAP))
    for name, counts in runs.items():
        for folder in sorted(counts):
            print("  %-16s %-18s %2d / %2d" % (name, folder, counts[folder]["converted"], counts[folder]["refused"]))
        total = sum(c["converted"] for c in counts.values())
        print("  %-16s %-18s %2d / %2d" % (name, "all", total, sum(c["refused"] for c in counts.values())))
        for folder, n in floor[name].items():
            assert counts[folder]["converted"] >= n, "%s %s: %d converted, floor %d" % (
                name, folder, counts[folder]["converted"], n)


def spec_rules(secdet, sigma_data, tmp, *names):
    """The spec-tests correlations `names` with their base rules, converted
    into tmp/out with the map."""
    corr = sigma_data / "correlation" / "spec-tests"
    p = run(secdet, "sigma", "convert", *(corr / (n + ".yml") for n in names), BASE_RULES,
            "-o", tmp / "out", *MAP)
    assert p.returncode == 0, p.stderr
    return tmp / "out"


def scan_jsonl(secdet, rules, events, tmp):
    """`secdet scan` of JSON lines (source `jsonl`): the alerts."""
    f = tmp / "windows.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    s = run(secdet, "scan", "--rules", rules, "--lateness", "0s", f)
    assert s.returncode == 0, s.stderr
    return [json.loads(line) for line in s.stdout.splitlines() if line.strip()]


def at(seconds):
    return "2024-01-01T%02d:%02d:%02dZ" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


def logon(t, host, event_id=4625):
    return {"eventTime": at(t), "EventID": event_id, "ComputerName": host, "User": "u%d" % t}


def test_event_count_fires_at_its_threshold_within_its_timespan(secdet, sigma_data, tmp_path):
    """event_count.yml: >= 100 failed logons (the base rule: EventID 4625)
    within 1h by ComputerName."""
    rules = spec_rules(secdet, sigma_data, tmp_path, "event_count")
    assert "count >= 100 within 1h by .ComputerName" in (rules / "event_count.secdet").read_text()
    events = [logon(i, "pc-a") for i in range(100)]                   # 100 in 100 s: fires
    events += [logon(i, "pc-b") for i in range(99)] + [logon(99, "pc-b", 4624)]   # 99 failed + 1 success
    events += [logon(40 * i, "pc-c") for i in range(100)]             # 100 over 66 min: never 100 in 1h
    events += [{"eventTime": at(i), "EventID": "4625", "ComputerName": "pc-d"} for i in range(100)]
    events.sort(key=lambda e: e["eventTime"])
    got = [a for a in scan_jsonl(secdet, rules, events, tmp_path) if a["rule"] == "many_failed_logins"]
    # pc-d: the EventID as a string matches too (Sigma compares text)
    assert sorted(a["group"][".ComputerName"] for a in got) == ["pc-a", "pc-d"], got


def recon(t, host, user, exe, cmd=None):
    return {"eventTime": at(t), "EventID": 1, "ComputerName": host, "User": user,
            "Image": "C:\\Windows\\System32\\" + exe, "CommandLine": cmd or exe}


def test_temporal_ordered_and_temporal(secdet, sigma_data, tmp_path):
    """temporal_ordered.yml: recon_cmd_a, b, c in this order within 5m by
    ComputerName and User; temporal.yml: the same in any order."""
    rules = spec_rules(secdet, sigma_data, tmp_path, "temporal", "temporal_ordered")
    a, b, c = "whoami.exe", "net.exe", "ipconfig.exe"
    events = [
        recon(0, "pc1", "alice", a), recon(10, "pc1", "alice", b, "net.exe user /domain"),
        recon(20, "pc1", "alice", c.upper()),                                   # in order: both
        recon(0, "pc2", "bob", c), recon(5, "pc2", "bob", b, "net user"), recon(9, "pc2", "bob", a),  # reversed
        recon(0, "pc3", "carol", a), recon(10, "pc3", "carol", b, "net user"),
        recon(400, "pc3", "carol", c),                                          # c after 5m: neither
        recon(0, "pc4", "dave", a), recon(10, "pc4", "dave", b, "net view"),    # b's CommandLine lacks ' user'
        recon(20, "pc4", "dave", c),
        recon(0, "pc5", "erin", a), recon(10, "pc5", "frank", b, "net user"),   # another User
        recon(20, "pc5", "erin", c),
    ]
    events.sort(key=lambda e: e["eventTime"])
    got = scan_jsonl(secdet, rules, events, tmp_path)
    fired = collections.defaultdict(list)
    for x in (x for x in got if x["rule"] in ("recon", "recon_ordered")):
        fired[x["rule"]].append((x["group"][".ComputerName"], x["group"][".User"]))
    assert fired["recon_ordered"] == [("pc1", "alice")], got
    assert sorted(fired["recon"]) == [("pc1", "alice"), ("pc2", "bob")], got


def windows_rule(n, name, logsource, sel="{EventID: 4624}"):
    return ("title: %s\nid: 50000000-0000-0000-0000-00000000000%d\nname: %s\nlogsource: %s\n"
            "detection:\n    sel: %s\n    condition: sel\n" % (name, n, name, logsource, sel))


RULES = "---\n".join([
    windows_rule(1, "win_logon", "{product: windows, service: security}"),
    windows_rule(2, "win_proc", "{category: process_creation, product: windows}", "{Image|endswith: cmd.exe}"),
    windows_rule(3, "okta_rule", "{product: okta, service: okta}", "{eventType: user.session.start}"),
    windows_rule(4, "win_keywords", "{product: windows, service: system}", "[needle]"),
    windows_rule(5, "linux_rule", "{product: linux}", "{a.b: c}"),
])


def test_first_matching_entry_wins_and_built_in_types_stay(secdet, tmp_path):
    p, report = convert(secdet, tmp_path, {"r": RULES}, "--logsource", "product=okta:elsewhere",
                        "--logsource", "category=process_creation:sysmon",
                        "--logsource", "product=windows,service=security:winsec",
                        "--logsource", "product=windows:my source", "--logsource", "product=windows:unused")
    text = (tmp_path / "out" / "r.secdet").read_text()
    assert "on sysmon\n    where .Image iendswith \"cmd.exe\"" in text
    assert "on winsec\n    where .EventID in [4624, \"4624\"]" in text
    assert "on okta\n" in text, "a logsource with a log type keeps it"
    st = {r["id"][-1]: r for r in report.values()}
    # what the backend refuses stays refused, with its reason
    assert st["4"]["status"] == "refused" and "keyword" in st["4"]["reason"]
    assert st["5"]["status"] == "refused" and "no secdet log type" in st["5"]["reason"]
    assert p.returncode == 1
    for unused in ("product=okta:elsewhere", "product=windows:unused"):
        assert "--logsource %s matched no rule" % unused in p.stderr
    assert "my source matched" not in p.stderr


def test_a_quoted_source_and_fields_as_written(secdet, tmp_path):
    p, report = convert(secdet, tmp_path, {"r": RULES}, "--logsource", "product=linux:my source")
    text = (tmp_path / "out" / "r.secdet").read_text()
    assert 'on "my source"\n    where .a.b =~ "c"' in text
    assert run(secdet, "check", tmp_path / "out").returncode == 0


def test_a_bad_entry_is_a_usage_error(secdet, tmp_path):
    for bad in ("product=windows", "windows:jsonl", "host=x:jsonl", "product=:jsonl", "product=a,product=b:x",
                "product=windows:"):
        p, _ = convert(secdet, tmp_path, {"r": RULES}, "--logsource", bad)
        assert p.returncode == 2 and "logsource map entry" in p.stderr, (bad, p.stderr)


def test_docs_logsource_example_is_the_real_output(secdet, sigma_data):
    """docs/sigma.md ("Logsources without a log type") shows the conversion
    of the specification's Windows example with --logsource
    product=windows:jsonl: it must be exactly what the command prints."""
    src = sigma_data / "correlation" / "spec-doc-examples" / "failed_logins_followed_by_successful_login.yml"
    p = run(secdet, "sigma", "convert", "--logsource", "product=windows:jsonl", src)
    assert p.returncode == 0, p.stderr
    with open(os.path.join(HERE, "..", "..", "docs", "sigma.md")) as f:
        doc = f.read()
    assert "secdet sigma convert --logsource product=windows:jsonl " + src.name in doc
    assert "on jsonl" in p.stdout and p.stdout.strip() in doc


ECS_PIPELINE = """\
name: Windows process events as ECS
priority: 100
transformations:
  - id: ecs_process
    type: field_name_mapping
    mapping:
      ComputerName: host.name
      User: user.name
      Image: process.executable
      CommandLine: process.command_line
    rule_conditions:
      - type: logsource
        category: process_creation
"""


def test_a_pipeline_renames_the_fields_and_the_keys(secdet, sigma_data, tmp_path):
    """--pipeline FILE: a pySigma field_name_mapping renames the fields of
    the mapped rules, in detections and group-by keys alike; events named
    so (ECS, nested) fire the converted temporal_ordered."""
    pl = tmp_path / "ecs.yml"
    pl.write_text(ECS_PIPELINE)
    corr = sigma_data / "correlation" / "spec-tests" / "temporal_ordered.yml"
    p = run(secdet, "sigma", "convert", corr, BASE_RULES, "-o", tmp_path / "out", *MAP, "--pipeline", pl)
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "out" / "temporal_ordered.secdet").read_text()
    assert "sequence within 5m by .host.name, .user.name {" in text
    base = (tmp_path / "out" / "spec_tests_base_rules.secdet").read_text()
    assert '.process.executable iendswith "\\\\whoami.exe"' in base
    assert "where .EventID in [4625" in base, "the item's logsource condition leaves the logon rule alone"

    def ecs(t, host, user, exe):
        return {"eventTime": at(t), "host": {"name": host}, "user": {"name": user},
                "process": {"executable": "C:\\Windows\\System32\\" + exe, "command_line": exe + " user"}}
    events = [ecs(0, "pc1", "alice", "whoami.exe"), ecs(1, "pc1", "alice", "net.exe"),
              ecs(2, "pc1", "alice", "ipconfig.exe"),
              ecs(0, "pc2", "bob", "ipconfig.exe"), ecs(1, "pc2", "bob", "net.exe"), ecs(2, "pc2", "bob", "whoami.exe")]
    events.sort(key=lambda e: e["eventTime"])
    got = [a["group"] for a in scan_jsonl(secdet, tmp_path / "out", events, tmp_path) if a["rule"] == "recon_ordered"]
    assert got == [{".host.name": "pc1", ".user.name": "alice"}], got


def test_a_pipeline_that_does_more_is_refused(secdet, tmp_path):
    one_to_two = ECS_PIPELINE.replace("Image: process.executable", "Image: [process.executable, process.name]")
    pl = tmp_path / "two.yml"
    pl.write_text(one_to_two.replace("category: process_creation", "product: windows"))
    p, report = convert(secdet, tmp_path, {"r": RULES}, "--logsource", "product=windows:jsonl", "--pipeline", pl)
    assert "maps field 'Image' to 2 fields" in report["50000000-0000-0000-0000-000000000002"]["reason"]
    assert report["50000000-0000-0000-0000-000000000001"]["status"] == "converted"
    pl.write_text("name: x\npriority: 1\ntransformations:\n  - type: drop_detection_item\n"
                  "    field_name_conditions:\n      - type: include_fields\n        fields: [EventID]\n")
    p, _ = convert(secdet, tmp_path, {"r": RULES}, "--pipeline", pl)
    assert p.returncode == 2 and "only field-name mappings" in p.stderr, p.stderr

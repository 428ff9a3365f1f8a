"""Every Sigma rule under ../shared/data/sigma (SigmaHQ's cloud and identity
rules, the correlation examples) is either converted into rules that
`secdet check` compiles, or refused with its id and a reason. The counts,
per logsource product, are printed and may only go up: floor.json holds
the converted counts this tree reached (raise it when more convert)."""
import collections
import json
import os

from conftest import HERE, run

PLACEHOLDERS = {"Legitimate_Countries": ["US", "DE"], "legtimate_identifiers": ["admin@example.com"]}


def test_corpus_converts_or_refuses(secdet, sigma_data, tmp_path):
    ph = tmp_path / "placeholders.json"
    ph.write_text(json.dumps(PLACEHOLDERS))
    out, report = tmp_path / "out", tmp_path / "report.jsonl"
    p = run(secdet, "sigma", "convert", sigma_data, "-o", out, "--report", report, "--placeholders", ph)
    assert p.returncode in (0, 1), p.stderr
    rows = [json.loads(line) for line in report.read_text().splitlines()]
    files = sorted(str(f) for f in sigma_data.rglob("*.yml"))
    assert {r["source"] for r in rows} >= set(files), "every Sigma file is in the report"
    counts = collections.defaultdict(collections.Counter)
    reasons = collections.Counter()
    for r in rows:
        area = "correlation" if "/correlation/" in r["source"] else (r.get("product") or "?")
        counts[area][r["status"]] += 1
        if r["status"] == "refused":
            assert r["reason"], r
            assert r["id"] in p.stderr, "a refusal names the rule's id on stderr"
            reasons[r["reason"].split(":")[0][:60]] += 1
    print("\nSigma conversion (converted / refused):")
    for area in sorted(counts):
        print("  %-12s %3d / %3d" % (area, counts[area]["converted"], counts[area]["refused"]))
    for why, n in reasons.most_common():
        print("  refused %2d: %s" % (n, why))
    # every converted rule compiles, all together (one namespace) and clean
    c = run(secdet, "check", out)
    assert c.returncode == 0, c.stdout + c.stderr
    assert "(0 warnings)" in c.stderr, c.stdout + c.stderr
    compiled = int(c.stderr.split(" rules OK")[0].split()[-1])
    converted = sum(v["converted"] for v in counts.values())
    assert compiled >= converted
    with open(os.path.join(HERE, "floor.json")) as f:
        floor = json.load(f)
    for area, n in floor.items():
        if area == "logsource_map":     # test_sigma_logsource_map.py's
            continue
        assert counts[area]["converted"] >= n, "%s: %d converted, floor %d" % (area, counts[area]["converted"], n)


def test_docs_example_is_the_real_output(secdet, tmp_path):
    """docs/sigma.md shows the conversion of tests/sigma/data/okta_brute_then_login.yml:
    it must be exactly what the command prints, and compile."""
    p = run(secdet, "sigma", "convert", os.path.join(HERE, "data", "okta_brute_then_login.yml"))
    assert p.returncode == 0, p.stderr
    with open(os.path.join(HERE, "..", "..", "docs", "sigma.md")) as f:
        doc = f.read()
    assert p.stdout.strip() in doc


def test_other_source_converts_the_spec_example(secdet, sigma_data, tmp_path):
    """--other-source NAME: a logsource with no log type (here the Sigma
    specification's Windows example) becomes `on NAME`, fields as written;
    its chained correlation then fires on such events."""
    src = sigma_data / "correlation" / "spec-doc-examples" / "failed_logins_followed_by_successful_login.yml"
    out = tmp_path / "out"
    p = run(secdet, "sigma", "convert", src, "-o", out, "--other-source", "winlog")
    assert p.returncode == 0, p.stderr
    assert "4 converted, 0 refused" in p.stderr
    events = [{"EventID": 4625, "User": "bob", "eventTime": "2024-01-01T00:00:%02dZ" % i} for i in range(10)]
    events += [{"EventID": 4624, "User": "bob", "eventTime": "2024-01-01T00:01:00Z"},
               {"EventID": 4624, "User": "eve", "eventTime": "2024-01-01T00:01:01Z"}]
    f = tmp_path / "win.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    s = run(secdet, "scan", "--rules", out, "--source", "winlog", "--lateness", "0s", f)
    assert s.returncode == 0, s.stderr
    alerts = [json.loads(line) for line in s.stdout.splitlines()]
    seq = [a for a in alerts if a["rule"] == "correlation_multiple_failed_logins_followed_by_successful_login"]
    assert [a["group"] for a in seq] == [{".User": "bob"}], alerts
    # without the option the Windows logsource is refused
    p = run(secdet, "sigma", "convert", src, "-o", tmp_path / "out2")
    assert p.returncode == 1 and "no secdet log type" in p.stderr

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
        assert counts[area]["converted"] >= n, "%s: %d converted, floor %d" % (area, counts[area]["converted"], n)


def test_docs_example_is_the_real_output(secdet, tmp_path):
    """docs/sigma.md shows the conversion of tests/sigma/data/okta_brute_then_login.yml:
    it must be exactly what the command prints, and compile."""
    p = run(secdet, "sigma", "convert", os.path.join(HERE, "data", "okta_brute_then_login.yml"))
    assert p.returncode == 0, p.stderr
    with open(os.path.join(HERE, "..", "..", "docs", "sigma.md")) as f:
        doc = f.read()
    assert p.stdout.strip() in doc

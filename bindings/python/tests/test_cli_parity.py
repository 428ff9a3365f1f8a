"""engine.scan() gives exactly the alerts `secdet scan` prints, on the same rules and files."""
import json
import os
import subprocess

import secdet

from conftest import CIS, REPO, SAMPLE

CORRELATION = os.path.join(REPO, "rules", "aws", "correlation.secdet")


def cli_alerts(secdet_bin, rules, files, *extra):
    proc = subprocess.run([secdet_bin, "scan", "--output", "json", "--quiet", "--rules", rules, *extra,
                           *files], capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(l) for l in proc.stdout.decode().splitlines() if l.strip()]


def py_alerts(rules, inp, **kw):
    with secdet.Engine(rules) as e:
        return [a.to_dict() for a in e.scan(inp, **kw)]


def test_sample_with_the_cis_pack(secdet_bin):
    want = cli_alerts(secdet_bin, CIS, [SAMPLE])
    assert want, "the sample should raise alerts"
    assert py_alerts(CIS, SAMPLE) == want
    assert py_alerts(CIS, SAMPLE, read_ahead=False) == want


def test_sample_with_the_correlation_pack(secdet_bin):
    want = cli_alerts(secdet_bin, CORRELATION, [SAMPLE])
    assert py_alerts(CORRELATION, SAMPLE) == want


def test_invictus_directory_with_both_packs(secdet_bin, invictus):
    files = sorted(os.path.join(invictus, n) for n in os.listdir(invictus) if n.endswith(".json"))
    # `secdet scan F1 F2 ...` merges its inputs in event-time order; Engine.scan
    # reads a list in order as one stream, as the CLI reads them concatenated
    # on stdin (the CloudTrail documents one after another).
    cat = b"".join(open(f, "rb").read() for f in files)
    for rules in (CIS, CORRELATION):
        proc = subprocess.run([secdet_bin, "scan", "--output", "json", "--quiet", "--rules", rules, "-"], input=cat,
                              capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()
        want = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
        assert py_alerts(rules, files) == want


def test_jsonl_stream_with_a_source_name(secdet_bin, tmp_path):
    with open(SAMPLE, "rb") as f:
        import gzip
        records = json.loads(gzip.decompress(f.read()))["Records"]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    want = cli_alerts(secdet_bin, CIS, [str(path)], "--format", "jsonl", "--source", "cloudtrail")
    assert want
    assert py_alerts(CIS, path, format="jsonl", source="cloudtrail") == want

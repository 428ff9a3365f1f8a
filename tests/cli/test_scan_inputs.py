"""`secdet scan` with inputs as people have them, and what it prints.

CloudTrail documents one after another (cat, one per line) on stdin and in
files, records as JSON lines, directory trees of plain and gzip files in
name order, the eventbridge and cloudwatch-logs formats without --source,
the --rule and --min-severity filters, the progress bar on real terminals
(python's pty), singular and plural in the messages, the help text against
the README, and that every kind of input reaches the one-pass scanner.
"""

import base64
import gzip
import importlib.util
import json
import os
import pty
import re
import subprocess
import textwrap
import threading

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))

RULES = textwrap.dedent(
    """\
    rule delete_trail {
        meta { severity = critical }
        on cloudtrail
        where .eventName == "DeleteTrail"
        output "trail {.requestParameters.name} deleted"
    }
    rule stop_logging {
        meta { severity = high }
        on cloudtrail
        where .eventName == "StopLogging"
        output "logging stopped on {.requestParameters.name}"
    }
    rule console_login {
        meta { severity = low }
        on cloudtrail
        where .eventName == "ConsoleLogin"
        output "login from {.sourceIPAddress}"
    }
    rule tamper_then_delete {
        sequence within 1h by .requestParameters.name {
            stop: stop_logging;
            delete: delete_trail
        }
    }
    """
)

# Sees events of every source: what checks the source names.
ANY_SOURCE = textwrap.dedent(
    """\
    rule any_delete {
        meta { severity = medium }
        where .eventName == "DeleteTrail"
        output "{.eventName} deleted"
    }
    """
)


def record(name, n, trail="t1", ip="203.0.113.9"):
    return {
        "eventVersion": "1.08",
        "eventTime": "2024-03-01T10:%02d:%02dZ" % (n // 60 % 60, n % 60),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "eventID": "id-%d" % n,
        "sourceIPAddress": ip,
        "requestParameters": {"name": trail},
    }


def document(records, pretty=False):
    return json.dumps({"Records": records}, indent=2 if pretty else None)


def run(args, stdin=None, env=None):
    full = dict(os.environ)
    full.pop("NO_COLOR", None)
    full.update(env or {})
    p = subprocess.run([BIN] + [str(a) for a in args], input=stdin, capture_output=True, env=full, timeout=60)
    for marker in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
        assert marker not in p.stderr, p.stderr.decode(errors="replace")
    return p


def alerts(p):
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]


def scan(rules, *inputs, stdin=None, extra=()):
    return run(["scan", "--rules", rules, "--output", "json", *extra, *inputs], stdin=stdin)


def stats(p):
    lines = [l for l in p.stderr.decode().splitlines() if l.startswith('{"type":"stats"')]
    assert len(lines) == 1, p.stderr
    return json.loads(lines[0])


@pytest.fixture
def rules(tmp_path):
    path = tmp_path / "trail.secdet"
    path.write_text(RULES)
    return path


@pytest.fixture
def any_source(tmp_path):
    path = tmp_path / "any.secdet"
    path.write_text(ANY_SOURCE)
    return path


@pytest.fixture
def three_files(tmp_path):
    """Three CloudTrail log files (one pretty-printed) and the alerts their list gives."""
    docs = [
        [record("StopLogging", 1), record("ConsoleLogin", 2)],
        [record("DeleteTrail", 3), record("Describe", 4)],
        [record("DeleteTrail", 5, trail="t2"), record("ConsoleLogin", 6, ip="198.51.100.1")],
    ]
    paths = []
    for i, recs in enumerate(docs):
        path = tmp_path / ("ct%d.json" % i)
        path.write_text(document(recs, pretty=(i == 1)))
        paths.append(path)
    return paths


def expected(rules, paths):
    p = scan(rules, *paths)
    assert p.returncode == 0, p.stderr
    got = alerts(p)
    assert len(got) == 6, got  # 2 logins, 2 deletes, 1 stop, 1 sequence
    return got


# ---- CloudTrail as people have it ---------------------------------------------


def test_concatenated_cloudtrail_documents_on_stdin_and_in_a_file(rules, three_files, tmp_path):
    want = expected(rules, three_files)
    joined = b"".join(p.read_bytes() for p in three_files)  # what `cat CloudTrail/*.json` gives
    p = scan(rules, "-", stdin=joined)
    assert p.returncode == 0, p.stderr
    assert alerts(p) == want
    assert b"malformed" in p.stderr and b"(0 malformed)" in p.stderr
    cat = tmp_path / "cat.json"
    cat.write_bytes(joined)
    p = scan(rules, cat)
    assert p.returncode == 0, p.stderr
    assert alerts(p) == want
    gz = tmp_path / "cat.json.gz"  # `cat *.json.gz`: gzip members one after another
    gz.write_bytes(b"".join(gzip.compress(p.read_bytes()) for p in three_files))
    assert alerts(scan(rules, gz)) == want


def test_one_cloudtrail_document_per_line(rules, three_files, tmp_path):
    want = expected(rules, three_files)
    lines = tmp_path / "firehose.json"
    lines.write_text("".join(json.dumps(json.loads(p.read_text())) + "\n" for p in three_files))
    for fmt in ("auto", "cloudtrail"):
        p = scan(rules, lines, extra=["--format", fmt])
        assert p.returncode == 0, p.stderr
        assert alerts(p) == want


def test_cloudtrail_records_as_json_lines(rules, any_source, three_files, tmp_path):
    want = expected(rules, three_files)
    recs = [r for p in three_files for r in json.loads(p.read_text())["Records"]]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    # auto takes them as JSON lines, each routed by its shape to source
    # "cloudtrail" (docs/log-types.md), which `on cloudtrail` rules see ...
    p = scan(any_source, path)
    assert [a["source"] for a in alerts(p)] == ["cloudtrail", "cloudtrail"]
    assert alerts(scan(rules, path)) == want
    # ... as when the format or the source says CloudTrail.
    p = scan(rules, path, extra=["--format", "cloudtrail"])
    assert p.returncode == 0, p.stderr
    assert alerts(p) == want
    assert alerts(scan(rules, path, extra=["--source", "cloudtrail"])) == want


# ---- directories ---------------------------------------------------------------


def python_order(top):
    """The files the Python binding's scan() takes from a directory, in its order."""
    spec = importlib.util.spec_from_file_location(
        "secdet_io", os.path.join(REPO, "bindings", "python", "src", "secdet", "_io.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [p for p, _ in mod.expand_inputs(str(top))]


def test_directory_tree_is_scanned_in_name_order_like_the_listed_files(rules, tmp_path):
    top = tmp_path / "CloudTrail"
    names = ["b.json", "B.json", "a.json.gz", "a/z.json", "a-1.jsonl", "a/sub/x.jsonl.gz", "A.gz",
             ".hidden.json", "a_b/c.json", "notes.txt", "digest.json.bz2"]
    for i, name in enumerate(names):
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Each file a login from its own address, so the alerts show the order.
        body = document([record("ConsoleLogin", i, ip="10.0.0.%d" % i)])
        if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
            body = json.dumps(record("ConsoleLogin", i, ip="10.0.0.%d" % i))
        data = body.encode()
        path.write_bytes(gzip.compress(data) if ".gz" in name else data)
    os.symlink(top / "a", top / "link-to-a")  # not followed, as os.walk does not
    os.symlink(top / "b.json", top / "link-to-b.json")  # a file: taken

    taken = sorted((str(top / n) for n in names + ["link-to-b.json"]
                    if n.endswith((".json", ".jsonl", ".gz"))), key=os.fsencode)
    assert taken == [p for p in python_order(top) if p.endswith((".json", ".jsonl", ".gz"))]

    listed = scan(rules, *taken, extra=["--format", "cloudtrail"])
    p = scan(rules, top, extra=["--format", "cloudtrail"])
    assert p.returncode == 0, p.stderr
    assert alerts(p) == alerts(listed)
    assert len(alerts(p)) == len(taken)
    assert b"from %d files" % len(taken) in p.stderr
    # A trailing slash changes nothing.
    assert alerts(scan(rules, str(top) + "/", extra=["--format", "cloudtrail"])) == alerts(listed)


def test_directory_without_logs_is_an_error_and_the_rest_is_scanned(rules, three_files, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing here")
    p = scan(rules, empty, three_files[0])
    assert p.returncode == 2
    assert b"no *.json, *.jsonl or *.gz files" in p.stderr
    assert len(alerts(p)) == 2


# ---- formats that name their source -----------------------------------------------


def eventbridge(detail, account="123456789012"):
    return {"version": "0", "id": "e-1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail",
            "account": account, "time": "2024-03-01T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


def cloudwatch(records, compressed=True):
    doc = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "aws-cloudtrail",
           "logStream": "s1", "subscriptionFilters": ["f"],
           "logEvents": [{"id": str(i), "timestamp": 1709287200000 + i, "message": json.dumps(r)}
                         for i, r in enumerate(records)]}
    if not compressed:
        return json.dumps(doc)
    return json.dumps({"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()}})


def test_eventbridge_and_cloudwatch_logs_formats_without_source(any_source, tmp_path):
    eb = tmp_path / "eb.jsonl"
    eb.write_text(json.dumps(eventbridge(record("DeleteTrail", 1))) + "\n" +
                  json.dumps(eventbridge(record("Describe", 2))) + "\n")
    p = scan(any_source, eb, extra=["--format", "eventbridge"])
    assert p.returncode == 0, p.stderr
    got = alerts(p)
    assert [a["source"] for a in got] == ["cloudtrail"]  # a CloudTrail record, by its shape
    assert got[0]["events"][0]["_eventbridge"]["account"] == "123456789012"  # the envelope beside the event
    assert b"scanned 2 events" in p.stderr

    cw = tmp_path / "cw.json"
    cw.write_text(cloudwatch([record("DeleteTrail", 1), record("Describe", 2)]) + "\n" +
                  cloudwatch([record("DeleteTrail", 3)], compressed=False) + "\n")
    p = scan(any_source, cw, extra=["--format", "cloudwatch-logs"])
    assert p.returncode == 0, p.stderr
    got = alerts(p)
    assert [a["source"] for a in got] == ["cloudtrail", "cloudtrail"]
    assert got[0]["events"][0]["_cloudwatch"]["logGroup"] == "aws-cloudtrail"
    assert b"scanned 3 events" in p.stderr


# ---- filters ---------------------------------------------------------------------


def test_min_severity_and_rule_filter_what_is_printed_not_what_is_evaluated(rules, three_files):
    every = expected(rules, three_files)

    p = scan(rules, *three_files, extra=["--min-severity", "HIGH"])
    assert p.returncode == 0, p.stderr
    assert [a["rule"] for a in alerts(p)] == [a["rule"] for a in every if a["severity"] in ("high", "critical")]
    assert b", 3 alerts (3 filtered out), in" in p.stderr  # the sequence's default severity is medium

    # The sequence needs stop_logging and delete_trail, whose alerts are not printed.
    p = scan(rules, *three_files, extra=["--rule", "tamper_*"])
    assert [a["rule"] for a in alerts(p)] == ["tamper_then_delete"]
    assert b", 1 alert (5 filtered out), in" in p.stderr

    p = scan(rules, *three_files, extra=["--rule", "console_login", "--rule", "delete_*", "--min-severity", "medium"])
    assert sorted(a["rule"] for a in alerts(p)) == ["delete_trail", "delete_trail"]

    # --fail-on-alert counts what is printed.
    p = scan(rules, *three_files, extra=["--rule", "console_login", "--min-severity", "high", "--fail-on-alert"])
    assert p.returncode == 0 and alerts(p) == []
    p = scan(rules, *three_files, extra=["--rule", "console_login", "--fail-on-alert"])
    assert p.returncode == 1


def test_filters_that_cannot_match_are_usage_errors(rules, three_files):
    p = scan(rules, *three_files, extra=["--rule", "delete_trial"])  # a typo would hide every alert
    assert p.returncode == 2
    assert b"--rule 'delete_trial' matches none of the loaded rules" in p.stderr
    assert p.stdout == b""
    p = scan(rules, *three_files, extra=["--min-severity", "severe"])
    assert p.returncode == 2
    assert b"unknown severity 'severe'" in p.stderr


# ---- the progress bar, on real terminals ---------------------------------------------


def run_on_terminals(args, stdout_tty, stderr_tty):
    """Runs secdet with stdout and/or stderr on a pty of its own; returns (stdout, stderr) bytes."""
    ends = {}
    child = {}
    for name, tty in (("stdout", stdout_tty), ("stderr", stderr_tty)):
        if tty:
            master, slave = pty.openpty()
            ends[name] = master
            child[name] = slave
        else:
            child[name] = subprocess.PIPE
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"
    proc = subprocess.Popen([BIN] + [str(a) for a in args], stdin=subprocess.DEVNULL, env=env, **child)
    for name in ends:
        os.close(child[name])
    got = {}

    def drain(name, fd):
        chunks = []
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        got[name] = b"".join(chunks)

    readers = [threading.Thread(target=drain, args=(n, fd)) for n, fd in ends.items()]
    for name in ("stdout", "stderr"):
        if name not in ends:
            readers.append(threading.Thread(target=drain, args=(name, getattr(proc, name).fileno())))
    for r in readers:
        r.start()
    proc.wait(timeout=60)
    for r in readers:
        r.join(timeout=60)
    for fd in ends.values():
        os.close(fd)
    assert proc.returncode == 0, got
    return got["stdout"], got["stderr"]


def has_bar(stderr):
    return b"\x1b[K" in stderr and re.search(rb"\d+ events?  \d+ alerts?", stderr) is not None


@pytest.mark.parametrize(
    "stdout_tty, stderr_tty, option, bar",
    [
        (True, True, None, True),             # an interactive run
        (False, True, None, False),           # stdout piped into less: the bar would draw over the pager
        (True, False, None, False),           # stderr to a file
        (False, True, "--progress", True),    # asked for
        (False, False, "--progress", True),   # asked for, even into a pipe
        (True, True, "--no-progress", False),
        (True, True, "--quiet", False),
    ],
)
def test_progress_bar_only_when_both_outputs_are_terminals(rules, three_files, stdout_tty, stderr_tty, option, bar):
    args = ["scan", "--rules", rules, "--output", "json"] + ([option] if option else []) + three_files
    out, err = run_on_terminals(args, stdout_tty, stderr_tty)
    assert has_bar(err) == bar, err
    assert out.count(b'"rule"') == 6


# ---- singular and plural --------------------------------------------------------------


def test_counts_are_singular_and_plural_as_english_wants(tmp_path, rules, three_files):
    one = tmp_path / "one.secdet"
    one.write_text('rule only { where .eventName == "X" }\n')
    p = run(["check", one])
    assert re.search(rb"^1 rule OK \(0 warnings\)$", p.stderr, re.M), p.stderr
    two = tmp_path / "two.secdet"
    two.write_text('rule a { where .eventName == "X" }\nrule unused { where .eventName == "Y" private }\n')
    p = run(["check", two])
    assert re.search(rb"^2 rules OK \(1 warning\)$", p.stderr, re.M), p.stderr
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule x { where }\n")
    assert re.search(rb"^1 error, 0 warnings$", run(["check", bad]).stderr, re.M)

    single = tmp_path / "single.json"
    single.write_text(document([record("DeleteTrail", 1)]))
    p = scan(rules, single)
    assert re.search(rb"^scanned 1 event \(0 malformed\) from 1 file, 1 alert, in ", p.stderr, re.M), p.stderr
    p = scan(rules, *three_files[:2])
    assert re.search(rb"^scanned 4 events \(0 malformed\) from 2 files, 4 alerts, in ", p.stderr, re.M), p.stderr
    p = scan(rules, single, extra=["--rule", "console_login"])
    assert re.search(rb", 0 alerts \(1 filtered out\), in ", p.stderr), p.stderr


# ---- help and README ---------------------------------------------------------------------


def long_options(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def test_help_lists_every_option_and_the_readme_table_matches():
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    table = readme[readme.index("## The `secdet` command"):]
    table = table[:table.index("\n## ", 1)]
    for command in ("check", "test", "scan", "disasm", "run"):
        row = [l for l in table.splitlines() if l.startswith("| `secdet %s" % command)]
        assert len(row) == 1, command
        helped = long_options(run(["help", command]).stdout.decode()) - {"--help"}
        command_cell = re.split(r"(?<!\\)\|", row[0])[1]  # "\|" is a | inside a cell
        assert long_options(command_cell) == helped, command
    # Every option the help lists is one the command takes.
    for option in long_options(run(["help", "scan"]).stdout.decode()):
        p = run(["scan", option, "--help"])
        assert b"unknown option" not in p.stderr, option


# ---- the fast path ---------------------------------------------------------------------------


def test_every_input_reaches_the_one_pass_scanner(rules, any_source, three_files, tmp_path):
    """--stats says how many events were read by the scanner without a JSON tree:
    all of them, for every format, auto-detected or not."""
    joined = tmp_path / "cat.json.gz"
    joined.write_bytes(gzip.compress(b"".join(p.read_bytes() for p in three_files)))
    recs = tmp_path / "records.jsonl"
    recs.write_text("".join(json.dumps(r) + "\n" for p in three_files for r in json.loads(p.read_text())["Records"]))
    eb = tmp_path / "eb.jsonl"
    eb.write_text(json.dumps(eventbridge(record("DeleteTrail", 1))) + "\n")
    cw = tmp_path / "cw.json"
    cw.write_text(cloudwatch([record("DeleteTrail", 1), record("Describe", 2)]))
    cases = [
        (rules, [three_files[1]], []),                      # auto: a (pretty) CloudTrail document
        (rules, [joined], []),                              # auto: documents one after another, gzip
        (rules, [tmp_path], ["--format", "cloudtrail"]),    # a directory
        (any_source, [recs], []),                           # auto: JSON lines
        (rules, [recs], ["--source", "cloudtrail"]),        # auto with a source: the engine decides
        (rules, [recs], ["--format", "cloudtrail"]),        # records as documents
        (any_source, [eb], ["--format", "eventbridge"]),
        (any_source, [eb], ["--source", "x"]),              # an EventBridge line of an auto source
        (any_source, [cw], ["--format", "cloudwatch-logs"]),
        (any_source, [cw], ["--source", "x"]),
    ]
    for rule_file, inputs, extra in cases:
        p = scan(rule_file, *inputs, extra=["--stats", *extra])
        assert p.returncode == 0, p.stderr
        s = stats(p)
        assert s["events"] > 0 and s["text_events"] == s["events"], (inputs, extra, s)
        assert s["malformed"] == 0

"""Lambda custom runtime (bootstrap) under AWS's Runtime Interface Emulator,
with real parts: the packaged zip (lambda/package.py), aws-lambda-rie,
moto's S3 server holding gzip CloudTrail files, and a local HTTP server as
the webhook sink. Each event kind is invoked through the RIE.

Environment: SECDET_SOURCE_DIR (repo root), SECDET_LAMBDA_BOOTSTRAP (the
built bootstrap); aws-lambda-rie on PATH, in ~/go/bin or SECDET_RIE
(tests/lambda/setup.sh installs it and moto). Skips, saying why, when the
RIE or moto is missing.
"""
import base64
import gzip
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile

import pytest

SRC = os.environ.get("SECDET_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
# The ctest registration sets SECDET_BIN (BUILD/secdet); bootstrap is BUILD/lambda/bootstrap.
BOOTSTRAP = os.environ.get("SECDET_LAMBDA_BOOTSTRAP") or (
    os.path.join(os.path.dirname(os.environ["SECDET_BIN"]), "lambda", "bootstrap") if os.environ.get("SECDET_BIN") else "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("port %d never opened" % port)


def find_rie():
    for c in (os.environ.get("SECDET_RIE"), shutil.which("aws-lambda-rie"),
              os.path.expanduser("~/go/bin/aws-lambda-rie")):
        if c and os.access(c, os.X_OK):
            return c
    return None


# ---- the webhook receiver ------------------------------------------------------------

class Hook:
    def __init__(self):
        self.alerts = []
        self.lock = threading.Lock()
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with hook.lock:
                    hook.alerts.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self):
        with self.lock:
            out, self.alerts = self.alerts, []
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- CloudTrail events the CIS rules must catch ---------------------------------------

def cis_events():
    """One matching test event per CIS rule, from rules/aws/cis.tests.jsonl."""
    seen = {}
    with open(os.path.join(SRC, "rules/aws/cis.tests.jsonl")) as f:
        for line in f:
            t = json.loads(line)
            if t.get("expect") == "match" and t["rule"] not in seen and "eventTime" in t.get("event", {}):
                seen[t["rule"]] = t["event"]
    return seen


def gz_trail(events):
    return gzip.compress(json.dumps({"Records": list(events)}).encode())


def s3_record(bucket, key):
    return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": key.replace(" ", "+")}}}


# ---- the whole set-up -------------------------------------------------------------------

@pytest.fixture(scope="module")
def env(tmp_path_factory, request):
    rie = find_rie()
    if not rie:
        pytest.skip("aws-lambda-rie not installed (tests/lambda/setup.sh installs it)")
    try:
        import boto3  # noqa: F401  (moto's server needs its deps; boto3 is one)
        import moto.server  # noqa: F401
    except Exception as e:  # pragma: no cover
        pytest.skip("moto[server] not installed: %s" % e)
    if not BOOTSTRAP or not os.access(BOOTSTRAP, os.X_OK):
        pytest.skip("SECDET_LAMBDA_BOOTSTRAP does not name the built bootstrap")
    tmp = tmp_path_factory.mktemp("lambda")
    procs, hook = [], None
    try:
        # Package the zip exactly as the lambda_zip target does, and unpack it as Lambda would.
        zpath = str(tmp / "secdet-lambda.zip")
        subprocess.run([sys.executable, os.path.join(SRC, "lambda/package.py"), "--bootstrap", BOOTSTRAP,
                        "--rules", os.path.join(SRC, "rules"), "--out", zpath], check=True, timeout=120)
        task = tmp / "task"
        with zipfile.ZipFile(zpath) as z:
            names = z.namelist()
            assert "bootstrap" in names and "rules/aws/cis.secdet" in names
            assert any(n.startswith("lib/libcurl") for n in names)
            z.extractall(task)
            for info in z.infolist():
                os.chmod(task / info.filename, (info.external_attr >> 16) & 0o777)

        # moto's S3 server.
        s3port = free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(moto)
        wait_port(s3port, moto)
        endpoint = "http://127.0.0.1:%d" % s3port
        import boto3
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="trail")

        hook = Hook()
        port, api = free_port(), free_port()
        # A test module may load rules of its own (LAMBDA_RULES, their text) instead of the CIS pack.
        rules = task / "rules/aws/cis.secdet"
        if getattr(request.module, "LAMBDA_RULES", None):
            rules = tmp / "module.secdet"
            rules.write_text(request.module.LAMBDA_RULES)
        e = dict(os.environ)
        e.update({
            "LAMBDA_TASK_ROOT": str(task),
            "SECDET_RULES": str(rules),
            "SECDET_SINKS": json.dumps([{"type": "webhook", "url": hook.url, "max_attempts": 3,
                                         "backoff_ms": 100}]),
            "SECDET_S3_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "token", "AWS_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": "30",
        })
        log = open(tmp / "rie.log", "wb")
        p = subprocess.Popen([rie, "--runtime-interface-emulator-address", "127.0.0.1:%d" % port,
                              "--runtime-api-address", "127.0.0.1:%d" % api, str(task / "bootstrap")],
                             cwd=str(task), env=e, stdout=log, stderr=subprocess.STDOUT)
        procs.append(p)
        wait_port(port, p)
        yield {"port": port, "s3": s3, "hook": hook, "log": tmp / "rie.log", "rie": p, "task": task,
               "rie_bin": rie, "env": e}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        if hook:
            hook.close()


def invoke(env, event, timeout=30):
    data = event if isinstance(event, bytes) else json.dumps(event).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % env["port"],
                                 data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def rules_of(alerts):
    return {a.get("rule") for a in alerts}


def assert_alive(env):
    log = open(env["log"], "rb").read().decode(errors="replace")
    assert env["rie"].poll() is None, log[-3000:]
    # One init only: the runtime was never restarted (its state is warm).
    assert log.count("bootstrap: ready") == 1, log[-3000:]


# ---- the tests ----------------------------------------------------------------------------

def test_eventbridge_cis_event_alerts(env):
    ev = cis_events()["cis_aws_4_1_unauthorized_api_calls"]
    status, out = invoke(env, {"version": "0", "id": "eb-1", "detail-type": "AWS API Call via CloudTrail",
                               "source": "aws.ec2", "account": "111122223333", "time": ev["eventTime"],
                               "region": "us-east-1", "resources": [], "detail": ev})
    assert status == 200 and out["kind"] == "eventbridge", out
    assert out["events"] == 1 and out["alerts"] == 1 and out["drained"] is True, out
    assert rules_of(env["hook"].take()) == {"cis_aws_4_1_unauthorized_api_calls"}


def test_cloudwatch_logs_cis_events_alert(env):
    evs = cis_events()
    picked = ["cis_aws_4_3_root_account_usage", "cis_aws_4_4_iam_policy_changes"]
    payload = {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "trail",
               "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["secdet"],
               "logEvents": [{"id": str(i), "timestamp": 1710400000000 + i, "message": json.dumps(evs[r])}
                             for i, r in enumerate(picked)]}
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    status, out = invoke(env, {"awslogs": {"data": data}})
    assert status == 200 and out["kind"] == "cloudwatch-logs", out
    assert out["events"] == 2, out
    assert set(picked) <= rules_of(env["hook"].take())


def test_s3_direct_all_cis_rules(env):
    evs = cis_events()
    assert len(evs) >= 10, sorted(evs)
    env["s3"].put_object(Bucket="trail", Key="AWSLogs/111122223333/CloudTrail/us-east-1/all cis.json.gz",
                         Body=gz_trail(evs.values()))
    status, out = invoke(env, {"Records": [s3_record("trail", "AWSLogs/111122223333/CloudTrail/us-east-1/all cis.json.gz")]})
    assert status == 200, out
    assert out["events"] == len(evs) and out["failures"] == [], out
    got = rules_of(env["hook"].take())
    assert set(evs) <= got, sorted(set(evs) - got)
    assert all(r.startswith("cis_aws_") for r in got)


def test_sqs_sns_batch_with_missing_object(env):
    ev = cis_events()["cis_aws_4_3_root_account_usage"]
    env["s3"].put_object(Bucket="trail", Key="AWSLogs/ok.json.gz", Body=gz_trail([ev]))
    good = json.dumps({"Type": "Notification", "MessageId": "sns-1",
                       "Message": json.dumps({"Records": [s3_record("trail", "AWSLogs/ok.json.gz")]})})
    missing = json.dumps({"Records": [s3_record("trail", "AWSLogs/missing.json.gz")]})
    batch = {"Records": [{"messageId": "m-good", "eventSource": "aws:sqs", "body": good},
                         {"messageId": "m-missing", "eventSource": "aws:sqs", "body": missing}]}
    status, out = invoke(env, batch)
    assert status == 200, out
    assert out["batchItemFailures"] == [{"itemIdentifier": "m-missing"}], out
    assert out["events"] == 1 and len(out["failures"]) == 1 and "404" in out["failures"][0]["error"], out
    assert rules_of(env["hook"].take()) == {"cis_aws_4_3_root_account_usage"}


def test_sns_direct(env):
    ev = cis_events()["cis_aws_4_4_iam_policy_changes"]
    env["s3"].put_object(Bucket="trail", Key="AWSLogs/sns.json.gz", Body=gz_trail([ev]))
    msg = json.dumps({"Records": [s3_record("trail", "AWSLogs/sns.json.gz")]})
    status, out = invoke(env, {"Records": [{"EventSource": "aws:sns", "Sns": {"MessageId": "s-1", "Message": msg}}]})
    assert status == 200 and out["events"] == 1, out
    assert "cis_aws_4_4_iam_policy_changes" in rules_of(env["hook"].take())


def test_malformed_events_are_errors_and_runtime_survives(env):
    for bad in (b"{not json", json.dumps({"hello": "world"}).encode(),
                json.dumps({"awslogs": {"data": "!!!not base64!!!"}}).encode()):
        status, out = invoke(env, bad)
        assert out.get("errorType") == "Runtime.InvalidEvent", (bad, status, out)
        if b"awslogs" in bad:
            assert "awslogs" in out["errorMessage"] or "base64" in out["errorMessage"], out
        assert "errorMessage" in out
        assert_alive(env)
    # The next invocation still works, on the same warm runtime.
    ev = cis_events()["cis_aws_4_1_unauthorized_api_calls"]
    status, out = invoke(env, {"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
                               "time": ev["eventTime"], "detail": ev})
    assert status == 200 and out["alerts"] == 1, out
    assert rules_of(env["hook"].take()) == {"cis_aws_4_1_unauthorized_api_calls"}
    assert_alive(env)


def test_direct_s3_missing_object_is_error(env):
    status, out = invoke(env, {"Records": [s3_record("trail", "AWSLogs/nope.json.gz")]})
    assert out.get("errorType") == "Runtime.RecordsFailed", out
    assert_alive(env)


def start_rie(env, tmp_path, **overrides):
    port, api = free_port(), free_port()
    e = dict(env["env"], **overrides)
    log = open(tmp_path / "rie.log", "wb")
    p = subprocess.Popen([env["rie_bin"], "--runtime-interface-emulator-address", "127.0.0.1:%d" % port,
                          "--runtime-api-address", "127.0.0.1:%d" % api, str(env["task"] / "bootstrap")],
                         cwd=str(env["task"]), env=e, stdout=log, stderr=subprocess.STDOUT)
    return p, port


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)


def test_deadline_is_respected(env, tmp_path):
    # An S3 server that accepts connections and never answers.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    p, port = start_rie(env, tmp_path, AWS_LAMBDA_FUNCTION_TIMEOUT="4",
                        SECDET_S3_ENDPOINT="http://127.0.0.1:%d" % srv.getsockname()[1])
    try:
        wait_port(port, p)
        body = json.dumps({"Records": [s3_record("trail", "AWSLogs/slow.json.gz")]})
        t0 = time.time()
        status, out = invoke(dict(env, port=port), {"Records": [
            {"messageId": "m-slow", "eventSource": "aws:sqs", "body": body},
            {"messageId": "m-late", "eventSource": "aws:sqs", "body": body}]}, timeout=20)
        took = time.time() - t0
        # Answered by the runtime itself (not a timeout error), before the 4 s deadline.
        assert status == 200 and "batchItemFailures" in out, (out, open(tmp_path / "rie.log").read()[-3000:])
        assert out["batchItemFailures"] == [{"itemIdentifier": "m-slow"}, {"itemIdentifier": "m-late"}], out
        assert 1.5 < took < 4.0, took
    finally:
        stop(p)
        srv.close()


def test_bad_rules_report_init_error(env, tmp_path):
    bad = tmp_path / "bad.secdet"
    bad.write_text("rule broken {\n  on cloudtrail\n  when .eventName ==\n}\n")
    p, port = start_rie(env, tmp_path, SECDET_RULES=str(bad))
    try:
        wait_port(port, p)
        status, out = invoke(dict(env, port=port), {"detail-type": "x", "detail": {}})
        text = open(tmp_path / "rie.log", "rb").read().decode(errors="replace")
        assert "Runtime.RulesError" in json.dumps(out) + text, (status, out, text[-3000:])
        assert "bad.secdet" in text, text[-3000:]
        assert "bootstrap: ready" not in text
    finally:
        stop(p)


def test_s3_requests_are_sigv4_signed_with_session_token(env, tmp_path):
    got = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            got.append((self.path, dict(self.headers)))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    p, port = start_rie(env, tmp_path, SECDET_S3_ENDPOINT="http://127.0.0.1:%d" % srv.server_address[1],
                        AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SESSION_TOKEN="tok-123", AWS_REGION="eu-west-1")
    try:
        wait_port(port, p)
        status, out = invoke(dict(env, port=port), {"Records": [s3_record("my-bucket", "AWSLogs/a b%2Bc.json.gz")]})
        assert out.get("errorType") == "Runtime.RecordsFailed", out
        assert len(got) == 1, got
        path, h = got[0]
        assert path == "/my-bucket/AWSLogs/a%20b%2Bc.json.gz", path  # path-style, key decoded then encoded
        assert h["Authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/eu-west-1/s3/aws4_request" in h["Authorization"], h
        assert "x-amz-security-token" in h["Authorization"] and h["X-Amz-Security-Token"] == "tok-123", h
    finally:
        stop(p)
        srv.shutdown()
        srv.server_close()

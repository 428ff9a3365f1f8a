"""`secdet hunt` over s3://bucket/prefix, against moto's S3 server: the
CloudTrail layout's date folders outside --since/--until are neither listed
nor read (counted in moto's own request log), the objects read are hunted as
files are, and the credentials come from the environment, a profile file or
the container credentials endpoint (a local server that checks the token).
Skips when moto[server] is missing (tests/lambda/setup.sh installs it)."""
import gzip
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SECDET = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
DAYS = ["2024/03/12", "2024/03/13", "2024/03/14", "2024/03/15", "2024/03/16", "2023/12/31"]
PREFIX = "AWSLogs/111122223333/CloudTrail/us-east-1/"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(t, ip, i):
    return {"eventVersion": "1.08", "eventTime": t, "eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
            "awsRegion": "us-east-1", "sourceIPAddress": ip, "eventID": "e%d" % i,
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}}


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    try:
        import boto3
        import moto.server  # noqa: F401
    except Exception as e:  # pragma: no cover
        pytest.skip("moto[server] not installed: %s" % e)
    tmp = tmp_path_factory.mktemp("s3")
    log = tmp / "moto.log"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        endpoint = "http://127.0.0.1:%d" % port
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="trail")
        n = 0
        for day in DAYS:
            for k in range(2):  # two log files a day, two records each, one of them the pivot's
                t = day.replace("/", "-") + "T%02d:30:00Z" % (10 + k)
                body = {"Records": [record(t, "203.0.113.7", n), record(t, "192.0.2.1", n + 1)]}
                n += 2
                key = "%s%s/111122223333_CloudTrail_us-east-1_%sT%02d30Z_%d.json.gz" % (
                    PREFIX, day, day.replace("/", ""), 10 + k, k)
                s3.put_object(Bucket="trail", Key=key, Body=gzip.compress(json.dumps(body).encode()))
        s3.put_object(Bucket="trail", Key="AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/14/d.json.gz",
                      Body=gzip.compress(b'{"digestStartTime": "2024-03-14T00:00:00Z"}'))
        yield endpoint, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def gets(log, since):
    """Object reads moto served after byte offset `since` of its log."""
    with open(log) as f:
        f.seek(since)
        text = f.read()
    return re.findall(r'"GET /trail/(AWSLogs/[^ ?]+) HTTP', text), re.findall(r'"GET /trail/\?([^ ]+) HTTP', text)


def hunt(endpoint, *args, env=None, check=0):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update({"SECDET_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
              "HOME": "/nonexistent"})
    e.update(env or {})
    e = {k: v for k, v in e.items() if v is not None}
    p = subprocess.run([SECDET, "hunt", "--no-progress", *args], capture_output=True, text=True, timeout=120, env=e)
    assert p.returncode == check, p.stderr
    return p


def test_a_days_hunt_reads_that_days_objects(moto):
    endpoint, log = moto
    start = os.path.getsize(log)
    p = hunt(endpoint, '@ip == "203.0.113.7"', "s3://trail/AWSLogs/", "--since", "2024-03-14",
             "--until", "2024-03-14T23:59:59Z")
    rows = [json.loads(l) for l in p.stdout.splitlines()]
    assert [r["time"] for r in rows] == ["2024-03-14T10:30:00Z", "2024-03-14T11:30:00Z"]
    objects, lists = gets(log, start)
    # The day asked and the day after (files delivered late); no other day, no digest.
    assert sorted(k.split("/")[6] for k in objects) == ["14", "14", "15", "15"], objects
    assert not any("2023" in q or "%2F12%2F" in q or "/12/" in q for q in lists), lists
    assert "8 objects listed" not in p.stderr
    assert "4 objects listed, 4 read" in p.stderr and "date folders outside the time asked skipped" in p.stderr


def test_whole_prefix_without_a_range_and_type_prefix(moto):
    endpoint, log = moto
    start = os.path.getsize(log)
    p = hunt(endpoint, "--count-by", "day(@time)", '@ip == "203.0.113.7"', "cloudtrail:s3://trail/" + PREFIX)
    counts = {c["value"]: c["count"] for c in map(json.loads, p.stdout.splitlines())}
    assert counts == {d.replace("/", "-"): 2 for d in DAYS}
    objects, _ = gets(log, start)
    assert len(objects) == 12  # every log file, no digest


def test_credentials_from_a_profile_file(moto, tmp_path):
    endpoint, _ = moto
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n"
                     "[hunt]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SHARED_CREDENTIALS_FILE": str(creds),
           "AWS_PROFILE": "hunt"}
    p = hunt(endpoint, '@ip == "203.0.113.7"', "s3://trail/AWSLogs/", "--since", "2024-03-16", env=env)
    assert len(p.stdout.splitlines()) == 2
    env["AWS_PROFILE"] = "missing"
    p = hunt(endpoint, '@ip == "203.0.113.7"', "s3://trail/AWSLogs/", env=env, check=2)
    assert "AWS_PROFILE missing: no such profile" in p.stderr


def test_credentials_from_the_container_endpoint(moto):
    endpoint, _ = moto
    seen = []

    class Creds(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({"AccessKeyId": "testing", "SecretAccessKey": "testing", "Token": "tok",
                               "Expiration": "2099-01-01T00:00:00Z"}).encode()
            self.send_response(200 if self.headers.get("Authorization") == "secret-token" else 403)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Creds)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
               "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:%d/creds" % srv.server_port,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "secret-token"}
        p = hunt(endpoint, '@ip == "203.0.113.7"', "s3://trail/AWSLogs/", "--since", "2024-03-16", env=env)
        assert len(p.stdout.splitlines()) == 2
        assert seen and seen[0] == ("/creds", "secret-token")
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        p = hunt(endpoint, '@ip == "203.0.113.7"', "s3://trail/AWSLogs/", env=env, check=2)
        assert "container credentials endpoint" in p.stderr and "HTTP 403" in p.stderr
    finally:
        srv.shutdown()


def test_a_time_with_no_objects_is_an_empty_timeline(moto):
    endpoint, log = moto
    start = os.path.getsize(log)
    p = hunt(endpoint, "exists @ip", "s3://trail/AWSLogs/", "--since", "2025-01-01")
    assert p.stdout == ""
    assert "0 objects listed, 0 read" in p.stderr
    assert gets(log, start)[0] == []


def test_a_missing_bucket_is_said(moto):
    endpoint, _ = moto
    p = hunt(endpoint, "exists @ip", "s3://nosuchbucket/x", check=2)
    assert "s3://nosuchbucket/x: ListObjectsV2: HTTP 404" in p.stderr

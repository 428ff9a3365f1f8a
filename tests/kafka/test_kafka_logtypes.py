"""A Kafka input's topics name their log types (docs/scale-out.md): the
messages of a topic listed in "log_types" go to the source of that log type
(here Okta events without Okta's whole shape, so only the topic tells), the
other topics' to the input's source; each with its log type's time.
"""
import json
import os
import signal
import subprocess
import time
import uuid

RULES = """\
rule okta_login { on okta where @action == "user.session.start" and @ip == "192.0.2.1" }
rule trail_stop { on cloudtrail where @action == "StopLogging" }
"""


def read_alerts(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n")]
    except OSError:
        return []


def test_a_topic_named_okta_goes_to_okta(kafka, secdet_bin, tmp_path):
    tag = uuid.uuid4().hex[:8]
    okta_topic, trail_topic = "lt-okta-" + tag, "lt-trail-" + tag
    kafka.create_topic(okta_topic)
    kafka.create_topic(trail_topic)
    okta = {"eventType": "user.session.start", "published": "2024-05-01T01:00:00.000Z",
            "client": {"ipAddress": "192.0.2.1"}, "uuid": "u-1"}
    trail = {"eventVersion": "1.08", "eventTime": "2024-05-01T02:00:00Z", "eventName": "StopLogging",
             "eventSource": "cloudtrail.amazonaws.com", "awsRegion": "us-east-1"}
    kafka.produce(okta_topic, [json.dumps(okta)])
    kafka.produce(trail_topic, [json.dumps(trail)])
    (tmp_path / "r.secdet").write_text(RULES)
    sink = tmp_path / "alerts.jsonl"
    config = {"rules": [str(tmp_path / "r.secdet")],
              "sources": [{"name": "cloudtrail", "format": "jsonl",
                           "input": {"type": "kafka", "brokers": kafka.bootstrap, "group": "g-" + tag,
                                     "topics": [okta_topic, trail_topic], "log_types": {okta_topic: "okta"}}}],
              "sinks": [{"type": "file", "path": str(sink)}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    with open(tmp_path / "stderr", "wb") as err:
        p = subprocess.Popen([secdet_bin, "run", "--config", str(tmp_path / "c.json")], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        end = time.time() + 60
        while len(read_alerts(sink)) < 2 and time.time() < end and p.poll() is None:
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    alerts = read_alerts(sink)
    got = sorted((a["rule"], a["source"], a["time"]) for a in alerts)
    assert got == [("okta_login", "okta", "2024-05-01T01:00:00Z"),
                   ("trail_stop", "cloudtrail", "2024-05-01T02:00:00Z")], (
        got, (tmp_path / "stderr").read_text(errors="replace")[-3000:])

# docs/config.md, secrets: an unset variable, a missing file.
[ ! -e /run/secrets/kafka ] || { echo "/run/secrets/kafka exists on this machine: cannot show the error"; exit 1; }
mkdir env file
cat >env/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"],
 "sources": [{"name": "cloudtrail", "input": {"type": "stdin"}}],
 "sinks": [{"type": "stdout"}, {"type": "file", "path": "alerts.jsonl"},
           {"type": "webhook", "url": "https://siem.example.com/in", "secret": {"env": "WEBHOOK_SECRET"}}]}
JSON
cat >file/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"],
 "sources": [{"name": "cloudtrail", "input": {"type": "kafka", "brokers": "127.0.0.1:9092", "group": "secdet",
             "topics": ["cloudtrail"], "properties": {"sasl.password": {"file": "/run/secrets/kafka"}}}}]}
JSON
(cd env && env -u WEBHOOK_SECRET "$SECDET" run --config secdet.json --check)
(cd file && "$SECDET" run --config secdet.json --check)

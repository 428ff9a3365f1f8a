# docs/config.md: a misspelt key and a bad value, each in a secdet.json of its own.
mkdir typo port
cat >typo/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"],
 "sources": [{"name": "cloudtrail", "input": {"type": "stdin"}},
             {"name": "app", "frmat": "jsonl", "input": {"type": "udp", "address": "0.0.0.0", "port": 5141}}]}
JSON
cat >port/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"],
 "sources": [{"name": "cloudtrail", "input": {"type": "tcp", "address": "127.0.0.1", "port": 65536}}]}
JSON
(cd typo && "$SECDET" run --config secdet.json --check)
(cd port && "$SECDET" run --config secdet.json --check)

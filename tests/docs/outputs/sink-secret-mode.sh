# docs/sinks.md, "File permissions": a secret file every user may read is
# used, with a warning (the scratch directory's path is cut from the message).
mkdir -p etc/secdet run/secrets
printf 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n' >run/secrets/siem-hook-secret
chmod 0644 run/secrets/siem-hook-secret
cat >etc/secdet/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"], "sources": [{"name": "cloudtrail", "input": {"type": "stdin"}}],
 "sinks": [{"type": "stdout"}, {"type": "stdout", "name": "out"},
           {"type": "webhook", "name": "siem", "url": "https://siem.example.com/in",
            "secret": {"file": "$PWD/run/secrets/siem-hook-secret"}}]}
JSON
"$SECDET" run --config "$PWD/etc/secdet/secdet.json" --check 2>&1 | sed "s|$PWD||g" | grep -v 'configuration OK'

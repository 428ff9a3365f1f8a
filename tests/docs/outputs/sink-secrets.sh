# docs/sinks.md, "What is refused": three configurations at /etc/secdet/secdet.json
# (here under the scratch directory, whose path is cut from the messages).
[ ! -e /run/secrets/slack-url ] || { echo "/run/secrets/slack-url exists on this machine"; exit 1; }
conf() {  # conf SINKS: writes etc/secdet/secdet.json with these sinks
    mkdir -p etc/secdet
    cat >etc/secdet/secdet.json <<JSON
{"rules": ["$REPO/rules/aws"], "sources": [{"name": "cloudtrail", "input": {"type": "stdin"}}], "sinks": $1}
JSON
}
check() { "$SECDET" run --config "$PWD/etc/secdet/secdet.json" --check 2>&1 | sed "s|$PWD||g"; }
conf '[{"type": "stdout"}, {"type": "stdout", "name": "out"},
       {"type": "webhook", "name": "siem", "url": "https://siem.example.com/in", "secret": {"env": "SIEM_HOOK_SECRET"}}]'
env -u SIEM_HOOK_SECRET bash -c "$(declare -f check); check"
conf '[{"type": "slack", "url": {"file": "/run/secrets/slack-url"}}]'
check
conf '[{"type": "stdout"}, {"type": "stdout", "name": "out"},
       {"type": "webhook", "name": "siem", "url": {"env": "SIEM_HOOK_URL"}}]'
SIEM_HOOK_URL=siem.example.com/in check

# docs/investigate.md: what alice did, by action (tests/hunt/data).
"$SECDET" hunt -q --output table --count-by @action 'lower(@user) contains "alice"' "$REPO/tests/hunt/data"

# docs/investigate.md: one address across five log types (tests/hunt/data), as a table.
"$SECDET" hunt -q --output table '@ip == "203.0.113.7"' "$REPO/tests/hunt/data"

# docs/investigate.md: what the Okta pack compiles to on DuckDB, and why two rules are refused.
"$SECDET" sql --dialect duckdb "$REPO/rules/okta" >/dev/null || true

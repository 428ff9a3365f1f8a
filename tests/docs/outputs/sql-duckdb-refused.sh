# docs/investigate.md: the correlation pack on DuckDB: its sequence is refused, the rest compiled.
"$SECDET" sql --dialect duckdb "$REPO/rules/aws/correlation.secdet" >/dev/null || true

# docs/language.md, "Severity, exceptions and tuning": what `secdet check
# --explain-tuning` prints for the overlay of the page (tests/docs/data/site.secdet).
cp "$DATA/site.secdet" .
"$SECDET" check --explain-tuning --today 2026-01-01 rules/aws/cis.secdet site.secdet

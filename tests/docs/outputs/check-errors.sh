# docs/language.md, "Errors and warnings": what `secdet check` prints for
# two broken rule files (tests/docs/data/bad.secdet, bad2.secdet).
cp "$DATA/bad.secdet" "$DATA/bad2.secdet" .
"$SECDET" check bad.secdet bad2.secdet

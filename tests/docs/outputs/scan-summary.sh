# docs/language.md, "Severity, exceptions and tuning": `secdet scan --summary`
# over the sample log with the page's overlay (tests/docs/data/site.secdet).
cp "$DATA/site.secdet" .
"$SECDET" scan --quiet --summary --rules rules/aws/cis.secdet --rules site.secdet \
    "$REPO/examples/data/cloudtrail-sample.json.gz" > /dev/null

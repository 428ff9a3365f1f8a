# docs/investigate.md: two rules (tests/docs/data/investigate-new.secdet) as Athena SQL.
"$SECDET" sql --dialect athena "$DATA/investigate-new.secdet"

# docs/investigate.md: the table of a log type without a vendor's lake table (Okta's), for Athena.
"$SECDET" sql --dialect athena --table okta

#!/usr/bin/env python3
"""write_a_rule.py — writing and testing a rule interactively, notebook style.

Each `# %%` cell runs on its own in Jupyter or VS Code ("Run Cell"), or the
whole file with `python3 examples/python/write_a_rule.py`. It writes a rule,
tests it against a few events, makes it an aggregation, and shows what a
mistake in a rule looks like: a `secdet.RuleError` pointing at it.
"""
# %% [markdown]
# ## 1. A first rule
# Rules are text: load them from a string while you work on them, from a
# `.secdet` file once they are done.

# %%
import json

import secdet

RULE = """
rule s3_bucket_made_public {
    meta {
        title = "S3 bucket policy or ACL changed to public"
        severity = high
        tags = ["attack.exfiltration"]
    }
    on cloudtrail
    where .eventSource == "s3.amazonaws.com"
      and .eventName in ["PutBucketPolicy", "PutBucketAcl"]
      and .requestParameters.AccessControlPolicy.Grantee contains "AllUsers"
    output "{.requestParameters.bucketName} made public by {.userIdentity.arn}"
}
"""

engine = secdet.Engine()
print("warnings:", engine.load_rules(RULE, name="s3.secdet"))
print([(r.name, str(r.severity)) for r in engine.rules])

# %% [markdown]
# ## 2. Test it on events
# `push` takes a dict (or JSON text) and returns the alerts it raised.


# %%
def put_acl(bucket, grantee, minute=0):
    return {
        "eventTime": f"2024-05-01T10:{minute:02d}:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketAcl",
        "userIdentity": {"arn": "arn:aws:iam::111122223333:user/dev"},
        "requestParameters": {"bucketName": bucket, "AccessControlPolicy": {"Grantee": grantee}},
    }


public = engine.push(put_acl("reports", "http://acs.amazonaws.com/groups/global/AllUsers"))
private = engine.push(put_acl("reports", "arn:aws:iam::111122223333:root"))
assert len(public) == 1 and private == []
alert = public[0]
print(alert.severity, alert.rule, "-", alert.message)
print(json.dumps(alert.to_dict()["events"][0]["requestParameters"], indent=2))

# %% [markdown]
# ## 3. Make it an aggregation
# Fire only when one principal changes three buckets within ten minutes.
# Aggregations see events in event-time order, so their alerts come once
# later events pass them, or at `flush()`.

# %%
BURST = """
rule s3_public_burst {
    meta { title = "Several buckets made public" severity = critical }
    on cloudtrail
    where .eventName == "PutBucketAcl" and .requestParameters.AccessControlPolicy.Grantee contains "AllUsers"
    count >= 3 within 10m by .userIdentity.arn
}
"""
engine.load_rules(BURST, name="burst.secdet")
for minute, bucket in enumerate(["a", "b", "c"]):
    engine.push(put_acl(bucket, "AllUsers", minute=minute))
burst = [a for a in engine.flush() if a.rule == "s3_public_burst"]
print(burst[0].title, "count", burst[0].count, "group", burst[0].group)
assert burst[0].count == 3

# %% [markdown]
# ## 4. When a rule is wrong
# A rule with mistakes raises `secdet.RuleError`: every error with its file,
# line and column, exactly as `secdet check` prints them. The engine keeps the
# rules it had.

# %%
BROKEN = """
rule typo {
    on cloudtrail
    where .eventName == "DeleteBucket" and
}
"""
try:
    engine.load_rules(BROKEN, name="typo.secdet")
except secdet.RuleError as err:
    print(f"{err.file}:{err.line}:{err.column}: {err.message}")
    line = BROKEN.splitlines()[err.line - 1]
    print("    " + line)
    print("    " + " " * (err.column - 1) + "^")
    assert (err.file, err.line) == ("typo.secdet", 5)
print("rules still loaded:", [r.name for r in engine.rules])

# %%
engine.close()

"""sqltest.py — what the tests of `secdet sql` share: the events (CloudTrail
records from shared/data and a generated stream that makes every counting
and throttled rule of the packs fire, with resets inside a burst), the rows
of AWS's Athena table made from them (the JsonSerDe's mapping), and the
engine's alerts in the columns every compiled SELECT returns."""
import datetime
import glob
import json
import os
import subprocess

ROOT = os.environ.get("SECDET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SECDET = os.environ.get("SECDET_BIN", os.path.join(ROOT, "build", "secdet"))
DATA = os.path.join(ROOT, "..", "shared", "data", "cloudtrail", "invictus", "CloudTrail")
if not os.path.isdir(DATA):
    DATA = "/work/shared/data/cloudtrail/invictus/CloudTrail"
PACKS = [os.path.join(ROOT, "rules", "aws", "cis.secdet"), os.path.join(ROOT, "rules", "aws", "correlation.secdet"),
         os.path.join(ROOT, "rules", "demo.secdet")]

T0 = datetime.datetime(2024, 1, 1, 9, 0, 0, tzinfo=datetime.timezone.utc)


def record(sec, name, source, ip, user="alice", utype="IAMUser", **extra):
    t = (T0 + datetime.timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = {"eventVersion": "1.08",
         "userIdentity": {"type": utype, "principalId": "AIDA" + user.upper(), "accountId": "111122223333",
                          "arn": "arn:aws:iam::111122223333:%s" % ("root" if utype == "Root" else "user/" + user),
                          "userName": user},
         "eventTime": t, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
         "sourceIPAddress": ip, "userAgent": "test", "eventID": "ev-%06d" % sec, "eventType": "AwsApiCall",
         "readOnly": False, "recipientAccountId": "111122223333", "requestParameters": None,
         "responseElements": None}
    r.update(extra)
    return r


def generated():
    """Bursts that fire the packs' aggregations more than once, so the reset
    after an alert (and the throttle's suppression) is what is compared."""
    out = []
    fail = dict(errorMessage="Failed authentication", responseElements={"ConsoleLogin": "Failure"},
                eventType="AwsConsoleSignIn")
    # brute force: 12 failures 20 s apart from one address (alerts at the 5th and 10th), then 4,
    # a gap of 6 minutes, 5 more from another address (the window slides).
    for i in range(12):
        out.append(record(100 + 20 * i, "ConsoleLogin", "signin.amazonaws.com", "198.51.100.1", **fail))
    for i in range(4):
        out.append(record(1000 + 30 * i, "ConsoleLogin", "signin.amazonaws.com", "198.51.100.2", **fail))
    for i in range(5):
        out.append(record(1500 + 30 * i, "ConsoleLogin", "signin.amazonaws.com", "198.51.100.2", **fail))
    # password spray: 9 users, some twice, from one address within 30 minutes.
    for i, u in enumerate(["u1", "u2", "u1", "u3", "u4", "u2", "u5", "u6", "u7", "u8", "u9"]):
        out.append(record(3000 + 90 * i, "ConsoleLogin", "signin.amazonaws.com", "203.0.113.9", user=u, **fail))
    # access denied: 25 calls by one user 10 s apart (alerts at the 10th and 20th).
    for i in range(25):
        out.append(record(5000 + 10 * i, "ListUsers", "iam.amazonaws.com", "192.0.2.5", user="mallory",
                          errorCode="AccessDenied", errorMessage="denied"))
    # root: throttled 1 h by address: 0, +30 min, +61 min, +120 min, +190 min -> 0, +61, +190.
    for m in (0, 30, 61, 120, 190):
        out.append(record(8000 + 60 * m, "GetBucketAcl", "s3.amazonaws.com", "192.0.2.77", user="root",
                          utype="Root"))
    out.append(record(8100, "GetBucketAcl", "s3.amazonaws.com", "192.0.2.77", user="root", utype="Root",
                      userIdentity={"type": "Root", "invokedBy": "s3.amazonaws.com", "arn": "arn:aws:iam::1:root"}))
    # console sign-ins with and without MFA; admin burst of the demo pack.
    out.append(record(20000, "ConsoleLogin", "signin.amazonaws.com", "192.0.2.8", user="bob",
                      responseElements={"ConsoleLogin": "Success"}, additionalEventData={"MFAUsed": "No"},
                      eventType="AwsConsoleSignIn"))
    out.append(record(20010, "ConsoleLogin", "signin.amazonaws.com", "192.0.2.8", user="carol",
                      responseElements={"ConsoleLogin": "Success"}, additionalEventData={"MFAUsed": "Yes"},
                      eventType="AwsConsoleSignIn"))
    for i in range(11):
        out.append(record(21000 + 15 * i, ["AttachUserPolicy", "PutUserPolicy", "CreateAccessKey"][i % 3],
                          "iam.amazonaws.com", "192.0.2.9", user="eve"))
    return out


def write_events(tmp):
    """The shared records' files and one generated file; returns the paths."""
    paths = sorted(glob.glob(os.path.join(DATA, "*.json")))
    gen = os.path.join(str(tmp), "generated.json")
    with open(gen, "w") as f:
        json.dump({"Records": generated()}, f)
    return paths + [gen]


def all_records(paths):
    for p in paths:
        with open(p) as f:
            for r in json.load(f)["Records"]:
                yield r


def serde(value, typ):
    """A record's member as the JsonSerDe puts it into a column of type typ
    (DuckDB's spelling of the DDL's type): scalars as their text, objects of
    a STRING column as JSON text, structs member by member (names compared
    without case, as Hive does)."""
    if value is None:
        return None
    if typ.startswith("STRUCT("):
        if not isinstance(value, dict):
            return None
        fields = split_struct(typ[len("STRUCT("):-1])
        lower = {k.lower(): v for k, v in value.items()}
        return {name: serde(lower.get(name), t) for name, t in fields}
    if typ.endswith("[]"):
        if not isinstance(value, list):
            return None
        return [serde(v, typ[:-2]) for v in value]
    if typ.startswith("MAP("):
        return {str(k): (v if isinstance(v, str) else json.dumps(v)) for k, v in value.items()} if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def split_struct(body):
    out, depth, start = [], 0, 0
    for i, ch in enumerate(body + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            part = body[start:i].strip()
            name, typ = part.split(" ", 1)
            out.append((name.strip('"'), typ.strip()))
            start = i + 1
    return out


def secdet(*args, check=True):
    p = subprocess.run([SECDET, *args], capture_output=True, text=True, timeout=300)
    if check and p.returncode not in (0, 1):
        raise AssertionError("secdet %s: exit %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p


def statements(sql_text):
    """(rule, statement) of each compiled rule of `secdet sql`'s output."""
    out = []
    for block in sql_text.split("\n\n"):
        block = block.strip()
        if not block.startswith("-- rule ") or ": not compiled:" in block.splitlines()[0]:
            continue
        first, _, body = block.partition("\n")
        out.append((first[len("-- rule "):].strip(), body.rstrip().rstrip(";")))
    return out


def engine_alerts(pack, paths):
    """The engine's alerts as rows: rule, event_time, event_id, count, first_seen, grp."""
    p = secdet("scan", "--rules", pack, "--lateness", "7d", "--output", "json", "--no-progress", *paths)
    rows = []
    for line in p.stdout.splitlines():
        a = json.loads(line)
        grp = ", ".join("null" if v is None else str(v) for v in a["group"].values())
        rows.append((a["rule"], a["time"], a["events"][-1].get("eventID"), a["count"], a["first_seen"], grp))
    return rows


def duckdb_table(duckdb, paths):
    """A DuckDB connection holding the empty CloudTrail table (`secdet sql
    --table`), its columns, and the JsonSerDe's row of each record of paths
    as JSON text (lower-case names, as the table's)."""
    con = duckdb.connect()
    con.execute(secdet("sql", "--dialect", "duckdb", "--table", "cloudtrail").stdout)
    cols = con.execute("DESCRIBE cloudtrail_logs").fetchall()
    rows = []
    for rec in all_records(paths):
        lower = {k.lower(): v for k, v in rec.items()}
        rows.append(json.dumps({name: serde(lower.get(name), typ) for name, typ, *_ in cols}))
    return con, cols, rows

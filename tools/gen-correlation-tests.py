#!/usr/bin/env python3
"""Writes rules/aws/correlation.tests.jsonl: hand-built CloudTrail streams,
one test a line, for every rule of rules/aws/correlation.secdet."""
import datetime as dt
import json
import sys
import uuid

ACCOUNT = "111122223333"
BASE = dt.datetime(2024, 3, 14, 9, 0, 0, tzinfo=dt.timezone.utc)
UA_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
UA_CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off"
_n = [0]


def ident(kind):
    _n[0] += 1
    return str(uuid.UUID(int=(kind << 96) | _n[0]))


def at(seconds):
    return (BASE + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def console_login(t, ip, user="alice", ok=False, root=False, hidden=False):
    if root:
        uid = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
               "accountId": ACCOUNT, "accessKeyId": ""}
    elif hidden:
        uid = {"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "",
               "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    else:
        uid = {"type": "IAMUser", "principalId": "AIDA4EXAMPLE" + user.upper()[:8].ljust(8, "X"),
               "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT,
               "accessKeyId": "", "userName": user}
    e = {
        "eventVersion": "1.08", "userIdentity": uid, "eventTime": at(t),
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": UA_BROWSER,
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if ok else "Failure"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            "MobileVersion": "No", "MFAUsed": "No"},
        "eventID": ident(1), "readOnly": False, "eventType": "AwsConsoleSignIn",
        "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    if not ok:
        e["errorMessage"] = "Failed authentication"
    return e


def role_arn(session):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/{session}"


def api_call(t, name, source="iam.amazonaws.com", arn=None, ip="203.0.113.24",
             error=None, params=None):
    arn = arn or f"arn:aws:iam::{ACCOUNT}:user/bob"
    if ":assumed-role/" in arn:
        uid = {"type": "AssumedRole", "principalId": "AROA4EXAMPLEROLE3K7Q:" + arn.rsplit("/", 1)[1],
               "arn": arn, "accountId": ACCOUNT, "accessKeyId": "ASIA4EXAMPLESESS9ZK2",
               "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA4EXAMPLEROLE3K7Q",
                                                    "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-deploy",
                                                    "accountId": ACCOUNT, "userName": "ci-deploy"},
                                  "attributes": {"creationDate": at(-600), "mfaAuthenticated": "false"}}}
    else:
        uid = {"type": "IAMUser", "principalId": "AIDA4EXAMPLEQ2B7NWXYZ", "arn": arn,
               "accountId": ACCOUNT, "accessKeyId": "AKIA4EXAMPLE7QXJ2ZRL",
               "userName": arn.rsplit("/", 1)[1]}
    e = {
        "eventVersion": "1.09", "userIdentity": uid, "eventTime": at(t), "eventSource": source,
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": UA_CLI,
        "requestParameters": params, "responseElements": None, "requestID": ident(2),
        "eventID": ident(3), "readOnly": name.startswith(("List", "Get", "Describe")),
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        e["errorCode"] = error
        e["errorMessage"] = f"User: {arn} is not authorized to perform: {source.split('.')[0]}:{name}"
    return e


def root_call(t, ip, name="DescribeInstances", source="ec2.amazonaws.com", invoked_by=None,
              event_type="AwsApiCall"):
    uid = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
           "accountId": ACCOUNT, "accessKeyId": "ASIA4EXAMPLEROOTSESS"}
    if invoked_by:
        uid["invokedBy"] = invoked_by
    return {
        "eventVersion": "1.09", "userIdentity": uid, "eventTime": at(t), "eventSource": source,
        "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": ip, "userAgent": UA_BROWSER,
        "requestParameters": None, "responseElements": None, "requestID": ident(4),
        "eventID": ident(5), "readOnly": True, "eventType": event_type, "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }


tests = []


def case(rule, expect, name, events, alerts=None):
    t = {"rule": rule, "expect": expect, "name": name}
    if alerts is not None:
        t["expect_alerts"] = alerts
    if len(events) == 1:
        t["event"] = events[0]
    else:
        t["events"] = events
    tests.append(t)


# ---- aws_console_brute_force: count >= 5 within 5m by .sourceIPAddress --------
R = "aws_console_brute_force"
IP = "198.51.100.23"
case(R, "match", "5 failures from one IP within 4 minutes",
     [console_login(60 * i, IP) for i in range(5)], 1)
case(R, "match", "5 failures exactly 5 minutes first to last (the window is inclusive)",
     [console_login(75 * i, IP) for i in range(5)], 1)
case(R, "match", "failures for different users from one IP count together",
     [console_login(30 * i, IP, user=u) for i, u in enumerate(["alice", "bob", "alice", "carol", "bob"])], 1)
case(R, "match", "5 failures arriving out of order within the lateness",
     [console_login(t, IP) for t in (180, 0, 240, 60, 120)], 1)
case(R, "match", "10 failures fire twice: the group starts again from zero after an alert",
     [console_login(20 * i, IP) for i in range(10)], 2)
case(R, "match", "9 failures fire once: the 4 after the alert are not enough",
     [console_login(20 * i, IP) for i in range(9)], 1)
case(R, "match", "a success in between does not reset the count",
     [console_login(0, IP), console_login(30, IP), console_login(60, IP, ok=True),
      console_login(90, IP), console_login(120, IP), console_login(150, IP)], 1)
case(R, "no-match", "4 failures from one IP",
     [console_login(60 * i, IP) for i in range(4)], 0)
case(R, "no-match", "5 failures spread over 8 minutes (never 5 in any 5 minutes)",
     [console_login(120 * i, IP) for i in range(5)], 0)
case(R, "no-match", "5 failures one second more than 5 minutes first to last",
     [console_login(t, IP) for t in (0, 75, 150, 225, 301)], 0)
case(R, "no-match", "5 failures from 5 different IPs",
     [console_login(30 * i, f"198.51.100.{30 + i}") for i in range(5)], 0)
case(R, "no-match", "5 successful sign-ins from one IP",
     [console_login(30 * i, IP, ok=True) for i in range(5)], 0)
case(R, "no-match", "5 failed sign-ins of another kind (no 'Failed authentication')",
     [dict(console_login(30 * i, IP), errorMessage="No username found in supplied account") for i in range(5)], 0)

# ---- aws_console_password_spray: distinct user >= 5 within 30m by IP --------------
R = "aws_console_password_spray"
IP = "192.0.2.77"
USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
case(R, "match", "5 users failing from one IP within 10 minutes",
     [console_login(120 * i, IP, user=u) for i, u in enumerate(USERS[:5])], 1)
case(R, "match", "5 users over exactly 30 minutes (inclusive), repeats in between",
     [console_login(t, IP, user=u) for t, u in
      [(0, "alice"), (300, "alice"), (600, "bob"), (900, "carol"), (1200, "bob"), (1500, "dave"), (1800, "erin")]], 1)
case(R, "match", "a failed root sign-in counts as a user (by its ARN)",
     [console_login(60 * i, IP, user=u) for i, u in enumerate(USERS[:4])] + [console_login(300, IP, root=True)], 1)
case(R, "no-match", "4 users, 8 failures from one IP",
     [console_login(60 * i, IP, user=USERS[i % 4]) for i in range(8)], 0)
case(R, "no-match", "5 users spanning 30 minutes and 1 second",
     [console_login(t, IP, user=u) for t, u in
      [(0, "alice"), (600, "bob"), (900, "carol"), (1500, "dave"), (1801, "erin")]], 0)
case(R, "no-match", "5 users from 5 different IPs",
     [console_login(60 * i, f"192.0.2.{80 + i}", user=u) for i, u in enumerate(USERS[:5])], 0)
case(R, "no-match", "5 users over 2 hours (at most 2 in any 30 minutes)",
     [console_login(1800 * i, IP, user=u) for i, u in enumerate(USERS[:5])], 0)
case(R, "no-match", "6 unknown user names are one hidden user",
     [console_login(30 * i, IP, hidden=True) for i in range(6)], 0)
case(R, "no-match", "5 users signing in successfully from one office IP",
     [console_login(60 * i, IP, user=u, ok=True) for i, u in enumerate(USERS[:5])], 0)

# ---- aws_access_denied_burst: count >= 10 within 5m by .userIdentity.arn ----------
R = "aws_access_denied_burst"
STOLEN = role_arn("gh-actions-8812")
PROBES = [("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation"),
          ("s3.amazonaws.com", "ListBuckets", "AccessDenied"),
          ("iam.amazonaws.com", "ListUsers", "AccessDenied"),
          ("lambda.amazonaws.com", "ListFunctions20150331", "AccessDeniedException"),
          ("rds.amazonaws.com", "DescribeDBInstances", "AccessDenied"),
          ("secretsmanager.amazonaws.com", "ListSecrets", "AccessDeniedException"),
          ("ec2.amazonaws.com", "DescribeSnapshots", "Client.UnauthorizedOperation"),
          ("kms.amazonaws.com", "ListKeys", "AccessDeniedException"),
          ("dynamodb.amazonaws.com", "ListTables", "AccessDeniedException"),
          ("sts.amazonaws.com", "AssumeRole", "AccessDenied"),
          ("ssm.amazonaws.com", "DescribeParameters", "AccessDeniedException")]


def probes(n, arn=STOLEN, step=10, start=0, errors=True):
    return [api_call(start + step * i, PROBES[i % len(PROBES)][1], source=PROBES[i % len(PROBES)][0],
                     arn=arn, error=PROBES[i % len(PROBES)][2] if errors is True else errors)
            for i in range(n)]


case(R, "match", "10 refused calls across services by one role session within 2 minutes", probes(10), 1)
case(R, "match", "11 refused calls with successful ones between them", 
     [e for i, p in enumerate(probes(11)) for e in ([p, api_call(10 * i + 5, "GetCallerIdentity", source="sts.amazonaws.com", arn=STOLEN)])], 1)
case(R, "match", "10 refused calls exactly 5 minutes first to last (inclusive)", probes(9, step=33) + [api_call(300, "ListSecrets", source="secretsmanager.amazonaws.com", arn=STOLEN, error="AccessDeniedException")], 1)
case(R, "match", "20 refused calls in a minute fire twice (the group starts again after an alert)", probes(20, step=3), 2)
case(R, "no-match", "9 refused calls by one principal", probes(9), 0)
case(R, "no-match", "10 refused calls spanning 5 minutes and 1 second",
     probes(9, step=33) + [api_call(301, "ListSecrets", source="secretsmanager.amazonaws.com", arn=STOLEN, error="AccessDeniedException")], 0)
case(R, "no-match", "10 refused calls split between two principals",
     [e for pair in zip(probes(5), probes(5, arn=f"arn:aws:iam::{ACCOUNT}:user/bob", start=5)) for e in pair], 0)
case(R, "no-match", "10 failed calls with other error codes (throttling, not found)",
     probes(5, errors="ThrottlingException") + probes(5, errors="NoSuchEntity", start=50), 0)
case(R, "no-match", "10 refused calls spread over 20 minutes", probes(10, step=130), 0)
case(R, "no-match", "10 successful calls", probes(10, errors=None), 0)

# ---- aws_iam_recon_then_privilege_change: sequence within 1h by .userIdentity.arn -----
R = "aws_iam_recon_then_privilege_change"
MALLORY = f"arn:aws:iam::{ACCOUNT}:user/mallory"
OTHER = f"arn:aws:iam::{ACCOUNT}:user/ops-admin"
attach = {"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
case(R, "match", "ListUsers then AttachUserPolicy AdministratorAccess 10 minutes later",
     [api_call(0, "ListUsers", arn=MALLORY), api_call(600, "AttachUserPolicy", arn=MALLORY, params=attach)], 1)
case(R, "match", "refused GetAccountAuthorizationDetails, more recon, then CreateAccessKey",
     [api_call(0, "GetAccountAuthorizationDetails", arn=MALLORY, error="AccessDenied"),
      api_call(30, "ListRoles", arn=MALLORY), api_call(60, "ListAttachedRolePolicies", arn=MALLORY),
      api_call(900, "CreateAccessKey", arn=MALLORY, params={"userName": "svc-backup"})], 1)
case(R, "match", "privilege change exactly 1 hour after the recon (inclusive)",
     [api_call(0, "ListRoles", arn=STOLEN),
      api_call(3600, "UpdateAssumeRolePolicy", arn=STOLEN, params={"roleName": "prod-admin"})], 1)
case(R, "match", "arrives out of order (log files interleave) but the recon came first in event time",
     [api_call(600, "PutUserPolicy", arn=MALLORY, params={"userName": "mallory", "policyName": "x"}),
      api_call(0, "ListUsers", arn=MALLORY)], 1)
case(R, "match", "recon, change, change: one alert (the group starts again after it)",
     [api_call(0, "ListUsers", arn=MALLORY), api_call(300, "AttachUserPolicy", arn=MALLORY, params=attach),
      api_call(360, "CreateLoginProfile", arn=MALLORY, params={"userName": "mallory"})], 1)
case(R, "no-match", "wrong order: the change came before the recon",
     [api_call(0, "AttachUserPolicy", arn=MALLORY, params=attach), api_call(600, "ListUsers", arn=MALLORY)], 0)
case(R, "no-match", "the change is made by a different principal",
     [api_call(0, "ListUsers", arn=MALLORY), api_call(600, "AttachUserPolicy", arn=OTHER, params=attach)], 0)
case(R, "no-match", "the change comes 1 hour and 1 second after the recon",
     [api_call(0, "ListUsers", arn=MALLORY), api_call(3601, "AttachUserPolicy", arn=MALLORY, params=attach)], 0)
case(R, "no-match", "the privilege change was refused",
     [api_call(0, "ListUsers", arn=MALLORY),
      api_call(600, "AttachUserPolicy", arn=MALLORY, params=attach, error="AccessDenied")], 0)
case(R, "no-match", "recon only",
     [api_call(60 * i, n, arn=MALLORY) for i, n in enumerate(["ListUsers", "ListRoles", "ListPolicies", "GetAccountSummary"])], 0)
case(R, "no-match", "recon names from another service (ec2 Describe*, s3 List*) then a change",
     [api_call(0, "DescribeInstances", source="ec2.amazonaws.com", arn=MALLORY),
      api_call(60, "ListBuckets", source="s3.amazonaws.com", arn=MALLORY),
      api_call(600, "AttachUserPolicy", arn=MALLORY, params=attach)], 0)

# ---- aws_root_usage_throttled: throttle 1h by .sourceIPAddress --------------------
R = "aws_root_usage_throttled"
RIP = "203.0.113.99"
case(R, "match", "one root call", [root_call(0, RIP)], 1)
case(R, "match", "two root calls from one IP 10 minutes apart: the second is suppressed",
     [root_call(0, RIP), root_call(600, RIP, name="ListBuckets", source="s3.amazonaws.com")], 1)
case(R, "match", "root calls from one IP exactly 1 hour apart: the second is suppressed (inclusive)",
     [root_call(0, RIP), root_call(3600, RIP)], 1)
case(R, "match", "root calls from one IP 1 hour and 1 second apart: both alert",
     [root_call(0, RIP), root_call(3601, RIP)], 2)
case(R, "match", "root calls from two IPs: one alert each",
     [root_call(0, RIP), root_call(60, "198.51.100.200"), root_call(120, RIP)], 2)
case(R, "match", "a root console sign-in counts", [console_login(0, RIP, ok=True, root=True)], 1)
case(R, "no-match", "root call made by a service on root's behalf (invokedBy)",
     [root_call(0, RIP, invoked_by="support.amazonaws.com")], 0)
case(R, "no-match", "an AwsServiceEvent under the root identity",
     [root_call(0, RIP, event_type="AwsServiceEvent")], 0)
case(R, "no-match", "an IAM user's calls from the same IP",
     [api_call(0, "DescribeInstances", source="ec2.amazonaws.com", ip=RIP),
      api_call(60, "ListBuckets", source="s3.amazonaws.com", ip=RIP)], 0)

out = sys.argv[1] if len(sys.argv) > 1 else "/dev/stdout"
with open(out, "w") as f:
    for t in tests:
        f.write(json.dumps(t, separators=(",", ":")) + "\n")
print(f"{len(tests)} tests", file=sys.stderr)

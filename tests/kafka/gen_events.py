#!/usr/bin/env python3
"""gen_events.py — a deterministic stream of CloudTrail-shaped events for the scale-out tests.

`gen_events.py -n N --seed S -o OUT` writes N compact JSON lines (one CloudTrail
record each, 520-880 bytes, 720 typical), the same bytes for the same N and seed. Event
times strictly increase, every one a distinct millisecond
("2026-03-01T00:00:00.123Z"), about 130 ms apart on average: 1M events cover
about a day and a half.

Most events are benign noise that no rule of rules/aws/ matches: S3, EC2, STS,
KMS, SSM, Lambda calls, sign-ins with MFA, errors that are not access denials,
root actions made by a service for it, and a good deal of IAM enumeration by
thousands of principals that never changes anything (sequence state spread over
many groups). Over that, scaled with N (rates per million below), scenarios that
trip rules/aws/cis.secdet and rules/aws/correlation.secdet, each with its own IP
address or principal so that they do not blend into one another, and near
misses for the correlation rules:

  brute force: 5-9 (a few 10-12) failed console sign-ins from one IP within 4 min;
      near misses: 4 within 4 min, or 5-6 spread over more than 5 min
  password spray: 5-8 users from one IP within 25 min, never 5 failures in 5 min;
      near misses: 4 users
  access-denied burst: 10-13 by one principal within 4 min; near misses: 9 within
      4 min, or 10-12 spread over more than 5 min
  IAM recon then privilege change by the same ARN within 1 h; near misses: the change
      more than 65 min after the last recon, or the change refused
  root used by the account's few admin IPs in sessions of 5-25 calls (throttled
      rule: one alert per IP per hour; every call trips CIS 4.3)
  single events for each CIS 4.x control, scattered sign-in failures and denials

`--summary` prints the number of events of each scenario kind on stderr.
"""
import argparse
import datetime
import functools
import heapq
import json
import random
import sys

BASE_MS = int(datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc).timestamp() * 1000)
MEAN_GAP_MS = 130
ACCOUNTS = ["123456789012", "210987654321", "345678901234", "456789012345", "567890123456"]
REGIONS = ["us-east-1"] * 6 + ["us-west-2"] * 3 + ["eu-west-1"] * 2 + ["eu-central-1", "ap-southeast-2"]
ROOT_IPS = ["203.0.113.10", "203.0.113.77", "198.51.100.4", "192.0.2.200"]

# Scenario rates per million events.
RATES = {
    "brute": 150, "brute_near4": 80, "brute_near_slow": 60,
    "spray": 100, "spray_near": 50,
    "denied": 100, "denied_near9": 40, "denied_near_slow": 30,
    "recon_change": 2000, "recon_change_late": 400, "recon_change_refused": 150,
    "root_session": 30,
    "cis_4_2": 250, "cis_4_4": 200, "cis_4_5": 20, "cis_4_7": 20, "cis_4_8": 80, "cis_4_9": 15,
    "cis_4_10": 200, "cis_4_11": 30, "cis_4_12": 20, "cis_4_13": 60, "cis_4_14": 40, "cis_4_15": 10,
    "single_login_failure": 200, "single_denied": 150,
}

UA_CLI = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023"
UA_BOTO = "Boto3/1.34.69 Python/3.12.2 Linux/5.10.213 Botocore/1.34.69"
UA_GO = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 api/s3#1.51.4"
UA_TF = "Terraform/1.7.5 terraform-provider-aws/5.42.0"
UA_BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0.0.0"
UA_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) Version/17.3 Safari"
UAS = [UA_CLI, UA_BOTO, UA_GO, UA_TF]

RECON_CALLS = ["ListUsers", "ListRoles", "ListGroups", "ListPolicies", "ListAttachedUserPolicies",
               "ListAttachedRolePolicies", "ListUserPolicies", "ListGroupsForUser", "ListAccessKeys",
               "ListMFADevices", "ListInstanceProfiles", "GetAccountAuthorizationDetails", "GetAccountSummary",
               "GetUser", "GetRole", "GetPolicy", "GetPolicyVersion", "GetRolePolicy", "GetLoginProfile"]
CHANGES_QUIET = ["CreateAccessKey", "AddUserToGroup", "UpdateAssumeRolePolicy", "CreateLoginProfile",
                 "UpdateLoginProfile", "SetDefaultPolicyVersion"]  # no CIS rule takes these
CHANGES_CIS = ["AttachUserPolicy", "AttachRolePolicy", "PutUserPolicy", "PutRolePolicy", "CreatePolicyVersion",
               "AttachGroupPolicy", "PutGroupPolicy"]
DENIED_CALLS = [("ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation"),
                ("ec2.amazonaws.com", "DescribeSnapshots", "Client.UnauthorizedOperation"),
                ("s3.amazonaws.com", "ListBuckets", "AccessDenied"),
                ("s3.amazonaws.com", "GetBucketPolicy", "AccessDenied"),
                ("iam.amazonaws.com", "ListUsers", "AccessDenied"),
                ("secretsmanager.amazonaws.com", "ListSecrets", "AccessDeniedException"),
                ("lambda.amazonaws.com", "ListFunctions20150331", "AccessDeniedException"),
                ("dynamodb.amazonaws.com", "ListTables", "AccessDeniedException"),
                ("kms.amazonaws.com", "ListKeys", "AccessDeniedException")]
DENIED_MSG = {"Client.UnauthorizedOperation": "You are not authorized to perform this operation.",
              "AccessDenied": "Access Denied",
              "AccessDeniedException": "User is not authorized to perform this action"}
FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yvonne", "zoe", "omar", "li", "sven"]
ROLES = ["ReadOnly", "DataScience", "Developer", "OpsOnCall", "BillingViewer", "lambda-exec", "ecs-task",
         "batch-job"]

CIS_SINGLE = {  # kind: (eventSource, eventNames), one change each by a deployment role
    "cis_4_4": ("iam.amazonaws.com", ["CreatePolicy", "DeletePolicy", "DetachRolePolicy", "DeleteRolePolicy",
                                      "DetachUserPolicy", "DeletePolicyVersion", "AttachRolePolicy"]),
    "cis_4_5": ("cloudtrail.amazonaws.com", ["UpdateTrail", "StopLogging", "StartLogging", "CreateTrail"]),
    "cis_4_7": ("kms.amazonaws.com", ["DisableKey", "ScheduleKeyDeletion"]),
    "cis_4_8": ("s3.amazonaws.com", ["PutBucketPolicy", "PutBucketAcl", "PutBucketLifecycle", "DeleteBucketCors"]),
    "cis_4_9": ("config.amazonaws.com", ["PutConfigurationRecorder", "StopConfigurationRecorder",
                                         "PutDeliveryChannel"]),
    "cis_4_10": ("ec2.amazonaws.com", ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
                                       "CreateSecurityGroup", "AuthorizeSecurityGroupEgress"]),
    "cis_4_11": ("ec2.amazonaws.com", ["CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAcl"]),
    "cis_4_12": ("ec2.amazonaws.com", ["CreateInternetGateway", "AttachInternetGateway"]),
    "cis_4_13": ("ec2.amazonaws.com", ["CreateRoute", "ReplaceRoute", "CreateRouteTable", "DeleteRoute"]),
    "cis_4_14": ("ec2.amazonaws.com", ["CreateVpc", "ModifyVpcAttribute", "CreateVpcPeeringConnection"]),
    "cis_4_15": ("organizations.amazonaws.com", ["AttachPolicy", "MoveAccount", "CreateOrganizationalUnit"]),
}
ROOT_CALLS = [("ec2.amazonaws.com", "DescribeInstances"), ("s3.amazonaws.com", "ListBuckets"),
              ("iam.amazonaws.com", "GetAccountSummary"), ("ec2.amazonaws.com", "DescribeRegions"),
              ("ce.amazonaws.com", "GetCostAndUsage"), ("account.amazonaws.com", "GetContactInformation")]


class Gen:
    """Holds the random generator and the principal and address pools."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.used_ips = set()
        r = self.r
        self.users = [self._user(r.choice(ACCOUNTS), f"{r.choice(FIRST)}.{i:05d}") for i in range(6000)]
        self.sessions = [self._role(r.choice(ACCOUNTS), r.choice(ROLES), f"s-{i:05d}") for i in range(4000)]
        # Principals who change things (the CIS single events) and never enumerate.
        self.deployers = [self._role(a, "TerraformDeployer", f"tf-{i:03d}") for i, a in enumerate(ACCOUNTS * 12)]
        self.office_ips = [self.fresh_ip() for _ in range(2500)]
        self.svc_ips = ["ec2.amazonaws.com", "lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]

    # ---- pools -----------------------------------------------------------
    def hexid(self, n):
        return "%0*X" % (n, self.r.getrandbits(4 * n))

    def uuid(self):
        v = self.r.getrandbits(128)
        h = "%032x" % v
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def fresh_ip(self):
        """A public-looking address no one else has."""
        while True:
            ip = "%d.%d.%d.%d" % (self.r.choice([3, 18, 34, 52, 54, 81, 91, 104, 145, 176, 185, 193, 212]),
                                  self.r.randrange(256), self.r.randrange(256), self.r.randrange(1, 255))
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def _user(self, acct, name):
        return {"type": "IAMUser", "principalId": "AIDA" + self.hexid(16),
                "arn": f"arn:aws:iam::{acct}:user/{name}", "accountId": acct,
                "accessKeyId": "AKIA" + self.hexid(16), "userName": name}

    def _role(self, acct, role, session):
        return {"type": "AssumedRole",
                "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{session}", "accountId": acct,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{acct}:role/{role}",
                                                     "userName": role}}}

    def new_user(self):
        """A principal of its own for one scenario."""
        acct = self.r.choice(ACCOUNTS)
        if self.r.random() < 0.5:
            return self._user(acct, f"{self.r.choice(FIRST)}-x{self.hexid(6).lower()}")
        return self._role(acct, self.r.choice(ROLES), f"sess-{self.hexid(8).lower()}")

    # ---- event bodies ----------------------------------------------------
    def event(self, ident, source, name, ip, ua, req=None, resp=None, error=None, read_only=True,
              event_type="AwsApiCall", region=None, extra=None):
        e = {"eventVersion": "1.09", "userIdentity": ident, "eventTime": None, "eventSource": source,
             "eventName": name, "awsRegion": region or self.r.choice(REGIONS), "sourceIPAddress": ip,
             "userAgent": ua}
        if error:  # (errorCode or None, errorMessage)
            if error[0]:
                e["errorCode"] = error[0]
            e["errorMessage"] = error[1]
        e["requestParameters"] = req
        e["responseElements"] = resp
        if extra:
            e.update(extra)
        e["eventID"] = self.uuid()
        e["readOnly"] = read_only
        e["eventType"] = event_type
        e["recipientAccountId"] = ident.get("accountId", ACCOUNTS[0])
        return e

    def login(self, ident, ip, ok, mfa="Yes", message="Failed authentication"):
        extra = {"additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                                         "MobileVersion": "No", "MFAUsed": mfa}}
        if not ok:
            ident = dict(ident, accessKeyId="")
        return self.event(ident, "signin.amazonaws.com", "ConsoleLogin", ip, self.r.choice([UA_BROWSER, UA_MAC]),
                          resp={"ConsoleLogin": "Success" if ok else "Failure"},
                          error=None if ok else (None, message), read_only=False,
                          event_type="AwsConsoleSignIn", region="us-east-1", extra=extra)

    def failed_login(self, ip, user=None):
        """A wrong password for `user` (an identity; None: an unknown user name)."""
        if user is None:
            ident = {"type": "IAMUser", "accountId": self.r.choice(ACCOUNTS), "accessKeyId": "",
                     "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
        else:
            ident = user
        return self.login(ident, ip, ok=False, mfa="No")

    def denied(self, ident, ip, ua):
        src, name, code = self.r.choice(DENIED_CALLS)
        return self.event(ident, src, name, ip, ua, req={"maxResults": 100} if src != "s3.amazonaws.com" else
                          {"Host": "s3.amazonaws.com"}, error=(code, DENIED_MSG[code]))

    def iam(self, ident, name, ip, ua, error=None, read_only=True):
        target = ident.get("userName") or "svc"
        req = {"userName": target} if name.endswith(("User", "Key", "Keys", "Profile", "Devices")) else \
            {"roleName": self.r.choice(ROLES)} if "Role" in name else {"maxItems": 100}
        if name in ("AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"):
            req["policyArn"] = "arn:aws:iam::aws:policy/AdministratorAccess"
        return self.event(ident, "iam.amazonaws.com", name, ip, ua, req=req, error=error, read_only=read_only,
                          region="us-east-1")

    # ---- noise -----------------------------------------------------------
    def noise(self):
        r = self.r
        x = r.random()
        ident = r.choice(self.users) if r.random() < 0.5 else r.choice(self.sessions)
        ip = r.choice(self.office_ips)
        ua = r.choice(UAS)
        if x < 0.30:
            bucket = f"data-{ident['accountId'][-4:]}-{r.randrange(40):02d}"
            name = r.choice(["GetObject", "GetObject", "PutObject", "HeadObject", "ListObjects"])
            err = ("NoSuchKey", "The specified key does not exist.") if r.random() < 0.03 else None
            return self.event(ident, "s3.amazonaws.com", name, ip, ua, read_only=name != "PutObject", error=err,
                              req={"bucketName": bucket, "key": f"part-{r.getrandbits(32):08x}.parquet"})
        if x < 0.48:
            name = r.choice(["DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups", "DescribeSubnets",
                             "DescribeImages", "CreateTags", "RunInstances", "TerminateInstances"])
            err = ("Client.RequestLimitExceeded", "Request limit exceeded.") if r.random() < 0.04 else None
            return self.event(ident, "ec2.amazonaws.com", name, ip, ua, error=err,
                              read_only=name.startswith("Describe"),
                              req={"instancesSet": {"items": [{"instanceId": "i-0" + self.hexid(16).lower()}]}})
        if x < 0.60:
            return self.event(ident, "sts.amazonaws.com", r.choice(["AssumeRole", "GetCallerIdentity"]), ip, ua,
                              req={"roleArn": f"arn:aws:iam::{ident['accountId']}:role/{r.choice(ROLES)}",
                                   "roleSessionName": "s-" + self.hexid(6).lower()})
        if x < 0.72:
            return self.event(ident, "kms.amazonaws.com", r.choice(["Decrypt", "GenerateDataKey", "Encrypt"]),
                              r.choice(self.svc_ips), ua, req={"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                                               "keyId": "alias/app-" + self.hexid(4).lower()})
        if x < 0.80:
            err = ("ParameterNotFound", "Parameter /app/config not found.") if r.random() < 0.05 else None
            return self.event(ident, "ssm.amazonaws.com", r.choice(["GetParameter", "GetParameters"]), ip, ua,
                              req={"name": f"/app/{r.choice(ROLES)}/config", "withDecryption": True}, error=err)
        if x < 0.86:
            err = ("ThrottlingException", "Rate exceeded") if r.random() < 0.1 else None
            return self.event(ident, "lambda.amazonaws.com", r.choice(["GetFunction", "ListFunctions20150331"]),
                              ip, ua, req={"functionName": "fn-" + self.hexid(4).lower()}, error=err)
        if x < 0.89:  # enumeration that never leads anywhere: sequence state over thousands of principals
            return self.iam(ident, r.choice(RECON_CALLS), ip, ua)
        if x < 0.94:  # sign-ins with MFA, federated sign-ins, unknown user names
            y = r.random()
            if y < 0.6:
                return self.login(r.choice(self.users), ip, ok=True, mfa="Yes")
            if y < 0.9:
                return self.login(r.choice(self.sessions), ip, ok=True, mfa="No")
            return self.login(r.choice(self.users), ip, ok=False, mfa="No",
                              message="No username found in supplied account")
        if x < 0.97:  # root, but a service acting for it, or a service event
            acct = r.choice(ACCOUNTS)
            root = {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root", "accountId": acct,
                    "invokedBy": r.choice(["cloudtrail.amazonaws.com", "support.amazonaws.com"])}
            if r.random() < 0.5:
                del root["invokedBy"]
                return self.event(root, "kms.amazonaws.com", "RotateKey", "kms.amazonaws.com", "kms.amazonaws.com",
                                  event_type="AwsServiceEvent", read_only=False)
            return self.event(root, "s3.amazonaws.com", "GetBucketAcl", root["invokedBy"], root["invokedBy"],
                              req={"bucketName": f"logs-{acct}"})
        return self.event(ident, "logs.amazonaws.com", r.choice(["CreateLogStream", "DescribeLogGroups"]), ip, ua,
                          req={"logGroupName": f"/aws/lambda/fn-{self.hexid(4).lower()}"},
                          error=("ResourceAlreadyExistsException", "The specified log stream already exists")
                          if r.random() < 0.05 else None)

    # ---- scenarios: lists of (offset ms, event) ---------------------------
    def spaced(self, n, lo_ms, hi_ms):
        t, out = 0, []
        for _ in range(n):
            out.append(t)
            t += self.r.randint(lo_ms, hi_ms)
        return out

    def scenario(self, kind):
        r = self.r
        if kind in ("brute", "brute_near4", "brute_near_slow"):
            ip = self.fresh_ip()
            victims = [r.choice(self.users) for _ in range(r.choice([1, 1, 2]))]
            if kind == "brute":
                n = r.randint(10, 12) if r.random() < 0.1 else r.randint(5, 9)
                times = sorted(r.randrange(230_000) for _ in range(min(n, 9)))
                if n >= 10:  # a second burst of 5 or more right after the first one
                    times = times[:5] + [240_000 + t for t in sorted(r.randrange(230_000) for _ in range(n - 5))]
            elif kind == "brute_near4":
                times = sorted(r.randrange(230_000) for _ in range(4))
            else:
                times = self.spaced(r.randint(5, 6), 80_000, 150_000)
            return [(t, self.failed_login(ip, r.choice(victims))) for t in times]
        if kind in ("spray", "spray_near"):
            ip = self.fresh_ip()
            if kind == "spray":  # 5-8 users, maybe one invented name too
                seq = r.sample(self.users, r.randint(5, 8)) + ([None] if r.random() < 0.5 else [])
            else:  # 3 users and invented names, which count as one user: 4
                seq = r.sample(self.users, 3) + [None] * r.randint(1, 3)
            seq += [r.choice(seq) for _ in range(r.randint(0, 2))]
            r.shuffle(seq)
            times = self.spaced(len(seq), 80_000, 180_000)
            return [(t, self.failed_login(ip, v)) for t, v in zip(times, seq)]
        if kind in ("denied", "denied_near9", "denied_near_slow"):
            ident, ip, ua = self.new_user(), self.fresh_ip(), r.choice(UAS)
            if kind == "denied":
                times = sorted(r.randrange(230_000) for _ in range(r.randint(10, 13)))
            elif kind == "denied_near9":
                times = sorted(r.randrange(230_000) for _ in range(9))
            else:
                times = self.spaced(r.randint(10, 12), 40_000, 70_000)
            return [(t, self.denied(ident, ip, ua)) for t in times]
        if kind.startswith("recon_change"):
            ident, ip, ua = self.new_user(), self.fresh_ip(), r.choice(UAS)
            times = self.spaced(r.randint(1, 4), 5_000, 400_000)
            out = [(t, self.iam(ident, r.choice(RECON_CALLS), ip, ua)) for t in times]
            change = r.choice(CHANGES_QUIET) if r.random() < 0.8 else r.choice(CHANGES_CIS)
            if kind == "recon_change":
                out.append((times[-1] + r.randint(20_000, 3_300_000),
                            self.iam(ident, change, ip, ua, read_only=False)))
            elif kind == "recon_change_late":
                out.append((times[-1] + r.randint(3_900_000, 7_200_000),
                            self.iam(ident, change, ip, ua, read_only=False)))
            else:
                out.append((times[-1] + r.randint(20_000, 3_000_000),
                            self.iam(ident, change, ip, ua, read_only=False,
                                     error=("AccessDenied", "User is not authorized to perform: iam:" + change))))
            return out
        if kind == "root_session":
            acct, ip = r.choice(ACCOUNTS), r.choice(ROOT_IPS)
            root = {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root", "accountId": acct,
                    "accessKeyId": "ASIA" + self.hexid(16)}
            times = sorted(r.randrange(r.choice([300_000, 1_200_000, 2_400_000])) for _ in range(r.randint(5, 25)))
            out = [(times[0], self.login(dict(root), ip, ok=True, mfa="Yes"))]
            for t in times[1:]:
                src, name = r.choice(ROOT_CALLS)
                out.append((t, self.event(root, src, name, ip, UA_BROWSER, req={"maxResults": 50})))
            return out
        if kind == "cis_4_2":
            return [(0, self.login(r.choice(self.users), r.choice(self.office_ips), ok=True,
                                   mfa=r.choice(["No", None])))]
        if kind == "single_login_failure":
            return [(0, self.failed_login(r.choice(self.office_ips), r.choice(self.users)))]
        if kind == "single_denied":
            return [(0, self.denied(r.choice(self.sessions), r.choice(self.office_ips), r.choice(UAS)))]
        src, names = CIS_SINGLE[kind]
        name = r.choice(names)
        ident = r.choice(self.deployers)
        if src.startswith("cloudtrail"):
            req = {"name": "org-trail"}
        elif src.startswith("kms"):
            req = {"keyId": "arn:aws:kms:us-east-1:%s:key/%s" % (ident["accountId"], self.uuid())}
        elif src.startswith("s3"):
            req = {"bucketName": "data-" + self.hexid(6).lower()}
        else:
            req = {"groupId": "sg-0" + self.hexid(16).lower(), "routeTableId": "rtb-0" + self.hexid(16).lower()}
        return [(0, self.event(ident, src, name, r.choice(self.office_ips), UA_TF, req=req, read_only=False))]


@functools.lru_cache(maxsize=64)
def day_text(day):
    return datetime.datetime.fromtimestamp(day * 86400, datetime.timezone.utc).strftime("%Y-%m-%d")


def fmt_time(ms):
    """RFC 3339 UTC with milliseconds: "2026-03-01T00:00:00.123Z"."""
    day, rem = divmod(ms, 86_400_000)
    prefix = day_text(day)
    s, milli = divmod(rem, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{prefix}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def generate(n, seed, out, summary=False):
    """Writes n event lines to the binary file `out`. Returns {scenario kind: events}."""
    g = Gen(seed)
    r = g.r
    span = max(1, n * MEAN_GAP_MS)
    scen = []  # (desired time, tie-break, event)
    counts = {}
    for kind in sorted(RATES):
        for _ in range(int(RATES[kind] * n / 1_000_000)):
            evs = g.scenario(kind)
            length = max(t for t, _ in evs)
            start = r.randrange(max(1, span - length))
            for t, e in evs:
                scen.append((start + t, len(scen), e))
            counts[kind] = counts.get(kind, 0) + len(evs)
    if len(scen) > n:  # a tiny n: keep what fits
        scen = scen[:n]
    scen.sort(key=lambda x: (x[0], x[1]))
    noise_times = sorted(r.randrange(span) for _ in range(n - len(scen)))
    counts["noise"] = len(noise_times)
    merged = heapq.merge(((t, 0, e) for t, _, e in scen), ((t, 1, None) for t in noise_times),
                         key=lambda x: (x[0], x[1]))
    prev = -1
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    for t, _, e in merged:
        t = max(t, prev + 1)  # strictly increasing, distinct milliseconds
        prev = t
        if e is None:
            e = g.noise()
        e["eventTime"] = fmt_time(BASE_MS + t)
        out.write(dumps(e).encode() + b"\n")
    if summary:
        for kind in sorted(counts):
            print(f"{kind}\t{counts[kind]}", file=sys.stderr)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, required=True, help="number of events")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("-o", "--output", default="-", help="output file ('-': stdout)")
    ap.add_argument("--summary", action="store_true", help="print events per scenario kind on stderr")
    a = ap.parse_args(argv)
    if a.n < 0:
        ap.error("-n must be >= 0")
    if a.output == "-":
        generate(a.n, a.seed, sys.stdout.buffer, a.summary)
    else:
        with open(a.output, "wb") as f:
            generate(a.n, a.seed, f, a.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

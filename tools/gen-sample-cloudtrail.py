#!/usr/bin/env python3
"""gen-sample-cloudtrail.py — writes a synthetic but realistic CloudTrail log
file for examples and tests: examples/data/cloudtrail-sample.json.gz.

What it promises:
- Deterministic: the same seed gives byte-identical output (random.Random
  seeded, UUIDs built from it, gzip header with mtime 0 and no file name).
- One CloudTrail log file, {"Records": [...]}, gzipped, ~800 records over one
  day (2024-03-14 UTC), in the slightly out-of-order way CloudTrail delivers.
- A background of benign, mostly read-only calls (Describe*, List*, Get*) by
  IAM users, assumed roles and AWS services, and one attack story that
  triggers every CIS AWS Foundations monitoring control 4.1–4.15 at least
  once, with near misses beside it (MFA sign-ins, root calls invoked by a
  service, an AwsServiceEvent, read-only calls on the watched services).
- Standard library only. No record is copied from any real log.

Usage: tools/gen-sample-cloudtrail.py [--seed N] [--out PATH] [--records N]
"""

import argparse
import datetime as dt
import gzip
import io
import json
import os
import random
import uuid

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
DAY = dt.datetime(2024, 3, 14, tzinfo=dt.timezone.utc)

CORP_IPS = ["198.51.100.14", "198.51.100.15", "198.51.100.37"]
VPN_IP = "192.0.2.10"
ATTACKER_IP = "203.0.113.66"
ATTACKER_IP2 = "203.0.113.91"

CLI_UAS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1014-aws exe/x86_64.amzn.2023 prompt/off command/{svc}.{op}",
    "aws-cli/2.13.4 Python/3.11.4 Darwin/23.3.0 exe/x86_64 prompt/off command/{svc}.{op}",
    "Boto3/1.34.58 md/Botocore#1.34.58 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.58",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.30.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.50.35 (go1.21.8; linux; amd64)",
]
CONSOLE_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"
CONSOLE_UA_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15"
ATTACKER_UA = "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0-135-generic botocore/1.16.19"

BUCKETS = ["corp-app-artifacts", "corp-cloudtrail-logs", "corp-finance-reports", "corp-public-assets",
           "corp-terraform-state"]
REGIONS = ["us-east-1"] * 6 + ["eu-west-1"] * 2 + ["us-west-2"]


class Gen:
    """Holds the seeded RNG and the cast (principals, resources)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.users = {}
        for name in ["alice.admin", "bob.dev", "carol.finance", "dave.ops", "svc-backup"]:
            self.users[name] = {
                "type": "IAMUser",
                "principalId": "AIDA" + self.alnum(17),
                "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, name),
                "accountId": ACCOUNT,
                "accessKeyId": "AKIA" + self.alnum(16),
                "userName": name,
            }
        self.roles = {}
        for name in ["ci-deploy", "lambda-orders-exec", "ec2-web-instance", "aws-config-recorder",
                     "OrganizationAccountAccessRole"]:
            self.roles[name] = {"name": name, "id": "AROA" + self.alnum(17)}
        self.kms_key = str(self.uuid())
        self.sg = "sg-0" + self.hex(16)
        self.vpc = "vpc-0" + self.hex(16)
        self.rtb = "rtb-0" + self.hex(16)
        self.acl = "acl-0" + self.hex(16)
        self.igw = "igw-0" + self.hex(16)
        self.instances = ["i-0" + self.hex(16) for _ in range(6)]
        self.records = []

    # ---- small random pieces ------------------------------------------------
    def alnum(self, n):
        return "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(n))

    def hex(self, n):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def uuid(self):
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    # ---- identities -----------------------------------------------------------
    def user(self, name, console=False):
        u = dict(self.users[name])
        if console:
            # A console session uses temporary credentials.
            u["accessKeyId"] = "ASIA" + self.alnum(16)
            u["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": "2024-03-14T08:02:11Z",
                                                  "mfaAuthenticated": "false"}}
        return u

    def role(self, name, session, mfa="false", created="2024-03-14T00:00:00Z"):
        ro = self.roles[name]
        return {
            "type": "AssumedRole",
            "principalId": "%s:%s" % (ro["id"], session),
            "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, name, session),
            "accountId": ACCOUNT,
            "accessKeyId": "ASIA" + self.alnum(16),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": ro["id"],
                                  "arn": "arn:aws:iam::%s:role/%s" % (ACCOUNT, name),
                                  "accountId": ACCOUNT, "userName": name},
                "webIdFederationData": {},
                "attributes": {"creationDate": created, "mfaAuthenticated": mfa},
            },
        }

    @staticmethod
    def root(access_key="", invoked_by=None):
        u = {"type": "Root", "principalId": ACCOUNT, "arn": "arn:aws:iam::%s:root" % ACCOUNT,
             "accountId": ACCOUNT, "accessKeyId": access_key}
        if invoked_by:
            u["invokedBy"] = invoked_by
        return u

    @staticmethod
    def service(name):
        return {"type": "AWSService", "invokedBy": name}

    # ---- records -------------------------------------------------------------
    def add(self, when, source, name, ident, req=None, resp=None, *, read_only=None, region="us-east-1",
            ip=None, ua=None, error=None, event_type="AwsApiCall", resources=None, extra=None):
        svc = source.split(".")[0]
        if ip is None:
            ip = self.rng.choice(CORP_IPS) if ident.get("type") != "AWSService" else ident["invokedBy"]
        if ua is None:
            ua = (ident["invokedBy"] if ident.get("type") == "AWSService"
                  else self.rng.choice(CLI_UAS).format(svc=svc, op=name.lower()))
        if read_only is None:
            read_only = name.startswith(("Describe", "List", "Get", "Head", "Lookup"))
        rec = {
            "eventVersion": "1.09" if event_type != "AwsServiceEvent" else "1.08",
            "userIdentity": ident,
            "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if error:
            rec["errorCode"], rec["errorMessage"] = error
        rec["requestParameters"] = req
        rec["responseElements"] = resp
        if extra:
            rec.update(extra)
        if event_type == "AwsApiCall":
            rec["requestID"] = str(self.uuid())
        rec["eventID"] = str(self.uuid())
        rec["readOnly"] = read_only
        if resources:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = True
        rec["recipientAccountId"] = ACCOUNT
        rec["eventCategory"] = "Management"
        if ident.get("type") != "AWSService" and event_type == "AwsApiCall" and not ip.endswith(".com"):
            host = "%s.amazonaws.com" % svc if svc in ("iam", "s3", "organizations") else "%s.%s.amazonaws.com" % (svc, region)
            rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                 "clientProvidedHostHeader": host}
        self.records.append(rec)
        return rec

    def console_login(self, when, ident, ok=True, mfa="No", ip=None, ua=CONSOLE_UA, message=None):
        add = {"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_" + self.hex(16),
               "MobileVersion": "No", "MFAUsed": mfa}
        if mfa == "Yes":
            add["MFAIdentifier"] = "arn:aws:iam::%s:mfa/%s" % (ACCOUNT, ident.get("userName", "root-account-mfa-device"))
        return self.add(when, "signin.amazonaws.com", "ConsoleLogin", ident, None,
                        {"ConsoleLogin": "Success" if ok else "Failure"}, read_only=False, ip=ip, ua=ua,
                        error=None, event_type="AwsConsoleSignIn",
                        extra=dict({"additionalEventData": add}, **({"errorMessage": message} if message else {})))


def at(h, m, s=0):
    return DAY + dt.timedelta(hours=h, minutes=m, seconds=s)


# ---- background: benign calls -------------------------------------------------

def background(g, n):
    r = g.rng

    def actor():
        x = r.random()
        if x < 0.45:
            return g.user(r.choice(["bob.dev", "dave.ops", "alice.admin", "svc-backup"]))
        if x < 0.80:
            name = r.choice(["ci-deploy", "lambda-orders-exec", "ec2-web-instance"])
            session = {"ci-deploy": "gha-run-%d" % r.randint(7000000000, 7999999999),
                       "lambda-orders-exec": "orders-handler",
                       "ec2-web-instance": r.choice(g.instances)}[name]
            return g.role(name, session)
        return None  # a service

    def bucket_req(b, extra):
        d = {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b}
        d.update(extra)
        return d

    calls = [
        (8, "ec2.amazonaws.com", "DescribeInstances", lambda: {"instancesSet": {"items": [{"instanceId": r.choice(g.instances)}]} if r.random() < 0.5 else {}, "filterSet": {}}),
        (4, "ec2.amazonaws.com", "DescribeSecurityGroups", lambda: {"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": g.sg}]}, "filterSet": {}}),
        (3, "ec2.amazonaws.com", "DescribeVpcs", lambda: {"vpcSet": {}, "filterSet": {}}),
        (3, "ec2.amazonaws.com", "DescribeSubnets", lambda: {"subnetSet": {}, "filterSet": {"items": [{"name": "vpc-id", "valueSet": {"items": [{"value": g.vpc}]}}]}}),
        (3, "ec2.amazonaws.com", "DescribeRouteTables", lambda: {"routeTableIdSet": {}, "filterSet": {}}),
        (2, "ec2.amazonaws.com", "DescribeNetworkAcls", lambda: {"networkAclIdSet": {}, "filterSet": {}}),
        (2, "ec2.amazonaws.com", "DescribeVolumes", lambda: {"volumeSet": {}, "filterSet": {}}),
        (5, "s3.amazonaws.com", "GetBucketAcl", lambda: bucket_req(r.choice(BUCKETS), {"acl": ""})),
        (3, "s3.amazonaws.com", "GetBucketLocation", lambda: bucket_req(r.choice(BUCKETS), {"location": ""})),
        (2, "s3.amazonaws.com", "ListBuckets", lambda: {"Host": "s3.amazonaws.com"}),
        (2, "s3.amazonaws.com", "GetBucketPolicy", lambda: bucket_req(r.choice(BUCKETS), {"policy": ""})),
        (5, "iam.amazonaws.com", "GetUser", lambda: {"userName": r.choice(list(g.users))}),
        (3, "iam.amazonaws.com", "ListRoles", lambda: None),
        (3, "iam.amazonaws.com", "ListAttachedRolePolicies", lambda: {"roleName": r.choice(list(g.roles))}),
        (2, "iam.amazonaws.com", "GetRole", lambda: {"roleName": r.choice(list(g.roles))}),
        (2, "iam.amazonaws.com", "ListPolicies", lambda: {"scope": "Local", "onlyAttached": False}),
        (6, "sts.amazonaws.com", "GetCallerIdentity", lambda: None),
        (6, "kms.amazonaws.com", "Decrypt", lambda: {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:us-east-1:%s:function:orders-handler" % ACCOUNT}}),
        (2, "kms.amazonaws.com", "DescribeKey", lambda: {"keyId": "alias/corp-data"}),
        (3, "cloudtrail.amazonaws.com", "DescribeTrails", lambda: {"trailNameList": [], "includeShadowTrails": True}),
        (2, "cloudtrail.amazonaws.com", "GetTrailStatus", lambda: {"name": "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % ACCOUNT}),
        (5, "ssm.amazonaws.com", "GetParameter", lambda: {"name": r.choice(["/orders/db/host", "/orders/db/password", "/web/feature-flags"]), "withDecryption": True}),
        (3, "ssm.amazonaws.com", "DescribeParameters", lambda: {"maxResults": 50}),
        (3, "secretsmanager.amazonaws.com", "GetSecretValue", lambda: {"secretId": "arn:aws:secretsmanager:us-east-1:%s:secret:orders/db-AbC123" % ACCOUNT}),
        (2, "logs.amazonaws.com", "DescribeLogGroups", lambda: {"limit": 50}),
        (2, "lambda.amazonaws.com", "ListFunctions20150331", lambda: None),
        (2, "config.amazonaws.com", "DescribeConfigurationRecorderStatus", lambda: None),
        (1, "organizations.amazonaws.com", "DescribeOrganization", lambda: None),
        (2, "rds.amazonaws.com", "DescribeDBInstances", lambda: None),
        (1, "monitoring.amazonaws.com", "DescribeAlarms", lambda: {"maxRecords": 100}),
    ]
    weights = [c[0] for c in calls]
    for _ in range(n):
        # Busier in working hours: 07:00–19:00 holds ~80% of the calls.
        if r.random() < 0.8:
            secs = r.randint(7 * 3600, 19 * 3600 - 1)
        else:
            secs = r.randint(0, 24 * 3600 - 1)
        when = DAY + dt.timedelta(seconds=secs)
        _, source, name, req = r.choices(calls, weights)[0]
        ident = actor()
        region = r.choice(REGIONS) if source.split(".")[0] in ("ec2", "ssm", "logs", "lambda", "rds", "kms") else "us-east-1"
        if ident is None:
            # Services acting on their own: STS role assumption, S3 config checks.
            if r.random() < 0.6:
                svc = r.choice(["lambda.amazonaws.com", "ec2.amazonaws.com", "config.amazonaws.com"])
                role = {"lambda.amazonaws.com": "lambda-orders-exec", "ec2.amazonaws.com": "ec2-web-instance",
                        "config.amazonaws.com": "aws-config-recorder"}[svc]
                session = "%d" % r.randint(10 ** 18, 10 ** 19 - 1)
                g.add(when, "sts.amazonaws.com", "AssumeRole", g.service(svc),
                      {"roleArn": "arn:aws:iam::%s:role/%s" % (ACCOUNT, role), "roleSessionName": session,
                       "durationSeconds": 3600},
                      {"credentials": {"accessKeyId": "ASIA" + g.alnum(16),
                                       "sessionToken": "IQoJb3JpZ2luX2VjE" + g.alnum(40),
                                       "expiration": (when + dt.timedelta(hours=1)).strftime("%b %d, %Y, %I:%M:%S %p").replace(" 0", " ")},
                       "assumedRoleUser": {"assumedRoleId": "%s:%s" % (g.roles[role]["id"], session),
                                           "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, role, session)}},
                      read_only=True, region=region,
                      resources=[{"accountId": ACCOUNT, "type": "AWS::IAM::Role",
                                  "ARN": "arn:aws:iam::%s:role/%s" % (ACCOUNT, role)}],
                      extra={"sharedEventID": str(g.uuid())})
            else:
                b = r.choice(BUCKETS)
                g.add(when, "s3.amazonaws.com", "GetBucketAcl", g.service("config.amazonaws.com"),
                      bucket_req(b, {"acl": ""}), None, read_only=True,
                      resources=[{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}])
            continue
        error = None
        if source == "s3.amazonaws.com" and name == "GetBucketPolicy" and r.random() < 0.5:
            error = ("NoSuchBucketPolicy", "The bucket policy does not exist")
        elif source == "ssm.amazonaws.com" and r.random() < 0.08:
            error = ("ThrottlingException", "Rate exceeded")
        g.add(when, source, name, ident, req(), None, region=region, error=error)


# ---- the story: every CIS control at least once --------------------------------

def scenario(g):
    carol_console = g.user("carol.finance", console=True)
    carol_id = dict(g.users["carol.finance"])
    carol_id["accessKeyId"] = ""
    ak = g.users["bob.dev"]  # leaked keys of bob.dev
    admin = g.user("alice.admin")

    # Normal morning: admins sign in with MFA (no alert), a root call made by a
    # service on root's behalf (no alert), a KMS rotation service event (no alert).
    alice_login = dict(g.users["alice.admin"])
    alice_login["accessKeyId"] = ""
    g.console_login(at(8, 1, 12), alice_login, ok=True, mfa="Yes", ip=CORP_IPS[0], ua=CONSOLE_UA_MAC)
    g.add(at(9, 30, 4), "support.amazonaws.com", "DescribeTrustedAdvisorChecks",
          g.root(invoked_by="support.amazonaws.com"), {"language": "en"}, None, read_only=True,
          ip="support.amazonaws.com", ua="support.amazonaws.com")
    g.add(at(10, 0, 0), "kms.amazonaws.com", "RotateKey", {"accountId": ACCOUNT, "invokedBy": "kms.amazonaws.com"},
          None, None, read_only=False, ip="kms.amazonaws.com", ua="kms.amazonaws.com",
          event_type="AwsServiceEvent",
          resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                      "ARN": "arn:aws:kms:us-east-1:%s:key/%s" % (ACCOUNT, g.kms_key)}],
          extra={"serviceEventDetails": {"keyId": g.kms_key}})
    # A failed sign-in with another message (no 4.6 alert).
    g.console_login(at(10, 44, 50), {"type": "IAMUser", "principalId": "", "accountId": ACCOUNT,
                                      "accessKeyId": "", "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                    ok=False, mfa="No", ip=ATTACKER_IP2, message="No username found in supplied account")

    # 4.6: password guessing against carol.finance, then 4.2: she signs in
    # without MFA (attacker has the password).
    for s in [3, 19, 41, 58, 75]:
        g.console_login(at(13, 2, 0) + dt.timedelta(seconds=s), carol_id, ok=False, mfa="No",
                        ip=ATTACKER_IP, message="Failed authentication")
    g.console_login(at(13, 4, 31), carol_id, ok=True, mfa="No", ip=ATTACKER_IP)
    # 4.1: enumeration with bob's leaked keys.
    for t, (src, op, code, msg) in enumerate([
            ("iam.amazonaws.com", "ListUsers", "AccessDenied", "User: %s is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::%s:user/" % (ak["arn"], ACCOUNT)),
            ("ec2.amazonaws.com", "DescribeInstanceAttribute", "Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: %s is not authorized to perform: ec2:DescribeInstanceAttribute" % ak["arn"]),
            ("secretsmanager.amazonaws.com", "ListSecrets", "AccessDenied", "User: %s is not authorized to perform: secretsmanager:ListSecrets" % ak["arn"]),
            ("s3.amazonaws.com", "GetBucketPolicy", "AccessDenied", "Access Denied"),
            ("organizations.amazonaws.com", "ListAccounts", "AccessDeniedException", "You don't have permissions to access this resource.")]):
        req = {"bucketName": "corp-finance-reports", "Host": "corp-finance-reports.s3.amazonaws.com", "policy": ""} if src.startswith("s3") else (
            {"instanceId": g.instances[0], "attribute": "userData"} if "Instance" in op else None)
        g.add(at(13, 10, 5) + dt.timedelta(seconds=7 * t), src, op, dict(ak), req, None, read_only=True,
              ip=ATTACKER_IP, ua=ATTACKER_UA, error=(code, msg))

    # 4.4: privilege escalation via carol's console session.
    cs = dict(carol_console)
    g.add(at(13, 14, 2), "iam.amazonaws.com", "AttachUserPolicy", cs,
          {"userName": "carol.finance", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None,
          ip=ATTACKER_IP, ua=CONSOLE_UA)
    g.add(at(13, 15, 40), "iam.amazonaws.com", "PutUserPolicy", cs,
          {"userName": "bob.dev", "policyName": "s3-full",
           "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"},
          None, ip=ATTACKER_IP, ua=CONSOLE_UA)
    g.add(at(13, 16, 9), "iam.amazonaws.com", "CreatePolicyVersion", cs,
          {"policyArn": "arn:aws:iam::%s:policy/ci-deploy-policy" % ACCOUNT, "setAsDefault": True,
           "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"},
          {"policyVersion": {"versionId": "v4", "isDefaultVersion": True, "createDate": "Mar 14, 2024, 1:16:09 PM"}},
          ip=ATTACKER_IP, ua=CONSOLE_UA)

    # 4.5: blind the defenders.
    trail = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % ACCOUNT
    stop = g.add(at(13, 18, 30), "cloudtrail.amazonaws.com", "StopLogging", cs, {"name": trail}, None,
                 ip=ATTACKER_IP, ua=CONSOLE_UA)
    g.add(at(13, 19, 1), "cloudtrail.amazonaws.com", "UpdateTrail", cs,
          {"name": trail, "isMultiRegionTrail": False}, {"name": "org-trail", "s3BucketName": "corp-cloudtrail-logs",
                                                         "includeGlobalServiceEvents": True, "isMultiRegionTrail": False,
                                                         "trailARN": trail, "logFileValidationEnabled": True,
                                                         "isOrganizationTrail": False},
          ip=ATTACKER_IP, ua=CONSOLE_UA)
    # 4.9: and AWS Config.
    g.add(at(13, 20, 12), "config.amazonaws.com", "StopConfigurationRecorder", cs,
          {"configurationRecorderName": "default"}, None, ip=ATTACKER_IP, ua=CONSOLE_UA)
    g.add(at(13, 20, 48), "config.amazonaws.com", "DeleteDeliveryChannel", cs,
          {"deliveryChannelName": "default"}, None, ip=ATTACKER_IP, ua=CONSOLE_UA)

    # 4.8: open the finance bucket.
    b = "corp-finance-reports"
    g.add(at(13, 23, 3), "s3.amazonaws.com", "PutBucketPolicy", cs,
          {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "policy": "",
           "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Allow", "Principal": "*",
                                                                     "Action": "s3:GetObject",
                                                                     "Resource": "arn:aws:s3:::%s/*" % b}]}},
          None, ip=ATTACKER_IP, ua=CONSOLE_UA,
          resources=[{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}],
          extra={"additionalEventData": {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                         "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                         "x-amz-id-2": g.alnum(40), "bytesTransferredOut": 0}})
    g.add(at(13, 23, 30), "s3.amazonaws.com", "PutBucketAcl", cs,
          {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "acl": "", "x-amz-acl": ["public-read"]},
          None, ip=ATTACKER_IP, ua=CONSOLE_UA,
          resources=[{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + b}])
    g.add(at(13, 24, 2), "s3.amazonaws.com", "DeleteBucketLifecycle", cs,
          {"bucketName": "corp-cloudtrail-logs", "Host": "corp-cloudtrail-logs.s3.amazonaws.com", "lifecycle": ""},
          None, ip=ATTACKER_IP, ua=CONSOLE_UA)

    # 4.10–4.14: open the network.
    net = [
        ("CreateSecurityGroup", {"groupName": "maint", "groupDescription": "maintenance", "vpcId": g.vpc},
         {"_return": True, "groupId": "sg-0" + g.hex(16)}),
        ("AuthorizeSecurityGroupIngress",
         {"groupId": g.sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
                                                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                                                        "ipv6Ranges": {}, "prefixListIds": {}}]}},
         {"_return": True, "securityGroupRuleSet": {"items": [{"groupOwnerId": ACCOUNT, "groupId": g.sg,
                                                               "securityGroupRuleId": "sgr-0" + g.hex(16),
                                                               "isEgress": False, "ipProtocol": "tcp",
                                                               "fromPort": 22, "toPort": 22,
                                                               "cidrIpv4": "0.0.0.0/0"}]}}),
        ("RevokeSecurityGroupEgress",
         {"groupId": g.sg, "ipPermissions": {"items": [{"ipProtocol": "-1", "groups": {},
                                                        "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]},
                                                        "ipv6Ranges": {}, "prefixListIds": {}}]}},
         {"_return": True}),
        ("CreateNetworkAclEntry", {"networkAclId": g.acl, "ruleNumber": 90, "egress": False, "ruleAction": "allow",
                                   "icmpTypeCode": {}, "portRange": {"from": 0, "to": 65535}, "aclProtocol": "-1",
                                   "cidrBlock": "0.0.0.0/0"}, {"_return": True}),
        ("ReplaceNetworkAclEntry", {"networkAclId": g.acl, "ruleNumber": 100, "egress": True, "ruleAction": "allow",
                                    "icmpTypeCode": {}, "portRange": {}, "aclProtocol": "-1",
                                    "cidrBlock": "0.0.0.0/0"}, {"_return": True}),
        ("CreateInternetGateway", {}, {"internetGateway": {"internetGatewayId": g.igw, "attachmentSet": {},
                                                         "ownerId": ACCOUNT, "tagSet": {}}}),
        ("AttachInternetGateway", {"internetGatewayId": g.igw, "vpcId": g.vpc}, {"_return": True}),
        ("CreateRoute", {"routeTableId": g.rtb, "destinationCidrBlock": "0.0.0.0/0", "gatewayId": g.igw},
         {"_return": True}),
        ("ReplaceRoute", {"routeTableId": g.rtb, "destinationCidrBlock": "10.20.0.0/16", "gatewayId": g.igw},
         {"_return": True}),
        ("ModifyVpcAttribute", {"vpcId": g.vpc, "enableDnsHostnames": {"value": True}}, {"_return": True}),
        ("CreateVpcPeeringConnection", {"vpcId": g.vpc, "peerVpcId": "vpc-0" + g.hex(16), "peerOwnerId": OTHER_ACCOUNT},
         {"vpcPeeringConnection": {"vpcPeeringConnectionId": "pcx-0" + g.hex(16),
                                   "status": {"code": "initiating-request", "message": "Initiating Request to %s" % OTHER_ACCOUNT}}}),
    ]
    for i, (op, req, resp) in enumerate(net):
        resp = dict({"requestId": str(g.uuid())}, **resp)
        g.add(at(13, 30, 0) + dt.timedelta(seconds=37 * i), "ec2.amazonaws.com", op, cs, req, resp,
              ip=ATTACKER_IP, ua=CONSOLE_UA)

    # 4.7: ransom the data key.
    key_arn = "arn:aws:kms:us-east-1:%s:key/%s" % (ACCOUNT, g.kms_key)
    g.add(at(13, 41, 17), "kms.amazonaws.com", "DisableKey", cs, {"keyId": key_arn}, None,
          ip=ATTACKER_IP, ua=CONSOLE_UA, resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}])
    g.add(at(13, 41, 52), "kms.amazonaws.com", "ScheduleKeyDeletion", cs, {"keyId": key_arn, "pendingWindowInDays": 7},
          {"keyId": key_arn, "deletionDate": "Mar 21, 2024, 12:00:00 AM", "keyState": "PendingDeletion",
           "pendingWindowInDays": 7},
          ip=ATTACKER_IP, ua=CONSOLE_UA, resources=[{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}])

    # 4.15 (and 4.1): try to leave the organization.
    g.add(at(13, 45, 9), "organizations.amazonaws.com", "LeaveOrganization", cs, None, None,
          ip=ATTACKER_IP, ua=CONSOLE_UA,
          error=("AccessDeniedException", "You don't have permissions to access this resource."))

    # Response: the account owner signs in as root (4.3) with MFA and repairs.
    g.console_login(at(14, 58, 40), g.root(), ok=True, mfa="Yes", ip=VPN_IP, ua=CONSOLE_UA_MAC)
    g.add(at(15, 2, 11), "iam.amazonaws.com", "DetachUserPolicy", g.root(access_key="ASIA" + g.alnum(16)),
          {"userName": "carol.finance", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, None,
          ip=VPN_IP, ua=CONSOLE_UA_MAC)
    g.add(at(15, 3, 30), "iam.amazonaws.com", "DeleteUserPolicy", g.root(access_key="ASIA" + g.alnum(16)),
          {"userName": "bob.dev", "policyName": "s3-full"}, None, ip=VPN_IP, ua=CONSOLE_UA_MAC)
    g.add(at(15, 10, 2), "kms.amazonaws.com", "CancelKeyDeletion", admin, {"keyId": key_arn},
          {"keyId": key_arn}, ip=VPN_IP)
    g.add(at(15, 11, 40), "cloudtrail.amazonaws.com", "StartLogging", admin, {"name": trail}, None, ip=VPN_IP)
    g.add(at(15, 12, 5), "config.amazonaws.com", "PutDeliveryChannel", admin,
          {"deliveryChannel": {"name": "default", "s3BucketName": "corp-config-history"}}, None, ip=VPN_IP)
    g.add(at(15, 12, 33), "config.amazonaws.com", "StartConfigurationRecorder", admin,
          {"configurationRecorderName": "default"}, None, ip=VPN_IP)
    g.add(at(15, 14, 0), "s3.amazonaws.com", "DeleteBucketPolicy", admin,
          {"bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "policy": ""}, None, ip=VPN_IP)
    g.add(at(15, 16, 45), "ec2.amazonaws.com", "RevokeSecurityGroupIngress", admin,
          {"groupId": g.sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
                                                         "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                                                         "ipv6Ranges": {}, "prefixListIds": {}}]}},
          {"requestId": str(g.uuid()), "_return": True}, ip=VPN_IP)
    g.add(at(15, 18, 20), "ec2.amazonaws.com", "DeleteRoute", admin,
          {"routeTableId": g.rtb, "destinationCidrBlock": "0.0.0.0/0"}, {"requestId": str(g.uuid()), "_return": True},
          ip=VPN_IP)
    g.add(at(15, 19, 2), "ec2.amazonaws.com", "DetachInternetGateway", admin,
          {"internetGatewayId": g.igw, "vpcId": g.vpc}, {"requestId": str(g.uuid()), "_return": True}, ip=VPN_IP)
    g.add(at(15, 20, 14), "ec2.amazonaws.com", "DeleteVpcPeeringConnection", admin,
          {"vpcPeeringConnectionId": "pcx-0" + g.hex(16)}, {"requestId": str(g.uuid()), "_return": True}, ip=VPN_IP)
    g.add(at(15, 22, 0), "organizations.amazonaws.com", "DescribeOrganization", admin, None, None, ip=VPN_IP)
    # The security team tightens the SCP from the management account's role.
    g.add(at(15, 40, 11), "organizations.amazonaws.com", "UpdatePolicy",
          g.role("OrganizationAccountAccessRole", "alice.admin", mfa="true", created="2024-03-14T15:39:58Z"),
          {"policyId": "p-" + g.hex(8), "content": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"organizations:LeaveOrganization\",\"Resource\":\"*\"}]}"},
          None, ip=VPN_IP)
    # CloudTrail delivers some events twice: the StopLogging record, again.
    g.records.append(json.loads(json.dumps(stop)))


def delivery_order(g):
    """Time order with the jitter of real delivery: each record may land up to
    about two minutes from where strict time order would put it."""
    keyed = []
    for i, rec in enumerate(g.records):
        t = dt.datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").timestamp()
        keyed.append((t + g.rng.uniform(-120, 120), i, rec))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[2] for k in keyed]


def build(seed, n_background):
    g = Gen(seed)
    background(g, n_background)
    scenario(g)
    return delivery_order(g)


def write(records, path):
    body = json.dumps({"Records": records}, separators=(",", ":")).encode("utf-8")
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of anything that changes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as z:
        z.write(body)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return len(body), len(buf.getvalue())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20240314)
    ap.add_argument("--records", type=int, default=760, help="background records (the story adds ~65)")
    ap.add_argument("--out", default=os.path.join(here, "..", "examples", "data", "cloudtrail-sample.json.gz"))
    a = ap.parse_args()
    records = build(a.seed, a.records)
    raw, packed = write(records, a.out)
    print("%s: %d records, %d bytes JSON, %d bytes gzip" % (os.path.normpath(a.out), len(records), raw, packed))


if __name__ == "__main__":
    main()

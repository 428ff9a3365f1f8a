#!/usr/bin/env python3
"""gen_rules.py — write 1,000 generated CloudTrail rules in the secdet language.

The benchmark's "many rules" load.  The mix imitates a real detection
repository rather than a best case for the dispatch index:

  * ~95% of the rules are pinned to one event name (`.eventName == "X"`) or a
    few (`.eventName in [...]`, literal or a named list), so the engine can
    index them, and then test other fields: userIdentity.type, source
    address in cidr(...), userAgent contains, errorCode like, requestParameters
    paths, lower(...) ==, exists, [*] over resources, cross-field comparisons.
  * ~5% cannot be indexed on the event name: a regex over the user agent, a
    startswith on the source address, an errorCode glob alone, ...

About a third of the event names occur in the benchmark's CloudTrail data
(so those rules run their extra conditions on real events and a few fire),
the rest are other AWS API calls (so they only cost an index miss).

Promise: the output depends only on --count and --seed (default seed fixed),
so every run benchmarks the same rules.  Every rule is stateless.
"""
import argparse
import random
import sys

# Event names seen in the benchmark data (invictus CloudTrail sample).
SEEN = """AssumeRole AttachInternetGateway AttachRolePolicy AttachUserPolicy
AuthorizeSecurityGroupEgress AuthorizeSecurityGroupIngress ConsoleLogin CreateAccessKey
CreateBucket CreateDBInstance CreateDBSnapshot CreateInstanceProfile CreateInternetGateway
CreateLoginProfile CreateNatGateway CreatePolicy CreateRole CreateRoute CreateRouteTable
CreateSecret CreateSecurityGroup CreateSnapshot CreateSubnet CreateTags CreateTrail CreateUser
CreateVpc Decrypt DeleteAccessKey DeleteBucket DeleteBucketPolicy DeleteDBInstance
DeleteFlowLogs DeleteLogGroup DeleteParameter DeletePolicy DeleteRole DeleteRolePolicy
DeleteSecret DeleteSecurityGroup DeleteTrail DeleteUser DeleteVpc DescribeInstances
DescribeRouteTables DescribeSecurityGroups DescribeSubnets DescribeVpcs DetachRolePolicy
Encrypt GenerateDataKey GetAccountAuthorizationDetails GetBucketAcl GetBucketPolicy
GetCallerIdentity GetParameter GetParameters GetPasswordData GetRole GetSecretValue GetUser
LeaveOrganization ListAccessKeys ListAttachedRolePolicies ListBuckets ListRolePolicies
ListSecrets ListUsers LookupEvents ModifyDBSnapshotAttribute ModifyImageAttribute
ModifyInstanceAttribute ModifySnapshotAttribute PutBucketLifecycle PutBucketPolicy
PutEventSelectors PutParameter PutRolePolicy RegisterImage RevokeSecurityGroupEgress
RevokeSecurityGroupIngress RunInstances SendCommand StartLogging StopLogging
TerminateInstances UpdateAssumeRolePolicy UpdateFunctionCode20150331v2""".split()

# Other real AWS API calls that detection rules commonly name.
OTHER = """AcceptHandshake AddUserToGroup AssociateAccessPolicy AttachGroupPolicy
BatchDeleteImage CancelKeyDeletion ChangePassword CompleteLifecycleAction
CreateCustomerGateway CreateDefaultVpc CreateGroup CreateKey CreateKeyPair CreateNetworkAcl
CreateNetworkAclEntry CreateOrganizationalUnit CreateSAMLProvider CreateServiceLinkedRole
CreateVirtualMFADevice CreateVpcPeeringConnection DeactivateMFADevice DeleteAccountPasswordPolicy
DeleteBucketCors DeleteBucketEncryption DeleteBucketReplication DeleteConfigRule
DeleteConfigurationRecorder DeleteCustomerGateway DeleteDeliveryChannel DeleteDetector
DeleteGroupPolicy DeleteNetworkAcl DeleteNetworkAclEntry DeletePolicyVersion
DeleteUserPermissionsBoundary DeleteUserPolicy DeleteVirtualMFADevice DeleteWebACL
DetachGroupPolicy DetachUserPolicy DisableKey DisableSecurityHub DisassociateFromMasterAccount
DisableEbsEncryptionByDefault EnableSerialConsoleAccess GetFederationToken GetSessionToken
GetObject PutObject DeleteObject DeleteObjects PutBucketAcl PutBucketCors PutBucketReplication
PutBucketVersioning PutBucketPublicAccessBlock DeleteBucketPublicAccessBlock
PutAccountPublicAccessBlock PutKeyPolicy PutUserPolicy PutGroupPolicy PutUserPermissionsBoundary
PutConfigurationRecorder PutDeliveryChannel ReplaceNetworkAclEntry ReplaceNetworkAclAssociation
ReplaceRoute ReplaceRouteTableAssociation RemoveUserFromGroup ResetSnapshotAttribute
ScheduleKeyDeletion SetDefaultPolicyVersion StopConfigurationRecorder StopInstances
UpdateAccessKey UpdateAccountPasswordPolicy UpdateLoginProfile UpdateTrail UpdateUser
UpdateDetector UpdateSAMLProvider UploadSSHPublicKey UploadServerCertificate
CreatePolicyVersion AttachClassicLinkVpc DetachClassicLinkVpc EnableVpcClassicLink
DisableVpcClassicLink AcceptVpcPeeringConnection RejectVpcPeeringConnection
ModifyVpcAttribute GetSigninToken SwitchRole ExitRole RenewRole PasswordRecoveryRequested
CreateFunction20150331 AddPermission20150331v2 PublishLayerVersion20181031
StartSession ResumeSession CreateDocument UpdateDocument CreateAssociation
GetBucketEncryption GetBucketReplication ListObjects ListObjectVersions HeadBucket
CopySnapshot CopyImage ExportImage CreateImage SharedSnapshotCopyInitiated
CreateStack UpdateStack DeleteStack CreateStackSet RestoreDBInstanceFromDBSnapshot
ModifyDBInstance RebootDBInstance ModifyDBClusterSnapshotAttribute CreateDBCluster
PutRetentionPolicy DeleteLogStream CreateExportTask StopLoggingAssessment
ListMembers GetFindings ArchiveFindings CreateFilter UpdateFilter DeleteMembers
CreateIPSet UpdateIPSet DeleteIPSet CreateThreatIntelSet DeleteThreatIntelSet""".split()

SOURCES = ["iam.amazonaws.com", "ec2.amazonaws.com", "s3.amazonaws.com", "kms.amazonaws.com",
           "sts.amazonaws.com", "cloudtrail.amazonaws.com", "rds.amazonaws.com",
           "ssm.amazonaws.com", "secretsmanager.amazonaws.com", "lambda.amazonaws.com",
           "guardduty.amazonaws.com", "organizations.amazonaws.com", "signin.amazonaws.com"]
ID_TYPES = ["Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSService", "AWSAccount"]
NETS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.51.100.0/24",
        "203.0.113.0/24", "fd00::/8", "2001:db8::/32", "52.94.0.0/16", "3.224.0.0/12"]
AGENTS = ["Terraform", "Boto3", "aws-cli", "aws-sdk-go", "stratus-red-team", "S3Console",
          "python-requests", "curl/", "kali", "Pacu", "ScoutSuite", "prowler", "cloudmapper"]
ERROR_GLOBS = ["*UnauthorizedOperation", "AccessDenied*", "*NotFound*", "Throttling*",
               "*LimitExceeded", "NoSuch*", "Invalid?ccess*"]
USERS = ["admin", "root", "bert-jan", "benjamin", "terraform", "ci-deployer", "breakglass",
         "backup", "security-audit"]
PARAM_TESTS = [
    '.requestParameters.policyArn endswith "/AdministratorAccess"',
    'exists .requestParameters.bucketName',
    '.requestParameters.bucketName contains "backup"',
    '.requestParameters.roleName startswith "stratus"',
    '.requestParameters.withDecryption == true',
    '.requestParameters.ipPermissions.items[*].ipRanges.items[*].cidrIp == "0.0.0.0/0"',
    '.requestParameters.userName != .userIdentity.userName',
    'len(.requestParameters.tagSpecificationSet.items) > 0',
    '.requestParameters.instanceType in ["p3.16xlarge", "p4d.24xlarge", "x1e.32xlarge"]',
    '.requestParameters.attribute == "createVolumePermission"',
    '.requestParameters.secretId contains "prod"',
    '.requestParameters.name startswith "/prod/"',
]
# Offensive-tool markers for the unindexed user-agent rules. Not "stratus" nor
# "terraform": the benchmark data is a Stratus Red Team run driven by
# Terraform, and a rule over every event that fires on most of them would
# measure alert output, not evaluation.
TOOL_AGENTS = ["kali", "pacu", "sqlmap", "nikto", "nmap", "masscan", "scoutsuite", "prowler",
               "cloudmapper", "python-requests", "curl/"]
RESOURCE_TYPES = ["AWS::S3::Bucket", "AWS::KMS::Key", "AWS::IAM::Role", "AWS::EC2::Instance"]


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def qlist(items):
    return "[" + ", ".join(q(x) for x in items) + "]"


def pick_name(r):
    # A third from the data, so those rules reach their extra conditions.
    return r.choice(SEEN) if r.random() < 0.35 else r.choice(OTHER)


N_EXTRA_KINDS = 12


def extra(r, k):
    """Condition kind k (0..N_EXTRA_KINDS-1) on a field other than the event name."""
    if k == 0:
        return f".userIdentity.type == {q(r.choice(ID_TYPES))}"
    if k == 1:
        nets = ", ".join(q(n) for n in r.sample(NETS, r.randint(1, 3)))
        neg = r.random() < 0.6
        test = f".sourceIPAddress in cidr({nets})"
        return f"not ({test})" if neg else test
    if k == 2:
        return f".userAgent contains {q(r.choice(AGENTS))}"
    if k == 3:
        return f".errorCode like {q(r.choice(ERROR_GLOBS))}"
    if k == 4:
        return r.choice(PARAM_TESTS)
    if k == 5:
        return f"lower(.userIdentity.userName) == {q(r.choice(USERS))}"
    if k == 6:
        return f".eventSource == {q(r.choice(SOURCES))}"
    if k == 7:
        return ".userIdentity.sessionContext.attributes.mfaAuthenticated != \"true\""
    if k == 8:
        return f".resources[*].type == {q(r.choice(RESOURCE_TYPES))}"
    if k == 9:
        return ".userIdentity.accountId != .recipientAccountId"
    if k == 10:
        return f".awsRegion != \"us-east-1\" and .readOnly == {r.choice(['true', 'false'])}"
    return "not exists .errorCode"


def indexable_where(r, lists):
    shape = r.random()
    if shape < 0.55:
        head = f".eventName == {q(pick_name(r))}"
    elif shape < 0.85:
        head = f".eventName in {qlist(sorted({pick_name(r) for _ in range(r.randint(2, 6))}))}"
    else:
        head = f".eventName in {r.choice(lists)}"
    # Two or three different kinds: a rule tests each field once.
    conds = [extra(r, k) for k in r.sample(range(N_EXTRA_KINDS), r.randint(2, 3))]
    if len(conds) == 3 and r.random() < 0.5:
        return f"{head}\n      and {conds[0]}\n      and ({conds[1]} or {conds[2]})"
    return head + "".join(f"\n      and {c}" for c in conds)


def unindexable_where(r):
    k = r.randrange(6)
    if k == 0:
        words = "|".join(x.rstrip("/") for x in r.sample(TOOL_AGENTS, 3))
        return f".userAgent matches /({words})[-_ ]/i"
    if k == 1:
        return f'.sourceIPAddress startswith "{r.randint(1, 223)}.{r.randint(0, 255)}."'
    if k == 2:
        return f".errorCode like {q(r.choice(ERROR_GLOBS))} and .userIdentity.type == {q(r.choice(ID_TYPES))}"
    if k == 3:
        return f"lower(.userAgent) contains {q(r.choice(TOOL_AGENTS))} and not exists .errorCode"
    if k == 4:
        return f".eventSource == {q(r.choice(SOURCES))} and .userIdentity.arn endswith \":root\""
    return f".eventName matches /^(Delete|Stop|Disable)[A-Z]\\w*(Trail|Logging|Detector|Recorder)$/"


def generate(count, seed):
    r = random.Random(seed)
    out = [f"# Generated by bench/gen_rules.py --count {count} --seed {seed}; do not edit.", ""]
    lists = []
    for i in range(20):
        name = f"bench_names_{i:02d}"
        lists.append(name)
        out.append(f"list {name} = {qlist(sorted({pick_name(r) for _ in range(r.randint(3, 8))}))}")
    out.append("")
    severities = ["info", "low", "medium", "medium", "high", "high", "critical"]
    n_unindexed = max(1, round(count * 0.05))
    unindexed = set(r.sample(range(count), n_unindexed))
    for i in range(count):
        where = unindexable_where(r) if i in unindexed else indexable_where(r, lists)
        out.append(f"rule bench_rule_{i:04d} {{")
        out.append("    meta {")
        out.append(f"        title = \"Generated benchmark rule {i}\"")
        out.append(f"        severity = {r.choice(severities)}")
        out.append(f"        tags = [\"bench\", \"attack.t{r.randint(1000, 1600)}\"]")
        out.append("    }")
        out.append(f"    where {where}")
        if r.random() < 0.5:
            out.append('    output "{.eventName} by {.userIdentity.arn} from {.sourceIPAddress}"')
        out.append("}")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20230710)
    ap.add_argument("-o", "--out", default="-")
    args = ap.parse_args()
    text = generate(args.count, args.seed)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

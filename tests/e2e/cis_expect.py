"""cis_expect.py — the CIS AWS Foundations monitoring controls 4.1–4.15 as
plain Python predicates over one CloudTrail record (a dict).

Written from the CloudWatch Logs metric-filter patterns of the benchmark
(shared/data/cis/metric-filter-patterns.txt), NOT from rules/aws/cis.secdet,
so that the end-to-end tests compare the engine with an independent oracle.
The semantics follow the secdet language contract where it matters:
- a comparison of a missing field is false, except `!=`, which is true;
- equality never coerces (only a JSON string equals a string);
- `like` globs are whole-string and case-sensitive.

The same two choices as the rule pack: 4.1 is the v1.2 pattern, 4.2 the v1.5
variant that requires a successful IAM-user sign-in.
"""

MISSING = object()


def get(record, dotted):
    """Value at a dotted path, or MISSING when absent or through a non-object."""
    cur = record
    for key in dotted.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return MISSING
        cur = cur[key]
    return cur


def eq(record, dotted, value):
    """`.path == "value"`: a string field equal to the string."""
    v = get(record, dotted)
    return isinstance(v, str) and v == value


def ne(record, dotted, value):
    """`.path != "value"`: exactly not eq (true when missing)."""
    return not eq(record, dotted, value)


def exists(record, dotted):
    return get(record, dotted) is not MISSING


def name_in(record, names):
    v = get(record, "eventName")
    return isinstance(v, str) and v in names


def c4_1(r):
    code = get(r, "errorCode")
    return isinstance(code, str) and (code.endswith("UnauthorizedOperation")
                                      or code.startswith("AccessDenied"))


def c4_2(r):
    return (eq(r, "eventName", "ConsoleLogin")
            and eq(r, "userIdentity.type", "IAMUser")
            and eq(r, "responseElements.ConsoleLogin", "Success")
            and ne(r, "additionalEventData.MFAUsed", "Yes"))


def c4_3(r):
    return (eq(r, "userIdentity.type", "Root")
            and not exists(r, "userIdentity.invokedBy")
            and ne(r, "eventType", "AwsServiceEvent"))


IAM_POLICY = {
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy",
    "PutRolePolicy", "PutUserPolicy", "CreatePolicy", "DeletePolicy",
    "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy", "DetachRolePolicy",
    "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
}


def c4_4(r):
    return name_in(r, IAM_POLICY)


def c4_5(r):
    return name_in(r, {"CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"})


def c4_6(r):
    return eq(r, "eventName", "ConsoleLogin") and eq(r, "errorMessage", "Failed authentication")


def c4_7(r):
    return eq(r, "eventSource", "kms.amazonaws.com") and name_in(r, {"DisableKey", "ScheduleKeyDeletion"})


def c4_8(r):
    return eq(r, "eventSource", "s3.amazonaws.com") and name_in(r, {
        "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle",
        "PutBucketReplication", "DeleteBucketPolicy", "DeleteBucketCors",
        "DeleteBucketLifecycle", "DeleteBucketReplication"})


def c4_9(r):
    return eq(r, "eventSource", "config.amazonaws.com") and name_in(r, {
        "StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel",
        "PutConfigurationRecorder"})


def c4_10(r):
    return name_in(r, {"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
                       "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress",
                       "CreateSecurityGroup", "DeleteSecurityGroup"})


def c4_11(r):
    return name_in(r, {"CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl",
                       "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry",
                       "ReplaceNetworkAclAssociation"})


def c4_12(r):
    return name_in(r, {"CreateCustomerGateway", "DeleteCustomerGateway", "AttachInternetGateway",
                       "CreateInternetGateway", "DeleteInternetGateway", "DetachInternetGateway"})


def c4_13(r):
    return name_in(r, {"CreateRoute", "CreateRouteTable", "ReplaceRoute",
                       "ReplaceRouteTableAssociation", "DeleteRouteTable", "DeleteRoute",
                       "DisassociateRouteTable"})


def c4_14(r):
    return name_in(r, {"CreateVpc", "DeleteVpc", "ModifyVpcAttribute", "AcceptVpcPeeringConnection",
                       "CreateVpcPeeringConnection", "DeleteVpcPeeringConnection",
                       "RejectVpcPeeringConnection", "AttachClassicLinkVpc", "DetachClassicLinkVpc",
                       "DisableVpcClassicLink", "EnableVpcClassicLink"})


def c4_15(r):
    return eq(r, "eventSource", "organizations.amazonaws.com") and name_in(r, {
        "AcceptHandshake", "AttachPolicy", "CreateAccount", "CreateOrganizationalUnit",
        "CreatePolicy", "DeclineHandshake", "DeleteOrganization", "DeleteOrganizationalUnit",
        "DeletePolicy", "DetachPolicy", "DisablePolicyType", "EnablePolicyType",
        "InviteAccountToOrganization", "LeaveOrganization", "MoveAccount",
        "RemoveAccountFromOrganization", "UpdatePolicy", "UpdateOrganizationalUnit"})


# control id → predicate. The rule implementing control "4.N" is the one whose
# tags hold "cis-aws-4.N".
CONTROLS = {
    "4.1": c4_1, "4.2": c4_2, "4.3": c4_3, "4.4": c4_4, "4.5": c4_5,
    "4.6": c4_6, "4.7": c4_7, "4.8": c4_8, "4.9": c4_9, "4.10": c4_10,
    "4.11": c4_11, "4.12": c4_12, "4.13": c4_13, "4.14": c4_14, "4.15": c4_15,
}


def control_of_rule(rule_name):
    """cis_aws_4_10_security_group_changes → "4.10" (None for another name)."""
    parts = rule_name.split("_")
    if len(parts) >= 4 and parts[:2] == ["cis", "aws"] and parts[2].isdigit() and parts[3].isdigit():
        return parts[2] + "." + parts[3]
    return None


def expected_event_ids(records):
    """{control: sorted list of eventIDs (with repeats) that should alert}."""
    out = {c: [] for c in CONTROLS}
    for r in records:
        for c, pred in CONTROLS.items():
            if pred(r):
                out[c].append(r.get("eventID"))
    return {c: sorted(v, key=str) for c, v in out.items()}

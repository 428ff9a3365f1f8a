# cis.jq — baseline (b) of the benchmark: the conditions of
# rules/aws/cis.secdet (CIS AWS Foundations v1.5.0, 4.1–4.15) as jq, written
# to select exactly the events each secdet rule alerts on.
#
# A jq module (definitions only), used two ways by bench/run.sh:
#   jq -c -L bench 'include "cis"; select(cis_any)'    the timed filter
#   jq -r -L bench 'include "cis"; cis_matches'        one rule name per match,
#                                                      to compare with secdet's alerts
#
# Semantics kept equal to secdet's (docs/language.md):
#  - a path that is missing or runs through a non-object compares false with
#    `==` and true with `!=` (`.a.b?` does not fail on a string `.a`; `// null`
#    turns "no value" into null, which equals none of the string literals);
#  - `like "*X"` / `"X*"` hold only for strings (whole-string glob);
#  - `exists P` is true for a present JSON null, so it tests `has`, not the value.
# Every rule's `on cloudtrail` is satisfied by the benchmark, which scans with
# --source cloudtrail.

def cis_4_1: .errorCode
  | type == "string" and (endswith("UnauthorizedOperation") or startswith("AccessDenied"));

def cis_4_2: .eventName == "ConsoleLogin"
  and (.userIdentity.type? // null) == "IAMUser"
  and (.responseElements.ConsoleLogin? // null) == "Success"
  and (.additionalEventData.MFAUsed? // null) != "Yes";

def cis_4_3: (.userIdentity.type? // null) == "Root"
  and (((.userIdentity | objects | has("invokedBy")) // false) | not)
  and .eventType != "AwsServiceEvent";

def cis_4_4: (.eventName | . == "DeleteGroupPolicy" or . == "DeleteRolePolicy" or . == "DeleteUserPolicy"
    or . == "PutGroupPolicy" or . == "PutRolePolicy" or . == "PutUserPolicy" or . == "CreatePolicy"
    or . == "DeletePolicy" or . == "CreatePolicyVersion" or . == "DeletePolicyVersion"
    or . == "AttachRolePolicy" or . == "DetachRolePolicy" or . == "AttachUserPolicy"
    or . == "DetachUserPolicy" or . == "AttachGroupPolicy" or . == "DetachGroupPolicy");

def cis_4_5: (.eventName | . == "CreateTrail" or . == "UpdateTrail" or . == "DeleteTrail" or . == "StartLogging"
    or . == "StopLogging");

def cis_4_6: .eventName == "ConsoleLogin" and .errorMessage == "Failed authentication";

def cis_4_7: .eventSource == "kms.amazonaws.com"
  and (.eventName | . == "DisableKey" or . == "ScheduleKeyDeletion");

def cis_4_8: .eventSource == "s3.amazonaws.com"
  and (.eventName | . == "PutBucketAcl" or . == "PutBucketPolicy" or . == "PutBucketCors"
    or . == "PutBucketLifecycle" or . == "PutBucketReplication" or . == "DeleteBucketPolicy"
    or . == "DeleteBucketCors" or . == "DeleteBucketLifecycle" or . == "DeleteBucketReplication");

def cis_4_9: .eventSource == "config.amazonaws.com"
  and (.eventName | . == "StopConfigurationRecorder" or . == "DeleteDeliveryChannel" or . == "PutDeliveryChannel"
    or . == "PutConfigurationRecorder");

def cis_4_10: (.eventName | . == "AuthorizeSecurityGroupIngress" or . == "AuthorizeSecurityGroupEgress"
    or . == "RevokeSecurityGroupIngress" or . == "RevokeSecurityGroupEgress"
    or . == "CreateSecurityGroup" or . == "DeleteSecurityGroup");

def cis_4_11: (.eventName | . == "CreateNetworkAcl" or . == "CreateNetworkAclEntry" or . == "DeleteNetworkAcl"
    or . == "DeleteNetworkAclEntry" or . == "ReplaceNetworkAclEntry"
    or . == "ReplaceNetworkAclAssociation");

def cis_4_12: (.eventName | . == "CreateCustomerGateway" or . == "DeleteCustomerGateway" or . == "AttachInternetGateway"
    or . == "CreateInternetGateway" or . == "DeleteInternetGateway" or . == "DetachInternetGateway");

def cis_4_13: (.eventName | . == "CreateRoute" or . == "CreateRouteTable" or . == "ReplaceRoute"
    or . == "ReplaceRouteTableAssociation" or . == "DeleteRouteTable" or . == "DeleteRoute"
    or . == "DisassociateRouteTable");

def cis_4_14: (.eventName | . == "CreateVpc" or . == "DeleteVpc" or . == "ModifyVpcAttribute"
    or . == "AcceptVpcPeeringConnection" or . == "CreateVpcPeeringConnection"
    or . == "DeleteVpcPeeringConnection" or . == "RejectVpcPeeringConnection"
    or . == "AttachClassicLinkVpc" or . == "DetachClassicLinkVpc" or . == "DisableVpcClassicLink"
    or . == "EnableVpcClassicLink");

def cis_4_15: .eventSource == "organizations.amazonaws.com"
  and (.eventName | . == "AcceptHandshake" or . == "AttachPolicy" or . == "CreateAccount"
    or . == "CreateOrganizationalUnit" or . == "CreatePolicy" or . == "DeclineHandshake"
    or . == "DeleteOrganization" or . == "DeleteOrganizationalUnit" or . == "DeletePolicy"
    or . == "DetachPolicy" or . == "DisablePolicyType" or . == "EnablePolicyType"
    or . == "InviteAccountToOrganization" or . == "LeaveOrganization" or . == "MoveAccount"
    or . == "RemoveAccountFromOrganization" or . == "UpdatePolicy" or . == "UpdateOrganizationalUnit");

# True when any CIS rule would alert on the event.
def cis_any: cis_4_1 or cis_4_2 or cis_4_3 or cis_4_4 or cis_4_5 or cis_4_6 or cis_4_7
  or cis_4_8 or cis_4_9 or cis_4_10 or cis_4_11 or cis_4_12 or cis_4_13 or cis_4_14 or cis_4_15;

# The secdet rule names that would alert on the event, one output each, in
# rule order (an event can match several, e.g. 4.1 and 4.4).
def cis_matches:
    (if cis_4_1 then "cis_aws_4_1_unauthorized_api_calls" else empty end),
    (if cis_4_2 then "cis_aws_4_2_console_login_without_mfa" else empty end),
    (if cis_4_3 then "cis_aws_4_3_root_account_usage" else empty end),
    (if cis_4_4 then "cis_aws_4_4_iam_policy_changes" else empty end),
    (if cis_4_5 then "cis_aws_4_5_cloudtrail_config_changes" else empty end),
    (if cis_4_6 then "cis_aws_4_6_console_authentication_failures" else empty end),
    (if cis_4_7 then "cis_aws_4_7_kms_key_disabled_or_scheduled_deletion" else empty end),
    (if cis_4_8 then "cis_aws_4_8_s3_bucket_policy_changes" else empty end),
    (if cis_4_9 then "cis_aws_4_9_config_changes" else empty end),
    (if cis_4_10 then "cis_aws_4_10_security_group_changes" else empty end),
    (if cis_4_11 then "cis_aws_4_11_nacl_changes" else empty end),
    (if cis_4_12 then "cis_aws_4_12_network_gateway_changes" else empty end),
    (if cis_4_13 then "cis_aws_4_13_route_table_changes" else empty end),
    (if cis_4_14 then "cis_aws_4_14_vpc_changes" else empty end),
    (if cis_4_15 then "cis_aws_4_15_organizations_changes" else empty end);

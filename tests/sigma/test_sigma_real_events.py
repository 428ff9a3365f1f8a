"""SigmaHQ's converted rules on real events: the vendors' sample logs in
../shared/data (CloudTrail from Invictus IR, Okta, Workspace and GCP audit
from Panther's samples). SigmaHQ ships no test events for these rules, so
this pins which converted rules fire on the samples (checked by hand when
recorded: each is the event the Sigma rule describes, e.g. Okta's
user.account.privilege.grant for the admin-role rule). A change in the
backend that makes a rule stop firing, or fire on other events, fails."""
import collections
import json

from conftest import run

EXPECTED = {
    "aws_sts_assumerole_misuse": 76, "new_network_route_added": 6, "aws_cloudtrail_important_change": 6,
    "ingress_egress_security_group_modification": 6, "aws_bucket_deleted": 5,
    "potential_bucket_enumeration_on_aws": 3, "aws_snapshot_backup_exfiltration": 2,
    "aws_iam_backdoor_users_keys": 2, "potential_malicious_usage_of_cloudtrail_system_manager": 1,
    "aws_vpc_flow_logs_deleted": 1, "aws_successful_console_login_without_mfa": 1,
    "google_cloud_firewall_modified_or_deleted": 5, "potential_okta_password_in_alternateid_field": 3,
    "okta_admin_role_assigned_to_an_user_or_group": 2, "google_cloud_dns_zone_modified_or_deleted": 2,
    "okta_api_token_created": 1, "okta_api_token_revoked": 1, "google_workspace_role_modified_or_deleted": 1,
    "google_cloud_storage_buckets_modified_or_deleted": 1,
}


def test_sigmahq_rules_on_vendor_samples(secdet, sigma_data, tmp_path):
    out = tmp_path / "out"
    p = run(secdet, "sigma", "convert", sigma_data / "rules", "-o", out)
    assert p.returncode in (0, 1), p.stderr
    data = sigma_data.parent
    s = run(secdet, "scan", "--rules", out, "--lateness", "0s", data / "cloudtrail", data / "okta",
            data / "gworkspace", data / "gcp-audit")
    assert s.returncode == 0, s.stderr
    got = collections.Counter(json.loads(line)["rule"] for line in s.stdout.splitlines() if line.strip())
    assert dict(got) == EXPECTED

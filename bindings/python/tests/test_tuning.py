"""Tuning through the binding: an overlay file loaded after the CIS pack
(never an edit of it), the per-rule figures and the explanation."""
import textwrap

import secdet

from conftest import CIS, SAMPLE

OVERLAY = textwrap.dedent(
    """\
    tune cis_aws_4_3_root_account_usage {
        except .sourceIPAddress in cidr("192.0.2.0/24") until 2099-12-31 "break-glass drill"
    }
    tune cis_aws_4_2_console_login_without_mfa { severity = critical }
    disable cis_aws_4_1_* "GuardDuty covers these"
    """
)


def scan(*rules):
    with secdet.Engine(list(rules)) as e:
        alerts = list(e.scan(SAMPLE))
        return alerts, e.rule_stats, e.tuning_explain()


def test_an_overlay_changes_exactly_what_it_says_and_the_figures_show_it(tmp_path):
    overlay = tmp_path / "site.secdet"
    overlay.write_text(OVERLAY)
    before, stats_before, explain_before = scan(CIS)
    after, stats, explain = scan(CIS, str(overlay))
    assert explain_before == ""
    assert all(not s.excepts and not s.disabled and s.excepted == 0 for s in stats_before)

    by_rule = {s.rule: s for s in stats}
    root = by_rule["cis_aws_4_3_root_account_usage"]
    roots = [a for a in before if a.rule == root.rule]
    assert roots and root.alerts == 0 and root.excepted == len(roots)
    (x,) = root.excepts
    assert (x.file, x.line, x.column) == (str(overlay), 2, 5)
    assert x.condition == '.sourceIPAddress in cidr("192.0.2.0/24")'
    assert (x.reason, x.until, x.until_ns, x.excepted) == ("break-glass drill", "2099-12-31",
                                                           4102444800 * 10**9, len(roots))
    disabled = sorted(s.rule for s in stats if s.disabled)
    assert disabled and all(r.startswith("cis_aws_4_1_") for r in disabled)
    assert all(by_rule[r].alerts == 0 for r in disabled)

    # exactly those alerts are gone; the severity override is in the alert
    gone = {a.id for a in before} - {a.id for a in after}
    assert {a.rule for a in before if a.id in gone} <= {root.rule, *disabled}
    assert sum(s.alerts for s in stats) == len(after)
    mfa = [a for a in after if a.rule == "cis_aws_4_2_console_login_without_mfa"]
    assert mfa and all(a.severity == secdet.Severity.CRITICAL for a in mfa)
    assert f"{overlay}:1:1: tune cis_aws_4_3_root_account_usage (1 rule)" in explain

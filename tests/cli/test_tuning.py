"""Tuning from the command line, against the shipped CIS pack and its sample
log: an overlay file beside the pack, never an edit of it.

`secdet scan` with an overlay that excepts a known alert removes exactly
those alerts (compared by id with a scan without it), an exception past its
date removes nothing (and is warned of), `disable` by glob silences exactly
the rules it matches, a severity override shows in the alert; the counts of
excepted events close the scan, and `--summary` prints the per-rule table.
`secdet check --today` warns of expired exceptions, `--explain-tuning` says
what each tune changes.
"""

import json
import os
import subprocess
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))
CIS = os.path.join(REPO, "rules", "aws", "cis.secdet")
SAMPLE = os.path.join(REPO, "examples", "data", "cloudtrail-sample.json.gz")

OVERLAY = textwrap.dedent("""\
    # site.secdet: how this site runs the CIS pack.
    tune cis_aws_4_3_root_account_usage {
        except .sourceIPAddress in cidr("192.0.2.0/24") until 2099-12-31 "break-glass drill"
    }
    tune cis_aws_4_2_console_login_without_mfa { severity = critical }
    disable cis_aws_4_1_* "GuardDuty covers these"
    """)


def run(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=120)


def scan(*rules, extra=()):
    args = ["scan", "--no-progress"]
    for r in rules:
        args += ["--rules", r]
    r = run(*args, *extra, SAMPLE)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()], r.stderr


def overlay(tmp_path, text=OVERLAY, name="site.secdet"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_an_overlay_excepts_known_alerts_and_nothing_else(tmp_path):
    before, _ = scan(CIS)
    after, err = scan(CIS, overlay(tmp_path))
    ids_before = {a["id"]: a for a in before}
    ids_after = {a["id"] for a in after}
    gone = {i for i in ids_before if i not in ids_after}
    assert {ids_before[i]["rule"] for i in gone} == {"cis_aws_4_3_root_account_usage",
                                                      "cis_aws_4_1_unauthorized_api_calls"}
    # every root alert of the sample comes from 192.0.2.10: all excepted
    root = [a for a in before if a["rule"] == "cis_aws_4_3_root_account_usage"]
    assert len(root) == 3 and all(a["events"][-1]["sourceIPAddress"] == "192.0.2.10" for a in root)
    assert not any(a["rule"] in ("cis_aws_4_3_root_account_usage", "cis_aws_4_1_unauthorized_api_calls")
                   for a in after)
    assert ids_after <= set(ids_before)
    assert len(after) == len(before) - 3 - 6
    # the override shows in the alert, and only there
    mfa = [a for a in after if a["rule"] == "cis_aws_4_2_console_login_without_mfa"]
    assert [a["severity"] for a in mfa] == ["critical"]
    for a in after:
        if a["rule"] != "cis_aws_4_2_console_login_without_mfa":
            assert a == ids_before[a["id"]]
    assert 'excepted 3 events of cis_aws_4_3_root_account_usage: ' + str(tmp_path / "site.secdet") + \
        ':3:5 "break-glass drill"' in err.splitlines()


def test_an_exception_past_its_date_stops_applying_and_is_warned_of(tmp_path):
    expired = overlay(tmp_path, textwrap.dedent("""\
        tune cis_aws_4_3_root_account_usage {
            except .sourceIPAddress in cidr("192.0.2.0/24") until 2024-03-01 "drill, February only"
        }
        """))
    before, _ = scan(CIS)
    after, err = scan(CIS, expired)
    assert [a["id"] for a in after] == [a["id"] for a in before]
    assert f"{expired}:2:5: warning: exception expired on 2024-03-01: it no longer applies " \
           "(remove it, or give it a later date)" in err.splitlines()
    assert "excepted" not in err


def test_check_today_warns_of_expired_exceptions_once_each(tmp_path):
    p = overlay(tmp_path, textwrap.dedent("""\
        tune cis_aws_4_1_* { except .userIdentity.userName == "scanner" until 2026-06-30 }
        tune cis_aws_4_3_root_account_usage { except .x == 1 until 2026-07-01; except .y == 2 }
        """))
    r = run("check", "--today", "2026-07-01", CIS, p)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"{p}:1:22: warning: exception expired on 2026-06-30: it no longer applies "
        "(remove it, or give it a later date)",
        "15 rules OK (1 warning)",
    ]
    r = run("check", "--today", "2026-06-30", CIS, p)
    assert r.stderr.splitlines() == ["15 rules OK (0 warnings)"]
    r = run("check", "--today", "2026-07-02", CIS, p)
    assert r.stderr.splitlines()[-1] == "15 rules OK (2 warnings)"
    r = run("check", "--today", "2026-02-30", CIS)
    assert r.returncode == 2
    assert "bad --today '2026-02-30' (a date: YYYY-MM-DD)" in r.stderr


def test_check_names_a_tune_of_no_rule_and_a_glob_of_none(tmp_path):
    p = overlay(tmp_path, "tune cis_aws_4_3_root_acount_usage { severity = low }\ndisable cis_gcp_*\n")
    r = run("check", CIS, p)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{p}:1:6: tune 'cis_aws_4_3_root_acount_usage' names no rule "
        "(did you mean 'cis_aws_4_3_root_account_usage'?)",
        f"{p}:2:9: warning: disable 'cis_gcp_*' matches no rule that alerts",
        "1 error, 1 warning",
    ]


def test_check_explain_tuning_says_what_each_tune_changes(tmp_path):
    p = overlay(tmp_path)
    r = run("check", "--explain-tuning", "--today", "2026-01-01", CIS, p)
    assert r.returncode == 0, r.stderr
    assert r.stdout == textwrap.dedent(f"""\
        {p}:2:1: tune cis_aws_4_3_root_account_usage (1 rule)
            cis_aws_4_3_root_account_usage: except .sourceIPAddress in cidr("192.0.2.0/24") until 2099-12-31 "break-glass drill"
        {p}:5:1: tune cis_aws_4_2_console_login_without_mfa (1 rule)
            cis_aws_4_2_console_login_without_mfa: severity high -> critical
        {p}:6:1: disable cis_aws_4_1_* (1 rule) "GuardDuty covers these"
            cis_aws_4_1_unauthorized_api_calls: disabled
        """)
    r = run("check", "--explain-tuning", CIS)
    assert r.stdout == "no tune or disable declarations\n"


def test_scan_summary_lists_alerts_suppressed_and_excepted_per_rule_loudest_first(tmp_path):
    p = overlay(tmp_path, textwrap.dedent("""\
        tune cis_aws_4_3_root_account_usage { except .eventName == "ConsoleLogin" "drill" }
        tune cis_aws_4_4_iam_policy_changes { throttle 1h by .userIdentity.arn }
        disable cis_aws_4_15_*
        """))
    alerts, err = scan(CIS, p, extra=["--summary", "--quiet"])
    lines = err.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split() == ["rule", "alerts", "suppressed", "excepted"])
    rows = [line.split() for line in lines[header + 1:] if not line.startswith("(")]
    table = {r[0]: tuple(int(x) for x in r[1:]) for r in rows}
    counted = {}
    for a in alerts:
        counted[a["rule"]] = counted.get(a["rule"], 0) + 1
    assert {r: v[0] for r, v in table.items() if v[0]} == counted
    assert table["cis_aws_4_3_root_account_usage"] == (2, 0, 1)
    assert table["cis_aws_4_4_iam_policy_changes"] == (2, 3, 0)
    alerts_col = [v[0] for v in table.values()]
    assert alerts_col == sorted(alerts_col, reverse=True)
    assert rows[0][0] == "cis_aws_4_1_unauthorized_api_calls"
    assert "cis_aws_4_15_organizations_changes" not in table
    assert len(rows) == 14 and lines[-1] == "(1 rule disabled)"
    assert not any(line.startswith("scanned ") for line in lines)  # --quiet keeps the summary line out

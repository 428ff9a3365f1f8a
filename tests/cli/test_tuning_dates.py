"""Exception dates at the far end of the calendar: `until` and `--today`
take any real date up to 9999-12-31, though int64 nanoseconds end in
2262. A date past that is "never" as far as events go; fuzz_compile found
the overflow (fuzz/corpus/compile/regress-tune-until-year-9977-overflow).
"""

import os
import subprocess
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))
CIS = os.path.join(REPO, "rules", "aws", "cis.secdet")


def check(*args):
    return subprocess.run([BIN, "check", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_far_dates_are_dates_for_until_and_today(tmp_path):
    p = tmp_path / "site.secdet"
    p.write_text(textwrap.dedent("""\
        tune cis_aws_4_3_root_account_usage {
            except .x == 1 until 2099-12-31
            except .y == 2 until 9977-01-31 "far"
        }
        """))
    r = check("--today", "2026-07-01", CIS, p)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["15 rules OK (0 warnings)"]
    r = check("--today", "9999-12-31", CIS, p)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"{p}:2:5: warning: exception expired on 2099-12-31: it no longer applies "
        "(remove it, or give it a later date)",
        f"{p}:3:5: warning: exception expired on 9977-01-31: it no longer applies "
        "(remove it, or give it a later date)",
        "15 rules OK (2 warnings)",
    ]

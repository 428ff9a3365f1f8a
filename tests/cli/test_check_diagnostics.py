"""`secdet check` on rules with mistakes: every error and warning of the
ruleset, in source order, each typo with the nearest known word."""

import os
import subprocess
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SECDET_BIN", os.path.join(REPO, "build", "secdet"))


def check(*paths):
    return subprocess.run([BIN, "check", *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_typos_get_suggestions_and_warnings_show_beside_errors_in_order(tmp_path):
    a = tmp_path / "a.secdet"
    a.write_text(textwrap.dedent("""\
        macro console_login = .eventName == "ConsoleLogin"
        rule one {
            where tolower(.x) == "a"
        }
        rule two {
            wher .x == 1
        }
        list unused = ["x", "y",]
        rule three {
            where consol_login adn .y == 2
        }
        """))
    b = tmp_path / "b.secdet"
    b.write_text('rule four { meta { severity = hihg } where .z == 1 }\n')
    r = check(a, b)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines == [
        f"{a}:1:1: warning: macro 'console_login' is never used",
        f"{a}:3:11: unknown function 'tolower' (did you mean 'lower'?); the functions are lower, upper, len, coalesce, b64decode, text, hour, weekday",
        f"{a}:6:5: expected a rule clause (meta, on, where, count, distinct, sum, sequence, throttle, output, private) "
        "or '}' after '{', found 'wher' (did you mean 'where'?)",
        f"{a}:8:1: warning: list 'unused' is never used",
        f"{a}:10:24: expected a rule clause (meta, on, where, count, distinct, sum, sequence, throttle, output, private) "
        "or '}' after 'consol_login', found 'adn' (did you mean 'and'?)",
        f"{b}:1:31: severity must be one of info, low, medium, high, critical (did you mean 'high'?)",
        "4 errors, 2 warnings",
    ]

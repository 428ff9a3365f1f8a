"""Rules: loading from paths, directories and text; RuleError positions equal `secdet check`'s."""
import re
import subprocess
import textwrap

import pytest
import secdet

from conftest import CIS, ROOT_RULE

BAD = textwrap.dedent(
    """\
    rule first {
        where .eventName ==
    }
    rule second {
        where .eventName == "x" and
    }
    """
)


def test_load_a_file_a_directory_and_text(tmp_path):
    (tmp_path / "a.secdet").write_text(ROOT_RULE)
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "b.secdet").write_text('rule other { where .eventName == "DeleteTrail" }\n')
    with secdet.Engine() as e:
        e.load_rules(tmp_path)  # a Path to a directory: every *.secdet below
        assert sorted(r.name for r in e.rules) == ["other", "root_login"]
    with secdet.Engine(str(tmp_path / "a.secdet")) as e:
        (info,) = e.rules
        assert info.name == "root_login" and info.severity == secdet.Severity.HIGH
        assert info.title == "Root account used" and info.line == 1 and not info.aggregate
    with secdet.Engine() as e:
        e.load_rules(ROOT_RULE, name="inline.secdet")
        assert [r.file for r in e.rules] == ["inline.secdet"]


def test_cis_pack_loads_fifteen_rules():
    with secdet.Engine(CIS) as e:
        assert len(e.rules) == 15


def test_rule_error_has_the_position_secdet_check_prints(tmp_path, secdet_bin):
    path = tmp_path / "bad.secdet"
    path.write_text(BAD)
    proc = subprocess.run([secdet_bin, "check", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    printed = [l for l in (proc.stdout + proc.stderr).splitlines() if l.startswith(str(path) + ":")]
    assert printed, proc.stderr
    with secdet.Engine() as e:
        with pytest.raises(secdet.RuleError) as info:
            e.load_rules(path)
    err = info.value
    assert isinstance(err, secdet.Error) and err.status == 4
    assert [str(d) for d in err.diagnostics] == printed
    m = re.match(r"^(.*):(\d+):(\d+): (.*)$", printed[0])
    assert (err.file, err.line, err.column, err.message) == (m[1], int(m[2]), int(m[3]), m[4])
    assert err.line == 3 and err.column == 1
    assert all(d.is_error for d in err.errors)


def test_rule_error_from_text_names_the_given_file():
    with secdet.Engine() as e:
        with pytest.raises(secdet.RuleError) as info:
            e.load_rules(BAD, name="notebook.secdet")
    assert info.value.file == "notebook.secdet"
    assert info.value.line == 3
    assert "notebook.secdet:3:1:" in str(info.value)


def test_a_failed_load_keeps_the_rules_loaded_before():
    with secdet.Engine(ROOT_RULE) as e:
        with pytest.raises(secdet.RuleError):
            e.load_rules(BAD)
        assert [r.name for r in e.rules] == ["root_login"]


def test_warnings_are_returned(tmp_path):
    with secdet.Engine() as e:
        warnings = e.load_rules('macro m = .a == 1\nrule ok { where .b == 2 }\n', name="w.secdet")
    assert len(warnings) == 1 and warnings[0].severity == "warning"
    assert str(warnings[0]) == "w.secdet:1:1: warning: macro 'm' is never used"


def test_a_missing_path_is_file_not_found(tmp_path):
    with secdet.Engine() as e:
        with pytest.raises(FileNotFoundError):
            e.load_rules(str(tmp_path / "nope.secdet"))


def test_reload_replaces_the_rules(tmp_path):
    a = tmp_path / "a.secdet"
    a.write_text(ROOT_RULE)
    b = tmp_path / "b.secdet"
    b.write_text('rule other { where .eventName == "DeleteTrail" }\n')
    with secdet.Engine(a) as e:
        e.reload_rules(b)
        assert [r.name for r in e.rules] == ["other"]
        b.write_text(BAD)
        with pytest.raises(secdet.RuleError):
            e.reload_rules(b)
        assert [r.name for r in e.rules] == ["other"]
        assert "other" in e.disasm()

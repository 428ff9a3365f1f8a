"""The docs are tested: every fenced code block of README.md, docs/*.md and
bindings/*/README.md is run or checked here, or names the test that runs
it, so the docs cannot drift from the code.

Each block carries a marker on the line before its opening fence,
`<!-- doc-test: KIND [options] [-- why] -->` (doclib.KINDS lists the kinds;
docs/building.md, "Docs are tested", is the guide). A block without one
fails test_every_block_is_classified with the kinds to choose from. Each
block is then one test, `test_block[KIND:FILE:LINE]`, whose failure names
the file and line, what the check ran and what came out, and how to fix or
reclassify the block.

Besides the blocks: docs/building.md's dependency table is compared with
tools/install-deps.sh's PACKAGES, and its "What ctest runs" table with the
tests ctest really has.

Python blocks run in test_python_block, which needs the `secdet` package:
bindings/python/ci.sh runs it with its venv (SECDET_DOCS_REQUIRE_PYTHON=1);
elsewhere it skips, and test_block checks the names the block uses instead.
"""

import os
import re
import subprocess

import pytest

import checks_code
import checks_lang
from doclib import HOW_TO, REPO, all_blocks, doc_files

BLOCKS = all_blocks()

CHECKS = {
    "rules": checks_lang.check_rules,
    "rule-clause": checks_lang.check_rule_clause,
    "config": checks_lang.check_config,
    "output-of": checks_lang.check_output_of,
    "alert": checks_lang.check_alert,
    "test-lines": checks_lang.check_test_lines,
    "json": checks_lang.check_json,
    "shell": checks_lang.check_shell,
    "paths": checks_lang.check_paths,
    "c-program": checks_code.check_c_program,
    "c-fragment": checks_code.check_c_fragment,
    "cmake": checks_code.check_cmake,
    "go-api": checks_code.check_go_api,
    "contained-in": checks_code.check_contained_in,
    "covered-by": checks_code.check_covered_by,
    "manual": checks_code.check_nothing,
    "illustration": checks_code.check_nothing,
    "python": lambda block, env: checks_code.check_python_names(block),
}


def _id(b):
    return "%s:%s" % (b.marker.kind if b.marker else "unmarked", b.id)


def test_docs_were_found():
    files = doc_files()
    assert "README.md" in files and any(f.startswith("docs/") for f in files), files
    assert len(BLOCKS) > 50, "only %d blocks found: is the collector broken?" % len(BLOCKS)


def test_every_block_is_classified():
    problems = []
    for b in BLOCKS:
        if b.marker_error:
            problems.append("%s: the marker of the ```%s block at line %d is wrong: %s"
                            % (b.path, b.info, b.line, b.marker_error))
        elif not b.marker:
            first = b.text.strip().split("\n")[0][:70]
            problems.append("%s: a ```%s block with no <!-- doc-test: ... --> marker: %s" % (b.where, b.info, first))
    assert not problems, "\n".join(problems) + "\n\n" + HOW_TO


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker], ids=_id)
def test_block(block, env):
    CHECKS[block.marker.kind](block, env)


PY_BLOCKS = [b for b in BLOCKS if b.marker and b.marker.kind == "python"]


@pytest.mark.parametrize("block", PY_BLOCKS, ids=_id)
def test_python_block(block, any_env):
    py = checks_code.python_with_secdet()
    if py is None:
        if os.environ.get("SECDET_DOCS_REQUIRE_PYTHON") == "1":
            pytest.fail("SECDET_DOCS_REQUIRE_PYTHON=1 but `import secdet` fails with %s "
                        "(set SECDET_DOCS_PYTHON to the venv's python)" % (os.environ.get("SECDET_DOCS_PYTHON")
                                                                           or "this python"))
        pytest.skip("the secdet package is not importable here: bindings/python/ci.sh runs these blocks")
    checks_code.check_python_run(block, any_env, py)


# ---- docs/building.md's tables -------------------------------------------------------

def _table(path, header):
    """Rows (lists of cells) of the Markdown table whose header row starts with `header`."""
    with open(os.path.join(REPO, path)) as f:
        lines = f.read().split("\n")
    for i, ln in enumerate(lines):
        if ln.replace(" ", "").startswith(header.replace(" ", "")):
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows, i + 1
    raise AssertionError("%s: no table with the header %r" % (path, header))


def install_deps_packages():
    with open(os.path.join(REPO, "tools/install-deps.sh")) as f:
        text = f.read()
    body = re.search(r"^PACKAGES=\((.*?)^\)", text, re.S | re.M).group(1)
    return {w for ln in body.split("\n") for w in ln.split("#")[0].split()}


def test_building_md_dependency_table_is_install_deps_packages():
    rows, line = _table("docs/building.md", "| package | why |")
    listed = set()
    for row in rows:
        cell = re.sub(r"\([^)]*\)", "", row[0])          # "cmake (≥ 3.25)", "python3-pip (pytest)"
        listed.update(w for w in re.split(r"[,\s]+", cell) if w)
    packages = install_deps_packages()
    missing, extra = sorted(packages - listed), sorted(listed - packages)
    assert not missing and not extra, (
        "docs/building.md:%d: the dependency table and tools/install-deps.sh's PACKAGES differ:\n"
        "  installed but not in the table: %s\n  in the table but not installed: %s\n"
        "  -> make the table's first column name exactly the packages of PACKAGES"
        % (line, ", ".join(missing) or "-", ", ".join(extra) or "-"))


def test_building_md_ctest_table_names_every_test(env):
    rows, line = _table("docs/building.md", "| test | what |")
    patterns = []
    for row in rows:
        for name in re.findall(r"`([^`]+)`", row[0]):
            # unit.test_<area>: a <placeholder> stands for a name
            rx = "[A-Za-z0-9_]+".join(re.escape(p) for p in re.split(r"<[a-z_]+>", name))
            patterns.append(re.compile("^" + rx + "$"))
    r = subprocess.run(["ctest", "--test-dir", env.build, "-N"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    names = re.findall(r"^\s*Test\s+#\d+:\s+(\S+)", r.stdout, re.M)
    assert names, "ctest -N listed no tests in %s" % env.build
    missing = sorted({n for n in names if not any(p.match(n) for p in patterns)})
    assert not missing, (
        "docs/building.md:%d: \"What ctest runs\" does not name these tests of %s: %s\n"
        "  -> add a row for each (a pattern such as `fuzz.<target>` covers a family)"
        % (line, env.build, ", ".join(missing)))


def test_summary_of_blocks_not_run_here(capsys):
    """Not a check: lists the blocks not run here (manual first), for the reader of the log."""
    kinds = {}
    for b in BLOCKS:
        if b.marker:
            kinds.setdefault(b.marker.kind, []).append(b)
    with capsys.disabled():
        print("\ndoc blocks: %d; by kind: %s" % (len(BLOCKS), ", ".join(
            "%s %d" % (k, len(v)) for k, v in sorted(kinds.items()))))
        for kind in ("manual", "covered-by", "illustration"):
            for b in kinds.get(kind, []):
                print("  %s %s: %s%s" % (kind, b.where, " ".join(b.marker.args) + ": " if b.marker.args else "",
                                         b.marker.why))

"""checks_lang.py — the checks of blocks the `secdet` command judges: rule
files and clauses, `secdet run` configurations and sinks, test lines,
alerts, output samples, shell commands, listings of paths.

Each check takes (block, env) and raises DocError saying what is wrong and
how to fix or classify the block.
"""

import glob
import json
import os
import re

import docenv
from docenv import apply_maps, fill_fixtures, provide_secrets, run, show
from doclib import REPO, all_blocks


class DocError(AssertionError):
    pass


def fail(block, what, hint=""):
    m = block.marker
    head = "%s: the ```%s block (marker at line %d: <!-- doc-test: %s -->):\n" % (
        block.where, block.info, m.line if m else 0, m.raw if m else "?")
    raise DocError(head + what.rstrip() + ("\n  -> " + hint if hint else ""))


def replay_saved(block, ws):
    """Files that earlier blocks of the same document saved (save-as=NAME)."""
    for b in all_blocks():
        if b.path == block.path and b.line < block.line and b.marker and b.marker.opt("save-as"):
            with open(os.path.join(ws, b.marker.opt("save-as")), "w") as f:
                f.write(b.text + "\n")


def secdet_check(block, env, ws, files, warnings_ok):
    r = run([env.bin, "check"] + files, ws, env.environ())
    if r.returncode != 0:
        fail(block, "`secdet check %s` failed:\n%s" % (" ".join(files), r.stderr),
             "fix the rules in the block (or the compiler, if the doc is right: tell the lead)")
    if not warnings_ok and not re.search(r"\(0 warnings\)", r.stderr):
        fail(block, "`secdet check` passed with warnings:\n%s" % r.stderr,
             "fix them, or add warnings-ok to the marker when the block shows a piece of a file "
             "(an unused list)")


# ---- rules ------------------------------------------------------------------

def check_rules(block, env):
    m = block.marker
    ws = env.workspace(block.id)
    replay_saved(block, ws)
    name = m.opt("save-as") or "doc_example.secdet"
    with open(os.path.join(ws, name), "w") as f:
        f.write(block.text + "\n")
    same = m.opt("same-as")
    if same:
        with open(os.path.join(REPO, same)) as f:
            want = f.read()
        if want.rstrip("\n") != block.text.rstrip("\n"):
            fail(block, "the block is not the same text as %s" % same,
                 "copy %s into the block again (or the block into the file)" % same)
    secdet_check(block, env, ws, [name] + m.opts.get("with", []), m.flag("warnings-ok"))


def check_rule_clause(block, env):
    m = block.marker
    ws = env.workspace(block.id)
    units = [ln for ln in block.lines() if ln.strip()] if m.flag("each-line") else [block.text]
    prefix = m.opt("prefix", "")
    out = []
    for i, u in enumerate(units, 1):
        has_where = re.search(r"^\s*(where|sequence)\b", u, re.M)
        filler = "" if has_where else '    where .eventName == "DocExample"\n'
        out.append("rule doc_example_%d {\n%s    %s %s\n}\n" % (i, filler, prefix, u))
    with open(os.path.join(ws, "doc_example.secdet"), "w") as f:
        f.write("\n".join(out))
    secdet_check(block, env, ws, ["doc_example.secdet"], m.flag("warnings-ok"))


# ---- configurations -----------------------------------------------------------

MINIMAL_SOURCE = {"name": "doc", "format": "jsonl", "input": {"type": "stdin"}}


def check_config(block, env):
    config_check(block, env, block.text, block.marker.opt("wrap", "none"))


def config_check(block, env, text, wrap):
    """`secdet run --check` on text (wrapped as a source's members, a sink, or whole)."""
    ws = env.workspace(block.id)
    try:
        if wrap == "source":
            obj = {"rules": ["rules/aws"], "sources": [json.loads("{\"name\": \"doc\", %s}" % text)]}
        elif wrap == "sink":
            obj = {"rules": ["rules/aws"], "sources": [MINIMAL_SOURCE], "sinks": [json.loads(text)]}
        else:
            obj = json.loads(text)
    except ValueError as e:
        fail(block, "not JSON (wrap=%s): %s" % (wrap, e), "fix the JSON")
    extra = {}
    obj = provide_secrets(obj, ws, extra)
    cfg = os.path.join(ws, "secdet.json")
    with open(cfg, "w") as f:
        json.dump(obj, f, indent=2)
    r = run([env.bin, "run", "--config", "secdet.json", "--check"], ws, env.environ(**extra))
    if r.returncode != 0 or "configuration OK" not in r.stderr:
        fail(block, "`secdet run --config secdet.json --check` refused it (the block%s, with its secret "
             "references pointed at files and variables the harness made):\n%s"
             % (" wrapped as a %s" % wrap if wrap != "none" else "", show(r)),
             "fix the keys in the block (docs/config.md, docs/sinks.md, docs/scale-out.md say which exist)")
    if "warning" in r.stderr:
        fail(block, "the configuration loads with warnings:\n%s" % r.stderr, "fix what they say")


# ---- output samples -------------------------------------------------------------

def check_output_of(block, env):
    m = block.marker
    if not m.args:
        fail(block, "output-of needs the script's name", "<!-- doc-test: output-of NAME -->, with "
             "tests/docs/outputs/NAME.sh printing what the block shows")
    script = os.path.join(docenv.HERE, "outputs", m.args[0] + ".sh")
    if not os.path.isfile(script):
        fail(block, "no script %s" % os.path.relpath(script, REPO),
             "write it: it runs in a scratch directory with $SECDET (the binary), $DATA (tests/docs/data) "
             "and $REPO set, and prints what the block shows")
    ws = env.workspace(block.id)
    r = run(["bash", script], ws, env.environ(SECDET=env.bin, DATA=os.path.join(docenv.HERE, "data"),
                                              REPO=REPO))
    got = [ln.rstrip() for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    want = [ln.rstrip() for ln in block.lines() if ln.strip()]
    if m.opt("match") == "subset":
        missing = [ln for ln in want if ln not in got]
        ok = not missing
    else:
        ok = got == want
    if not ok:
        fail(block, "the block is not what %s prints.\n--- block ---\n%s\n--- printed ---\n%s"
             % (os.path.relpath(script, REPO), "\n".join(want), "\n".join(got)),
             "copy the printed lines into the block if the command is right; else fix the command "
             "(or tell the lead)")


def _same(doc, real, where, out):
    if isinstance(doc, str) and doc.endswith("...") and isinstance(real, str):
        if not real.startswith(doc[:-3].rstrip()):
            out.append("%s: %r does not start the real %r" % (where, doc[:-3], real[:80]))
    elif isinstance(doc, dict) and isinstance(real, dict):
        for k in doc:
            if k not in real:
                out.append("%s.%s: not in the real alert" % (where, k))
            else:
                _same(doc[k], real[k], "%s.%s" % (where, k), out)
    elif isinstance(doc, list) and isinstance(real, list) and where.endswith("events"):
        for i, d in enumerate(doc):   # events are shortened: each shown one, member by member
            if i >= len(real):
                out.append("%s[%d]: the real alert has %d events" % (where, i, len(real)))
            else:
                _same(d, real[i], "%s[%d]" % (where, i), out)
    elif doc != real:
        out.append("%s: the block says %s, the real alert %s" % (where, json.dumps(doc), json.dumps(real)))


def check_alert(block, env):
    try:
        doc = json.loads(block.text)
    except ValueError as e:
        fail(block, "not JSON: %s" % e, "fix the JSON")
    alerts = env.scan_alerts()
    real = [a for a in alerts if a.get("id") == doc.get("id")]
    if not real:
        ids = ", ".join("%s %s" % (a["id"], a["rule"]) for a in alerts[:20])
        fail(block, "no alert of `secdet scan --rules rules/aws/cis.secdet examples/data/"
             "cloudtrail-sample.json.gz` has id %r; its alerts: %s" % (doc.get("id"), ids),
             "take the alert from that scan again")
    real = real[0]
    problems = []
    if set(doc) != set(real):
        problems.append("keys: the block has %s, the real alert %s" % (sorted(doc), sorted(real)))
    _same(doc, real, "alert", problems)
    if problems:
        fail(block, "the example differs from the real alert:\n  " + "\n  ".join(problems),
             "take the alert from the scan again (the event and long strings may be shortened: end a "
             "string with '...')")


def check_test_lines(block, env):
    ws = env.workspace(block.id)
    for f in glob.glob(os.path.join(REPO, "rules", "aws", "*.secdet")):
        with open(f) as src, open(os.path.join(ws, os.path.basename(f)), "w") as dst:
            dst.write(src.read())
    for ln in block.lines():
        if ln.strip():
            try:
                json.loads(ln)
            except ValueError as e:
                fail(block, "a line is not JSON: %s\n  %s" % (e, ln), "fix the line")
    with open(os.path.join(ws, "cis.tests.jsonl"), "w") as f:
        f.write(block.text.strip() + "\n")
    r = run([env.bin, "test", "cis.secdet", "correlation.secdet"], ws, env.environ())
    if r.returncode not in (0, 1):
        fail(block, "`secdet test` cannot use these lines (with rules/aws/*.secdet):\n%s" % show(r),
             "fix the keys (docs/language.md, \"Testing rules\")")


def check_json(block, env):
    texts = [ln for ln in block.lines() if ln.strip()] if block.marker.flag("lines") else [block.text]
    for t in texts:
        try:
            json.loads(t)
        except ValueError as e:
            fail(block, "not JSON: %s" % e, "fix the JSON")


# ---- shell -------------------------------------------------------------------------

def check_shell(block, env):
    m = block.marker
    ws = env.workspace(block.id)
    replay_saved(block, ws)
    fill_fixtures(ws, m.opts.get("fixture", []))
    extra = {}
    if m.flag("prefix"):
        extra["PKG_CONFIG_PATH"] = env.pkg_config_path()
    if env.sanitized:   # a CMake consumer of a sanitizer build's library needs the sanitizers too
        flags = " ".join(env.cflags())
        extra.update(CC=env.cc, CFLAGS=flags, LDFLAGS=flags)
    script = apply_maps(block.text, m.opts.get("map", []), ws, env)
    want = int(m.opt("exit", "0"))
    r = run(["bash", "-e", "-o", "pipefail", "-c", script], ws, env.environ(**extra), timeout=300)
    if r.returncode != want:
        fail(block, "the commands exited %d, not %d (run with bash -e in %s):\n%s\n%s"
             % (r.returncode, want, ws, script, show(r)),
             "fix the command; if it cannot run here, map it: <!-- doc-test: covered-by TEST -- why -->")


# ---- listings of paths ------------------------------------------------------------------

def check_paths(block, env):
    root = block.marker.opt("root", ".")
    root = env.prefix() if root == "{prefix}" else os.path.join(REPO, root)
    missing = []
    for ln in block.lines():
        if not ln.strip() or ln[0].isspace():
            continue
        first = ln.split()[0].rstrip(",")
        if not glob.glob(os.path.join(root, first)):
            missing.append(first)
    if missing:
        fail(block, "these paths are not in %s: %s" % (os.path.relpath(root, REPO) if root.startswith(REPO)
                                                      else root, ", ".join(missing)),
             "fix the listing (the first word of each line is the path)")

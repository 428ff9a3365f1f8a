"""doclib.py — finding the fenced code blocks of the docs and their markers.

Every fenced block of README.md, docs/*.md and bindings/*/README.md is a
`Block`: its file, the line of its opening fence, its info string, its text
and the `<!-- doc-test: KIND ... -->` marker on the line before it (blank
lines may separate the two). The marker says how the block is checked:

    <!-- doc-test: KIND [key=value ...] [-- why] -->

Values may be quoted ("a b"); a key may repeat (fixture=a fixture=b). What
follows ` -- ` is free text, the reason a reader (or the lead) sees.
KINDS lists every kind with a line of help; docs/building.md ("Docs are
tested") is the guide for doc authors.
"""

import glob
import os
import re
import shlex
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# kind -> one line of help (printed when a block has no marker or a bad one).
KINDS = {
    "rules": "a complete rule file: `secdet check` must pass "
             "[save-as=NAME: later blocks of the file find it] [same-as=PATH: must equal that file] "
             "[warnings-ok]",
    "rule-clause": "clauses of a rule (where/on/meta/output/by ...): wrapped in `rule doc_example { ... }` "
                   "and checked [each-line] [prefix=TEXT: put before the block, e.g. \"count >= 2 within 1m\"]",
    "config": "a `secdet run` configuration: `secdet run --config F --check` must pass "
              "[wrap=source: the block is members of a source object; wrap=sink: one sink object]",
    "output-of": "output the command really prints: the block must equal what the script "
                 "tests/docs/outputs/NAME.sh prints (usage: output-of NAME [match=subset])",
    "alert": "an alert example: its keys and values are compared with the real alert of the same id "
             "from `secdet scan --rules rules/aws/cis.secdet examples/data/cloudtrail-sample.json.gz`",
    "test-lines": "lines of an X.tests.jsonl file: must be accepted by `secdet test` (exit 0 or 1, not 2)",
    "json": "JSON that is not ours to run (an IAM policy...): must parse [lines: one document a line] -- why",
    "shell": "commands run in a scratch directory (secdet = the built binary; rules/, examples/, fuzz/ "
             "and build/ are the repository's) and must exit 0 [exit=N] "
             "[fixture=PATH or fixture=PATH=SOURCE: a copy of the sample CloudTrail log, or of SOURCE] "
             "[map=FROM=TO: rewrite a path, TO may use {tmp} and {prefix}] [prefix: needs the installed prefix]",
    "c-program": "a complete C program: compiled against the built library and run "
                 "[prelude=NAME] [compile-only]",
    "c-fragment": "C statements (and functions before them): wrapped in main() with a prelude, compiled "
                  "and run; without #include lines it gets secdet.h, stdio.h, stdlib.h and string.h "
                  "[prelude=NAME] [compile-only] [expect-alerts] [map=FROM=TO]",
    "cmake": "CMake lines of a consumer: built into a project against an installed prefix",
    "python": "Python run with the `secdet` package (bindings/python/ci.sh runs them; without the package "
              "only the names are checked) [prelude=NAME] [fixture=...]",
    "go-api": "Go: every secdet.Name, method and import path it uses must exist in bindings/go",
    "paths": "a listing whose first word on each line is a path that must exist [root=DIR or {prefix}]",
    "contained-in": "the block's code lines must all appear, in order, in PATH (usage: contained-in PATH)",
    "covered-by": "run by another test or script: names them (must exist) -- why",
    "manual": "cannot run here (needs AWS, a libFuzzer build, minutes of CPU) -- why, and how it was checked",
    "illustration": "not code: a grammar sketch, a picture, a sample of another tool's output -- why",
}

NEED_WHY = {"covered-by", "manual", "illustration", "json", "contained-in"}

HOW_TO = ("Put a marker on the line before the opening fence, e.g.\n"
          "    <!-- doc-test: shell -->\n"
          "    <!-- doc-test: covered-by tests/kafka/test_scaleout.py -- needs a broker -->\n"
          "The kinds (docs/building.md, \"Docs are tested\"):\n"
          + "\n".join("    %-13s %s" % (k, v) for k, v in KINDS.items()))


@dataclass
class Marker:
    kind: str
    args: list = field(default_factory=list)      # positional words
    opts: dict = field(default_factory=dict)      # key -> [values]
    why: str = ""
    line: int = 0
    raw: str = ""                                 # the text between "doc-test:" and "-->"

    def opt(self, key, default=None):
        v = self.opts.get(key)
        return v[-1] if v else default

    def flag(self, key):
        return key in self.opts


@dataclass
class Block:
    path: str          # relative to the repository
    line: int          # 1-based line of the opening fence
    info: str
    text: str          # the lines between the fences, indentation of the fence removed
    marker: Marker = None
    marker_error: str = ""

    @property
    def where(self):
        return "%s:%d" % (self.path, self.line)

    @property
    def id(self):
        return "%s:%d" % (self.path, self.line)

    def lines(self):
        return self.text.split("\n")


MARKER_RE = re.compile(r"^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def doc_files():
    files = ["README.md"] + sorted(glob.glob("docs/*.md", root_dir=REPO)) + \
        sorted(glob.glob("bindings/*/README.md", root_dir=REPO))
    return [f for f in files if os.path.isfile(os.path.join(REPO, f))]


def parse_marker(text, line):
    """A Marker from the text inside `<!-- doc-test: ... -->`, or a string saying what is wrong."""
    raw, why = text, ""
    if " -- " in " " + text + " ":
        head, _, why = (" " + text + " ").partition(" -- ")
        text, why = head.strip(), why.strip()
    try:
        words = shlex.split(text)
    except ValueError as e:
        return "cannot split the marker into words (%s)" % e
    if not words:
        return "the marker names no kind"
    m = Marker(kind=words[0], why=why, line=line, raw=raw)
    if m.kind not in KINDS:
        return "unknown kind %r" % m.kind
    for w in words[1:]:
        if "=" in w and re.match(r"^[a-z][a-z-]*=", w):
            k, _, v = w.partition("=")
            m.opts.setdefault(k, []).append(v)
        elif re.match(r"^[a-z][a-z-]*$", w) and m.kind not in ("covered-by", "contained-in", "output-of"):
            m.opts.setdefault(w, []).append("")
        else:
            m.args.append(w)
    if m.kind in NEED_WHY and not m.why:
        return "kind %r needs a reason after ' -- '" % m.kind
    return m


def collect(path):
    """The fenced blocks of one Markdown file (relative to the repository)."""
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
        close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{%d,}\\s*$" % len(fence))
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = [ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines[i + 1:j]]
        b = Block(path=path, line=i + 1, info=info.split()[0] if info else "", text="\n".join(body))
        k = i - 1
        while k >= 0 and lines[k].strip() == "":
            k -= 1
        mm = MARKER_RE.match(lines[k]) if k >= 0 else None
        if mm:
            r = parse_marker(mm.group(1), k + 1)
            if isinstance(r, Marker):
                b.marker = r
            else:
                b.marker_error = "%s:%d: %s" % (path, k + 1, r)
        blocks.append(b)
        i = j + 1
    return blocks


def all_blocks():
    out = []
    for f in doc_files():
        out.extend(collect(f))
    return out


def code_lines(text, comment):
    """The lines of `text` that carry code: comments (after `comment`) and
    whitespace runs normalised away, blank lines and `...` lines dropped."""
    out = []
    for ln in text.split("\n"):
        if comment:
            ln = strip_comment(ln, comment)
        ln = " ".join(ln.split())
        if ln and ln not in ("...", "…"):
            out.append(ln)
    return out


def strip_comment(line, comment):
    """`line` without a trailing comment that is not inside a string."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif line.startswith(comment, i):
            return line[:i]
        i += 1
    return line

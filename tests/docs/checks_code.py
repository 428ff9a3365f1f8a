"""checks_code.py — the checks of program text: C compiled against the
built library and run, CMake consumers built against an installed prefix,
Python run with the binding (or its names checked), Go names checked
against bindings/go, blocks contained in the example they come from, and
the blocks mapped to other tests.
"""

import glob
import json
import os
import re
import subprocess
import sys

import docenv
from checks_lang import config_check, fail
from docenv import apply_maps, fill_fixtures, run, show
from doclib import REPO, code_lines

# ---- C -------------------------------------------------------------------------

# A prelude gives a fragment what it assumes: declarations at file scope
# (after the block's #include lines), code at the start and end of main(),
# and an extra translation unit (so that it brings no header of its own
# into the block's).
_ENGINE = ("secdet_engine *e = NULL;\nif (secdet_engine_new(NULL, &e) != SECDET_OK) return 2;\n",
           "secdet_engine_free(e);\n")
PRELUDES = {
    "none": {"decl": "", "start": "", "end": "", "tu": None},
    # bytes/len: the sample CloudTrail log (gzip), read before main by the extra unit.
    "sample": {"decl": "extern const unsigned char *bytes;\nextern size_t len;\n", "start": "", "end": "",
               "tu": r'''
#include <stdio.h>
#include <stdlib.h>
const unsigned char *bytes;
size_t len;
__attribute__((constructor)) static void load_sample(void) {
    FILE *f = fopen("%s", "rb");
    static unsigned char buf[1 << 22];
    if (!f) { perror("sample"); exit(3); }
    len = fread(buf, 1, sizeof buf, f);
    bytes = buf;
    fclose(f);
}
''' % docenv.SAMPLE},
    "engine": {"decl": "", "start": _ENGINE[0], "end": _ENGINE[1], "tu": None},
    "sinks": {"decl": "static int doc_ctx;\nstatic secdet_sink_result on_delivery(void *user, "
                      "const secdet_delivery *d) { (void)user; (void)d; return SECDET_SINK_OK; }\n",
              "start": _ENGINE[0] + "void *ctx = &doc_ctx;\n",
              "end": "if (secdet_sink_count(e) != 2) {\n"
                     "    fprintf(stderr, \"doc-test: 2 sinks expected, the engine has %zu\\n\", secdet_sink_count(e));\n"
                     "    return 5;\n}\n" + _ENGINE[1], "tu": None},
    "custom-format": {"decl": "static const char json_text[] = \"{\\\"eventName\\\": \\\"x\\\"}\";\n"
                              "static const size_t json_len = sizeof json_text - 1;\nstatic int my_state;\n",
                      "start": _ENGINE[0], "end": _ENGINE[1], "tu": None},
}

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"]


def split_fragment(text):
    """(includes, file-scope functions, statements) of a C fragment: a line
    at column 0 that opens a definition (`static ...(...) {` or a function's
    first line) runs to the next `}` at column 0."""
    includes, funcs, body = [], [], []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("#include"):
            includes.append(ln)
        elif re.match(r"^(static\s+)?[A-Za-z_][\w \*]*\b\w+\s*\(", ln) and not ln.rstrip().endswith(";"):
            while i < len(lines):
                funcs.append(lines[i])
                if lines[i].startswith("}"):
                    break
                i += 1
        else:
            body.append("/* ... */" if ln.strip() == "..." else ln)   # "..." stands for the rest of a program
        i += 1
    return includes, funcs, body


def _insert_decl(text, decl):
    """decl after the last #include line of text (at the top when none)."""
    lines = text.split("\n")
    last = max([i for i, ln in enumerate(lines) if ln.startswith("#include")], default=-1)
    return "\n".join(lines[:last + 1] + [decl] + lines[last + 1:])


def _compile_and_run(block, env, source, prelude, ws):
    m = block.marker
    src = os.path.join(ws, "doc_example.c")
    with open(src, "w") as f:
        f.write(source)
    sources = [src]
    if prelude["tu"]:
        with open(os.path.join(ws, "prelude.c"), "w") as f:
            f.write(prelude["tu"])
        sources.append(os.path.join(ws, "prelude.c"))
    exe = os.path.join(ws, "doc_example")
    cmd = [env.cc] + CFLAGS + env.cflags() + ["-I", os.path.join(REPO, "include")] + sources + \
        ["-o", exe, "-L", env.build, "-Wl,-rpath," + env.build, "-lsecdet"]
    r = run(cmd, ws, env.environ(), timeout=120)
    if r.returncode != 0:
        fail(block, "it does not compile against include/secdet.h and %s/libsecdet.so:\n%s\n"
             "--- the source compiled (%s) ---\n%s" % (env.build, r.stderr, src, _numbered(source)),
             "fix the code in the block (a renamed function, a missing #include); the prelude "
             "(prelude=%s) is in tests/docs/checks_code.py" % m.opt("prelude", "none"))
    if m.flag("compile-only"):
        return None
    r = run([exe], ws, env.environ(), timeout=60)
    if r.returncode != 0:
        fail(block, "it compiles but exits %d when run in %s:\n%s" % (r.returncode, ws, show(r)),
             "fix the code, or mark it compile-only when it needs what is not here (a broker)")
    return r


def _numbered(text):
    return "\n".join("%4d  %s" % (i, ln) for i, ln in enumerate(text.split("\n"), 1))


def _prelude(block):
    name = block.marker.opt("prelude", "none")
    if name not in PRELUDES:
        fail(block, "no prelude %r" % name, "one of: " + ", ".join(PRELUDES))
    return PRELUDES[name]


def check_c_program(block, env):
    ws = env.workspace(block.id)
    p = _prelude(block)
    text = apply_maps(block.text, block.marker.opts.get("map", []), ws, env)
    r = _compile_and_run(block, env, _insert_decl(text, p["decl"]), p, ws)
    _expect_alerts(block, r)


def check_c_fragment(block, env):
    ws = env.workspace(block.id)
    p = _prelude(block)
    text = apply_maps(block.text, block.marker.opts.get("map", []), ws, env)
    includes, funcs, body = split_fragment(text)
    if not includes:   # a fragment without #include lines gets the usual ones; one with them, only those
        includes = ["#include <secdet.h>", "#include <stdio.h>", "#include <stdlib.h>", "#include <string.h>"]
    source = "\n".join(includes + [p["decl"]] + funcs + ["", "int main(void) {", p["start"]] + body +
                       [p["end"], "return 0;", "}", ""])
    r = _compile_and_run(block, env, source, p, ws)
    _expect_alerts(block, r)


def _expect_alerts(block, r):
    if r is None or not block.marker.flag("expect-alerts"):
        return
    alerts = []
    for ln in r.stdout.splitlines():
        try:
            alerts.append(json.loads(ln)["rule"])
        except (ValueError, KeyError, TypeError):
            pass
    if not alerts:
        fail(block, "the program printed no alert JSON line:\n%s" % show(r), "it should: fix the code")


# ---- CMake ------------------------------------------------------------------------

def check_cmake(block, env):
    """The block's lines in a consumer project: each target_link_libraries(app ...)
    line gets an executable of its own (examples/embed/embed.c), built against
    the installed prefix and run."""
    ws = env.workspace(block.id)
    out, n = ["cmake_minimum_required(VERSION 3.25)", "project(doc_example C)"], 0
    for ln in block.lines():
        if re.match(r"^\s*target_link_libraries\(app\b", ln):
            n += 1
            out.append("add_executable(app_%d embed.c)" % n)
            ln = ln.replace("(app", "(app_%d" % n, 1)
        out.append(ln)
    if n == 0:
        fail(block, "no target_link_libraries(app ...) line to build", "the block should link `app`")
    with open(os.path.join(ws, "CMakeLists.txt"), "w") as f:
        f.write("\n".join(out) + "\n")
    with open(os.path.join(REPO, "examples/embed/embed.c")) as src, open(os.path.join(ws, "embed.c"), "w") as dst:
        dst.write(src.read())
    flags = " ".join(env.cflags())
    cfg = ["cmake", "-S", ws, "-B", os.path.join(ws, "b"), "-G", "Ninja", "-DCMAKE_PREFIX_PATH=" + env.prefix(),
           "-DCMAKE_C_COMPILER=" + env.cc, "-DCMAKE_C_FLAGS=" + flags, "-DCMAKE_EXE_LINKER_FLAGS=" + flags]
    for cmd in (cfg, ["cmake", "--build", os.path.join(ws, "b")]):
        r = run(cmd, ws, env.environ(), timeout=300)
        if r.returncode != 0:
            fail(block, "`%s` failed for the project\n%s\n%s" % (" ".join(cmd), "\n".join(out), show(r)),
                 "fix the CMake lines (the installed package: cmake/secdetConfig.cmake.in)")
    for i in range(1, n + 1):
        r = run([os.path.join(ws, "b", "app_%d" % i)], ws, env.environ(), timeout=60)
        if r.returncode != 0:
            fail(block, "app_%d (embed.c, linked by line %d's target_link_libraries) failed:\n%s"
                 % (i, i, show(r)), "the installed package links something broken: tell the lead")


# ---- Python ----------------------------------------------------------------------------

PY_PRELUDES = {
    "none": ("", ""),
    "sinks": ("import secdet\nengine = secdet.Engine('rules/aws/cis.secdet')\n"
              "def my_fn(alert):\n    return None\n", "engine.close()\n"),
}


def python_with_secdet():
    """The interpreter that has the `secdet` package: SECDET_DOCS_PYTHON,
    else this one when it can import it, else None."""
    py = os.environ.get("SECDET_DOCS_PYTHON") or sys.executable
    r = subprocess.run([py, "-c", "import secdet"], capture_output=True, timeout=60, cwd="/")
    return py if r.returncode == 0 else None


def check_python_run(block, env, py):
    m = block.marker
    ws = env.workspace(block.id)
    fill_fixtures(ws, m.opts.get("fixture", []))
    pre, post = PY_PRELUDES.get(m.opt("prelude", "none"), ("", ""))
    code = pre + apply_maps(block.text, m.opts.get("map", []), ws, env) + "\n" + post
    with open(os.path.join(ws, "doc_example.py"), "w") as f:
        f.write(code)
    r = run([py, "doc_example.py"], ws, env.environ(), timeout=120)
    if r.returncode != 0:
        fail(block, "the Python code failed (%s doc_example.py in %s):\n%s" % (py, ws, show(r)),
             "fix the block, or the binding when the block is right (tell the lead)")


def _py_names():
    names = set()
    for f in glob.glob(os.path.join(REPO, "bindings/python/src/secdet/*.py")):
        with open(f) as fh:
            t = fh.read()
        names.update(re.findall(r"^\s*(?:def|class)\s+(\w+)", t, re.M))
        names.update(re.findall(r"^\s*(\w+)\s*(?::[^=\n]*)?=", t, re.M))
        names.update(re.findall(r"^\s{4}(\w+)\s*:", t, re.M))          # dataclass fields
        names.update(re.findall(r"[\"'](\w+)[\"']", t))                 # __all__, SinkResult names
    return names


def check_python_names(block):
    """Without the package: every engine./secdet./alert. name the block uses exists."""
    names = _py_names()
    used = set(re.findall(r"\b(?:engine|secdet|alert)\.(\w+)", block.text))
    missing = sorted(u for u in used if u not in names)
    if missing:
        fail(block, "names the Python binding does not have: %s" % ", ".join(missing),
             "fix the block (bindings/python/src/secdet/ is the binding)")


# ---- Go -------------------------------------------------------------------------------------

def check_go_api(block, env):
    src = ""
    for f in glob.glob(os.path.join(REPO, "bindings/go/secdet/*.go")):
        if not f.endswith("_test.go"):
            with open(f) as fh:
                src += fh.read() + "\n"
    with open(os.path.join(REPO, "bindings/go/go.mod")) as fh:
        module = re.search(r"^module\s+(\S+)", fh.read(), re.M).group(1)
    declared = set(re.findall(r"^func\s+(?:\([^)]*\)\s*)?(\w+)", src, re.M))
    declared |= set(re.findall(r"^(?:type|var|const)\s+(\w+)", src, re.M))
    declared |= set(re.findall(r"^\t(\w+)\b[^\n]*(?:=|\biota\b)", src, re.M))    # const/var blocks
    methods = set(re.findall(r"^func\s+\(\w+\s+\*?Engine\)\s+(\w+)", src, re.M))
    problems = []
    for imp in re.findall(r"import\s+\"([^\"]+)\"", block.text):
        if not imp.startswith(module + "/") or not os.path.isdir(
                os.path.join(REPO, "bindings/go", imp[len(module) + 1:])):
            problems.append("import %s: not a package of module %s" % (imp, module))
    text = re.sub(r"//[^\n]*", "", block.text)
    for n in sorted(set(re.findall(r"\bsecdet\.([A-Z]\w*)", text)) - declared):
        problems.append("secdet.%s: not declared in bindings/go/secdet" % n)
    for n in sorted(set(re.findall(r"\be\.([A-Z]\w*)\(", text)) - methods):
        problems.append("e.%s(): not a method of *Engine" % n)
    if problems:
        fail(block, "\n".join(problems), "fix the block (`go doc ./secdet` in bindings/go lists the API)")
    for sink in re.findall(r"\bAddSinkJSON\(`([^`]*)`\)", block.text):   # the sink JSON it passes
        config_check(block, env, sink, "sink")


# ---- mapped elsewhere -------------------------------------------------------------------------

COMMENT = {"c": "//", "go": "//", "python": "#", "sh": "#", "cmake": "#", "": "#"}


def check_contained_in(block, env):
    m = block.marker
    if len(m.args) != 1:
        fail(block, "contained-in names one file", "<!-- doc-test: contained-in PATH -- why -->")
    path = os.path.join(REPO, m.args[0])
    if not os.path.isfile(path):
        fail(block, "%s does not exist" % m.args[0], "name the file the block is taken from")
    with open(path) as f:
        have = code_lines(f.read(), COMMENT.get(block.info, "#"))
    want = code_lines(block.text, COMMENT.get(block.info, "#"))
    i = 0
    for w in want:
        while i < len(have) and have[i] != w:
            i += 1
        if i == len(have):
            fail(block, "this line (or its order) is not in %s:\n  %s" % (m.args[0], w),
                 "make the block and the file agree again")
        i += 1


def check_covered_by(block, env):
    m = block.marker
    if not m.args:
        fail(block, "covered-by names no test or script", "<!-- doc-test: covered-by PATH... -- why -->")
    for a in m.args:
        if not glob.glob(os.path.join(REPO, a)):
            fail(block, "covered-by names %s, which does not exist" % a, "name the test that runs the block")


def check_nothing(block, env):
    """manual, illustration: the reason is in the marker, the summary lists them."""

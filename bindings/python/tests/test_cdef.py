"""test_cdef.py — the declarations secdet_build.py gives cffi match include/secdet.h.

The extension's CDEF is written by hand. cffi's API mode compiles calls
against the real header, but it lays out a struct declared in full (without
``...;``) as the CDEF says, so a field added, removed, reordered or retyped
in the header would make Python read and write the wrong bytes, silently.
For every secdet_* struct of the CDEF this test compares, against a small C
program compiled with include/secdet.h: the field names in order (read from
the header's text), sizeof, and each field's offset and size; and for every
enum constant of the CDEF, its value. It needs the repository's header and a
C compiler (cc, or $CC), not the installed package.
"""
import importlib.util
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)
REPO = os.path.abspath(os.path.join(BINDING, "..", ".."))
HEADER = os.path.join(REPO, "include", "secdet.h")


def load_cdef(path=os.path.join(BINDING, "secdet_build.py")):
    spec = importlib.util.spec_from_file_location("secdet_build_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CDEF


def cdef_layout(cdef):
    """{struct: (sizeof, [(field, offset, size)])} and {enum constant: value} as cffi lays them out."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(cdef)
    structs, enums = {}, {}
    for name in ffi.list_types()[0]:
        if not name.startswith("secdet_"):
            continue
        t = ffi.typeof(name)
        if t.kind == "struct" and t.fields is not None:
            structs[name] = (ffi.sizeof(t), [(f, fld.offset, ffi.sizeof(fld.type)) for f, fld in t.fields])
        elif t.kind == "enum":
            enums.update(t.relements)
    return structs, enums


def header_fields(text, struct):
    """The field names of `typedef struct struct { ... } struct;` in the header, in order."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    m = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\}\s*%s\s*;" % (struct, struct), text, re.S)
    if m is None:
        return None
    names = []
    for decl in m.group(1).split(";"):
        decl = decl.strip()
        if not decl:
            continue
        fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)  # a function pointer
        if fn:
            names.append(fn.group(1))
            continue
        for part in decl.split(","):
            names.append(re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", part.strip()).group(1))
    return names


def c_layout(structs, enums, tmp_path):
    """The same figures from the C compiler, with the header."""
    cc = os.environ.get("CC") or "cc"
    if shutil.which(cc) is None:
        pytest.skip(f"no C compiler ({cc})")
    lines = ["#include <stdio.h>", "#include <stddef.h>", '#include "secdet.h"', "int main(void) {"]
    for s, (_, fields) in structs.items():
        lines.append(f'    printf("S {s} %zu\\n", sizeof({s}));')
        for f, _, _ in fields:
            lines.append(f'    printf("F {s} {f} %zu %zu\\n", offsetof({s}, {f}), sizeof((({s} *)0)->{f}));')
    for e in enums:
        lines.append(f'    printf("E {e} %lld\\n", (long long){e});')
    lines += ["    return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    r = subprocess.run([cc, "-std=c11", "-I", os.path.dirname(HEADER), str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, "the CDEF names something include/secdet.h does not have:\n" + r.stderr[-3000:]
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    got_structs, got_enums = {}, {}
    for line in out.splitlines():
        kind, *rest = line.split()
        if kind == "S":
            got_structs[rest[0]] = (int(rest[1]), [])
        elif kind == "F":
            got_structs[rest[0]][1].append((rest[1], int(rest[2]), int(rest[3])))
        else:
            got_enums[rest[0]] = int(rest[1])
    return got_structs, got_enums


def drift(cdef, tmp_path):
    """Every difference between the CDEF and the header, as lines of text."""
    with open(HEADER) as f:
        text = f.read()
    structs, enums = cdef_layout(cdef)
    assert len(structs) >= 10 and len(enums) >= 20  # the CDEF was read
    got_structs, got_enums = c_layout(structs, enums, tmp_path)
    problems = []
    for s, (size, fields) in structs.items():
        names = header_fields(text, s)
        if names is None:
            problems.append(f"{s}: not found in include/secdet.h as `typedef struct {s} {{...}} {s};`")
            continue
        if [f for f, _, _ in fields] != names:
            problems.append(f"{s}: fields {[f for f, _, _ in fields]} in the CDEF, {names} in the header")
        c_size, c_fields = got_structs[s]
        if size != c_size:
            problems.append(f"{s}: sizeof {size} in the CDEF, {c_size} in C")
        for mine, theirs in zip(fields, c_fields):
            if mine != theirs:
                problems.append(f"{s}.{mine[0]}: (offset, size) {mine[1:]} in the CDEF, {theirs[1:]} in C")
    for e, v in enums.items():
        if got_enums[e] != v:
            problems.append(f"{e}: {v} in the CDEF, {got_enums[e]} in the header")
    return problems


def test_cdef_matches_the_header(tmp_path):
    problems = drift(load_cdef(), tmp_path)
    assert not problems, "secdet_build.py's CDEF has drifted from include/secdet.h:\n" + "\n".join(problems)


@pytest.mark.parametrize("change", [
    # a field the header has not (a compile error of the layout program)
    ("    int failing;\n    char last_error[200];", "    int failing;\n    int failing2;\n    char last_error[200];"),
    # a field's type: offsets after it move
    ("    uint32_t max_samples;\n    int64_t lateness_ms;", "    uint64_t max_samples;\n    int64_t lateness_ms;"),
    # two fields swapped: same size, same offsets' set
    ("    uint64_t evicted;\n    uint64_t groups;", "    uint64_t groups;\n    uint64_t evicted;"),
    # a field left out at the end: only the header's field list tells
    ("    uint64_t text_events;\n    uint64_t time_unreadable;\n} secdet_stats;",
     "    uint64_t text_events;\n} secdet_stats;"),
    # an enum value
    ("SECDET_ERR_TIMEOUT = 9", "SECDET_ERR_TIMEOUT = 10"),
])
def test_a_drift_is_found(tmp_path, change):
    old, new = change
    cdef = load_cdef()
    assert cdef.count(old) == 1
    try:
        problems = drift(cdef.replace(old, new), tmp_path)
    except AssertionError as err:  # the layout program did not compile
        problems = [str(err)]
    assert problems

"""The habits CI keeps: every C file of the tree as .clang-format says
(clang-format --dry-run --Werror), and cppcheck (warning and portability
checks) without a finding in src/, each exception justified inline with a
cppcheck-suppress comment. Each check is also shown to refuse a bad file."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
PATTERNS = ["src/**/*.c", "src/**/*.h", "include/*.h", "tests/unit/*.c", "tests/unit/*.h", "fuzz/*.c", "fuzz/*.h",
            "bench/*.c", "examples/embed/*.c"]
CPPCHECK = ["cppcheck", "--quiet", "--enable=warning,portability", "--inline-suppr", "--std=c11", "--error-exitcode=1",
            "-I", str(ROOT / "include"), "-I", str(ROOT / "src"),
            # mem.c asks __has_include about valgrind's header, which cppcheck cannot evaluate
            "--suppress=preprocessorErrorDirective:*/correlate/mem.c"]


def c_files():
    return sorted({p for pat in PATTERNS for p in ROOT.glob(pat)})


def need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed (tools/install-deps.sh installs it)")


def test_every_c_file_is_formatted():
    need("clang-format")
    files = c_files()
    assert len(files) > 100
    r = subprocess.run(["clang-format", "--dry-run", "--Werror", *map(str, files)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, "run clang-format -i on these:\n" + r.stderr[:4000]


def test_a_badly_formatted_file_is_refused(tmp_path):
    need("clang-format")
    bad = tmp_path / "bad.c"
    bad.write_text("int   f( void ){return 1;}\n")
    shutil.copy(ROOT / ".clang-format", tmp_path / ".clang-format")
    r = subprocess.run(["clang-format", "--dry-run", "--Werror", str(bad)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0


def test_cppcheck_finds_nothing_in_src():
    need("cppcheck")
    r = subprocess.run(CPPCHECK + ["-j2", str(ROOT / "src")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[:4000]


def test_cppcheck_does_find_a_leak(tmp_path):
    need("cppcheck")
    (tmp_path / "leak.c").write_text("#include <stdlib.h>\nint f(void) { char *p = malloc(4); if (!p) return 1; "
                                     "p[0] = 0; return 0; }\n")
    r = subprocess.run(CPPCHECK + [str(tmp_path / "leak.c")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "memleak" in r.stderr, r.stderr

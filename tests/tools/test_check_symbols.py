"""tools/check_symbols.py: every global symbol of libsecdet.a is secdet_ or
sd_, the shared library exports only secdet_, and the checker refuses an
archive that breaks the rule."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "tools" / "check_symbols.py"
BUILD = pathlib.Path(os.environ.get("SECDET_BIN", ROOT / "build" / "secdet")).resolve().parent


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_the_library_keeps_one_namespace():
    archive, shared = BUILD / "libsecdet.a", BUILD / "libsecdet.so"
    if not archive.exists():
        pytest.skip(f"no {archive} (build the library first)")
    r = run(archive, shared) if shared.exists() else run(archive)
    assert r.returncode == 0, r.stdout
    assert " 0 problems" in r.stdout


def test_a_symbol_without_the_prefix_is_refused(tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc or not shutil.which("ar"):
        pytest.skip("no C compiler or ar")
    (tmp_path / "a.c").write_text("int sd_fine(void) { return 1; }\nint emit(void) { return 2; }\n"
                                  "static int hidden(void) { return 3; }\nint secdet_ok(void) { return hidden(); }\n")
    subprocess.run([cc, "-c", "-o", str(tmp_path / "a.o"), str(tmp_path / "a.c")], check=True)
    subprocess.run(["ar", "rcs", str(tmp_path / "liba.a"), str(tmp_path / "a.o")], check=True)
    r = run(tmp_path / "liba.a")
    assert r.returncode == 1
    assert "emit: not secdet_ or sd_" in r.stdout
    assert "sd_fine" not in r.stdout and "hidden" not in r.stdout and "secdet_ok" not in r.stdout

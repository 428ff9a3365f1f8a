"""tools/check_layers.py: the one-way rule over #include lines holds for src/,
and the checker does refuse what the rule forbids."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "tools" / "check_layers.py"


def run(src):
    return subprocess.run([sys.executable, str(SCRIPT), str(src)], capture_output=True, text=True, timeout=60)


def tree(tmp_path, files):
    for name, text in files.items():
        p = tmp_path / "src" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path / "src"


def test_the_sources_keep_the_rule():
    r = run(ROOT / "src")
    assert r.returncode == 0, r.stdout


def test_an_include_from_a_layer_above_is_refused(tmp_path):
    src = tree(tmp_path, {"correlate/a.c": '#include "engine/engine.h"\n', "engine/engine.h": ""})
    r = run(src)
    assert r.returncode == 1
    assert "correlate/ includes engine/engine.h, a layer above it" in r.stdout


def test_outer_parts_see_only_the_narrow_headers(tmp_path):
    src = tree(tmp_path, {"io/a.c": '#include "engine/outer.h"\n#include "engine/engine.h"\n',
                          "cli/b.c": '#include "kafka/kafka.h"\n#include "kafka/kafka_int.h"\n'})
    r = run(src)
    assert r.returncode == 1
    assert "io/ includes engine/engine.h: from engine/ the layers above the engine may include only engine/outer.h" \
        in r.stdout
    assert "cli/ includes kafka/kafka_int.h" in r.stdout
    assert "engine/outer.h" not in r.stdout.split("includes engine/engine.h")[0].split("\n")[-1]
    assert r.stdout.count("\n") == 3  # two problems and the summary


def test_lower_layers_and_the_public_header_are_fine(tmp_path):
    src = tree(tmp_path, {"sink/a.c": '#include "secdet.h"\n#include "alert/alert.h"\n#include "util/buf.h"\n'})
    assert run(src).returncode == 0

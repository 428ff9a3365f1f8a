#!/usr/bin/env python3
"""check_layers.py — the one-way rule of docs/architecture.md, checked over
the #include lines of src/.

The folders of src/ are layers, lowest first. A file may include files of
its own folder, of the folders below it, and the public header; nothing
from a folder above it. The parts that drive the engine from outside (io,
kafka, the programs) see it only through engine/outer.h, and the command
sees the Kafka input only through kafka/kafka.h.

usage: tools/check_layers.py [SRC_DIR]     exit 0 when every include is allowed
"""
import pathlib
import re
import sys

# Lowest first; each may include the ones before it.
ORDER = ["util", "event", "vm", "lang", "sql", "correlate", "alert", "sink", "engine", "io", "kafka", "s3", "lambda", "cli"]

# Folders above the engine see only these of the folders named (what they
# drive); the rest of such a folder is its own business.
NARROW = {
    "engine": {"engine/outer.h"},
    "kafka": {"kafka/kafka.h"},
    "io": set(),
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(path, src):
    rel = path.relative_to(src)
    return rel.parts[0] if len(rel.parts) > 1 else None


def check(src):
    problems = []
    rank = {name: i for i, name in enumerate(ORDER)}
    for path in sorted(src.rglob("*.[ch]")):
        here = folder_of(path, src)
        if here is None:
            problems.append(f"{path}: a file directly in src/; every file belongs to a layer's folder")
            continue
        if here not in rank:
            problems.append(f"{path}: folder '{here}' is not a layer of tools/check_layers.py (ORDER)")
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue  # "secdet.h", or a file beside it
            target = m.group(1)
            there = target.split("/")[0]
            if there == here:
                continue
            where = f"{path}:{lineno}: {here}/ includes {target}"
            if there not in rank:
                problems.append(f"{where}: not a layer")
            elif rank[there] > rank[here]:
                problems.append(f"{where}, a layer above it (the order is {' < '.join(ORDER)})")
            elif there in NARROW and rank[here] > rank["engine"] and target not in NARROW[there]:
                allowed = ", ".join(sorted(NARROW[there])) or "nothing"
                problems.append(f"{where}: from {there}/ the layers above the engine may include only {allowed}")
    return problems


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "src")
    problems = check(src)
    for p in problems:
        print(p)
    n = sum(1 for _ in src.rglob("*.[ch]"))
    print(f"check_layers: {n} files, {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

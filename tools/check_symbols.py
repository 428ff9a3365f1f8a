#!/usr/bin/env python3
"""check_symbols.py — one namespace: every global symbol libsecdet.a defines
starts with secdet_ (the public API) or sd_ (everything else), so a program
that links the static library meets no name of ours that it could clash
with; and the shared library exports secdet_ names only.

usage: tools/check_symbols.py LIBSECDET.a [LIBSECDET.so]   exit 0 when clean
"""
import subprocess
import sys


def defined_globals(path, dynamic=False):
    cmd = ["nm", "-g", "--defined-only"] + (["-D"] if dynamic else []) + [path]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    names = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRCVWG" and parts[1] not in "UVW":
            names.append(parts[2])
        elif len(parts) == 3 and parts[1] in ("V", "W"):
            names.append(parts[2])
    return names


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    problems = []
    static = defined_globals(sys.argv[1])
    problems += [f"{sys.argv[1]}: {n}: not secdet_ or sd_" for n in static if not n.startswith(("secdet_", "sd_"))]
    exported = []
    if len(sys.argv) > 2:
        exported = defined_globals(sys.argv[2], dynamic=True)
        problems += [f"{sys.argv[2]}: exports {n}" for n in exported if not n.startswith("secdet_")]
    for p in problems:
        print(p)
    print(f"check_symbols: {len(static)} global symbols in the archive, {len(exported)} exported, "
          f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""package.py — builds the deployable Lambda zip for `bootstrap`.

The zip holds: bootstrap (mode 755), lib/ with every shared library ldd
lists for it except the C library and loader the Lambda OS provides, rules/
(the *.secdet files of --rules, tree kept), and secdet.json when --config is
given. bootstrap finds lib/ through its RUNPATH ($ORIGIN/lib).
"""
import argparse
import os
import re
import subprocess
import sys
import zipfile

# Provided by every Lambda OS-only runtime (provided.al2023): glibc and the loader.
SYSTEM = re.compile(r"^(ld-linux.*|libc\.so.*|libm\.so.*|libpthread\.so.*|libdl\.so.*|librt\.so.*|libresolv\.so.*|linux-vdso.*)$")


def shared_libs(binary):
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True, timeout=60).stdout
    libs = []
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)\s+\(", line)
        if m and not SYSTEM.match(m.group(1)):
            libs.append((m.group(1), m.group(2)))
        elif "not found" in line:
            sys.exit("package.py: missing library: " + line.strip())
    return libs


def add(z, path, arcname, mode):
    info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(path, "rb") as f:
        z.writestr(info, f.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--config")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    tmp = a.out + ".tmp"
    with zipfile.ZipFile(tmp, "w") as z:
        add(z, a.bootstrap, "bootstrap", 0o755)
        for soname, path in shared_libs(a.bootstrap):
            add(z, os.path.realpath(path), "lib/" + soname, 0o755)
        for root, dirs, files in os.walk(a.rules):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".secdet"):
                    p = os.path.join(root, f)
                    add(z, p, "rules/" + os.path.relpath(p, a.rules), 0o644)
        if a.config:
            add(z, a.config, "secdet.json", 0o644)
    os.replace(tmp, a.out)
    print("package.py: wrote", a.out)


if __name__ == "__main__":
    main()

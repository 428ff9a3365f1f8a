"""test_state_memory.py — the correlation state cap caps memory (issue 15).

`secdet scan --max-state MIB` over millions of events with distinct group
keys: the state reaches the cap, the least recently seen groups are evicted
all the time, and the peak RSS of the process must stay within 1.25 times the
cap plus the engine's fixed size (the same scan over a tiny input). Before the
fix the drain of a full reorder buffer held up to three times the cap for a
moment, and the heap kept it: 157 MiB at 64 MiB.

The events (bench/gen_distinct_keys.py: 1,000 a second of event time, so the
default lateness of 15 minutes fills the cap with held records first) go to
stdin as they are generated, no file. Peak RSS is taken by
bench/rusage.c, built here with the C compiler: a process forked from Python
would carry Python's own peak into the child's (Linux keeps the high-water
mark across exec). It is a memory assertion, not a timing one; under
AddressSanitizer (whose allocator keeps freed memory in quarantine) it is
skipped.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from secdet_cli import REPO

RULES = """rule distinct_keys {
    where exists .k
    count >= 3 within 1h by .k
    output "{count} events of {group}"
}
"""
CAP_MIB = 64
EVENTS = 2_000_000


def is_sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


@pytest.fixture(scope="module")
def rusage(tmp_path_factory):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.skip("no C compiler to build bench/rusage.c")
    out = tmp_path_factory.mktemp("rusage") / "rusage"
    subprocess.run([cc, "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
                    str(REPO / "bench" / "rusage.c"), "-o", str(out)], check=True)
    return out


def scan_peak(secdet, rusage, tmp_path, n):
    """secdet scan over n events of bench/gen_distinct_keys.py on stdin: (peak RSS in KiB, stderr)."""
    rules = tmp_path / "distinct.secdet"
    rules.write_text(RULES)
    res = tmp_path / ("rusage.%d" % n)
    err = tmp_path / ("stderr.%d" % n)
    gen = subprocess.Popen([sys.executable, str(REPO / "bench" / "gen_distinct_keys.py"), "-n", str(n), "-o", "-"],
                           stdout=subprocess.PIPE)
    with open(err, "wb") as errf:
        rc = subprocess.run([str(rusage), str(res), str(secdet), "scan", "--output", "json", "--no-progress",
                             "--max-state", str(CAP_MIB), "--rules", str(rules), "-"],
                            stdin=gen.stdout, stdout=subprocess.DEVNULL, stderr=errf, timeout=300).returncode
    gen.stdout.close()
    assert gen.wait(timeout=60) == 0
    text = err.read_text()
    assert rc == 0, "secdet scan exited %d:\n%s" % (rc, text[-4000:])
    return int(res.read_text().split()[0]), text


def test_peak_rss_stays_within_the_state_cap(secdet, rusage, tmp_path, summary):
    if is_sanitized(secdet):
        pytest.skip("AddressSanitizer build: its allocator changes RSS")
    fixed_kib, _ = scan_peak(secdet, rusage, tmp_path, 1000)
    peak_kib, err = scan_peak(secdet, rusage, tmp_path, EVENTS)
    m = re.search(r"scanned (\d+) events", err)
    assert m and int(m.group(1)) == EVENTS, err[-2000:]
    m = re.search(r"(\d+) correlation groups evicted", err)
    assert m and int(m.group(1)) > EVENTS // 2, "the cap was never reached:\n" + err[-2000:]
    bound_kib = 1.25 * CAP_MIB * 1024 + fixed_kib
    summary.append("state cap %d MiB, %d distinct keys: peak RSS %.1f MiB (fixed size %.1f MiB, bound %.1f MiB)"
                   % (CAP_MIB, EVENTS, peak_kib / 1024, fixed_kib / 1024, bound_kib / 1024))
    assert peak_kib <= bound_kib, (
        "peak RSS %.1f MiB over 1.25 x %d MiB + the fixed %.1f MiB = %.1f MiB"
        % (peak_kib / 1024, CAP_MIB, fixed_kib / 1024, bound_kib / 1024))

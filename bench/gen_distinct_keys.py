#!/usr/bin/env python3
"""gen_distinct_keys.py — JSON lines whose every event has a group key of its own.

The worst case for the correlation state cap (bench/state_mem_bench.sh):
with `count ... by .k` every event makes a new group, so once the state
reaches the cap every new group evicts an old one, and with the default
lateness (15 minutes) the reorder buffer fills the cap first and is applied
early. Event times advance --per-second events a second, in order.

    gen_distinct_keys.py -n 5000000 -o keys.jsonl   # or -o - for stdout

A file is rewritten only when its stamp (the arguments) changed.
"""

import argparse
import os
import sys


def write(f, n, per_second):
    batch = []
    for i in range(n):
        s = i // per_second
        batch.append('{"eventTime":"2024-01-01T%02d:%02d:%02dZ","k":"key-%d"}\n'
                     % (s // 3600 % 24, s // 60 % 60, s % 60, i))
        if len(batch) == 10000:
            f.write("".join(batch))
            batch.clear()
    f.write("".join(batch))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--events", type=int, default=5_000_000)
    ap.add_argument("--per-second", type=int, default=1000, help="events a second of event time")
    ap.add_argument("-o", "--output", required=True, help="a file, or - for stdout")
    a = ap.parse_args()
    if a.events < 1 or a.per_second < 1 or a.events // a.per_second >= 86400:
        ap.error("need events >= 1, per-second >= 1, and less than a day of event time")
    if a.output == "-":
        write(sys.stdout, a.events, a.per_second)
        return 0
    stamp = "%s events=%d per_second=%d\n" % (os.path.basename(__file__), a.events, a.per_second)
    stamp_path = a.output + ".stamp"
    if os.path.exists(a.output) and os.path.exists(stamp_path):
        with open(stamp_path) as s:
            if s.read() == stamp:
                print("%s: up to date" % a.output, file=sys.stderr)
                return 0
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        write(f, a.events, a.per_second)
    os.replace(tmp, a.output)
    with open(stamp_path, "w") as s:
        s.write(stamp)
    print("%s: %d events, each its own key" % (a.output, a.events), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""scan_dir.py — scan a directory of CloudTrail logs with the CIS pack; print a summary.

    python3 examples/python/scan_dir.py DIR [--rules RULES]

Every file below DIR whose name ends in .json or .json.gz (CloudTrail writes
one gzip file every few minutes per region) is scanned, in path order, as
one stream, and the alerts are summed up per rule: a table of rule,
severity and count, most severe first.
"""
import argparse
import collections
import os
import sys

import secdet

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RULES = os.path.join(HERE, "..", "..", "rules", "aws", "cis.secdet")


def cloudtrail_files(top):
    found = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        found += [os.path.join(root, n) for n in files if n.endswith((".json", ".json.gz"))]
    return sorted(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory")
    ap.add_argument("--rules", default=DEFAULT_RULES, help="rule file or directory (default: the CIS pack)")
    args = ap.parse_args()

    files = cloudtrail_files(args.directory)
    if not files:
        sys.exit(f"scan_dir: no .json or .json.gz files below {args.directory}")

    counts = collections.Counter()
    severity = {}
    try:
        with secdet.Engine(args.rules) as engine:
            for alert in engine.scan(files):
                counts[alert.rule] += 1
                severity[alert.rule] = alert.severity
            stats = engine.stats()
    except secdet.RuleError as err:
        sys.exit(str(err))

    rows = sorted(counts.items(), key=lambda kv: (-severity[kv[0]], -kv[1], kv[0]))
    width = max([len("rule")] + [len(r) for r in counts])
    print(f"{'rule':<{width}}  {'severity':<8}  {'count':>7}")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 7}")
    for rule, n in rows:
        print(f"{rule:<{width}}  {str(severity[rule]):<8}  {n:>7}")
    print(f"\n{len(files)} files, {stats.events} events ({stats.malformed} malformed), "
          f"{sum(counts.values())} alerts from {len(counts)} rules")


if __name__ == "__main__":
    main()

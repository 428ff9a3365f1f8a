#!/usr/bin/env python3
"""make_input.py — build the benchmark's JSON-lines input from real CloudTrail.

Flattens the Records of every CloudTrail log file under SRC_DIR (sorted by
name, so the order is stable) into one compact JSON object per line, then
repeats that sequence until OUT holds exactly N lines.  Also writes the
first `--prefix` lines as separate files (OUT with the line count in its
name) so the slow and the memory measurements read the same events, and
with `--documents PATH` the same N records as CloudTrail log files
({"Records": [...]} of DOC_RECORDS records each), one document a line, as
`cat` of log files gives them.

Promise: the output depends only on the source files and N; when OUT exists
and its stamp file says it was made from the same sources and N, nothing is
rewritten (a 1M-line input is ~1.3 GB; rewriting it every run wastes a minute).
"""
import argparse
import hashlib
import json
import os
import sys


def load_records(src_dir):
    names = sorted(n for n in os.listdir(src_dir) if n.endswith(".json"))
    lines = []
    digest = hashlib.sha256()
    for name in names:
        with open(os.path.join(src_dir, name), "rb") as f:
            raw = f.read()
        digest.update(name.encode() + b"\0" + raw)
        doc = json.loads(raw)
        for rec in doc.get("Records", []):
            # Compact and byte-for-byte stable: the same event text every repeat.
            lines.append(json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
    return lines, digest.hexdigest()


def write_lines(path, lines, n):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        block = "\n".join(lines) + "\n"
        full, rest = divmod(n, len(lines))
        for _ in range(full):
            f.write(block)
        if rest:
            f.write("\n".join(lines[:rest]) + "\n")
    os.replace(tmp, path)


def write_documents(path, lines, n, per_doc):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        done = 0
        while done < n:
            take = min(per_doc, n - done)
            recs = [lines[(done + k) % len(lines)] for k in range(take)]
            f.write('{"Records":[' + ",".join(recs) + "]}\n")
            done += take
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src_dir", help="directory of CloudTrail *.json log files")
    ap.add_argument("out", help="output .jsonl path (N lines)")
    ap.add_argument("-n", "--lines", type=int, default=1_000_000)
    ap.add_argument("--prefix", type=int, action="append", default=[],
                    help="also write the first K lines to OUT-with-K (repeatable)")
    ap.add_argument("--documents", metavar="PATH",
                    help="also write the N records as CloudTrail documents, one a line, to PATH")
    ap.add_argument("--doc-records", type=int, default=1000, metavar="DOC_RECORDS",
                    help="records per document (default 1000)")
    args = ap.parse_args()

    lines, digest = load_records(args.src_dir)
    if not lines:
        sys.exit(f"make_input: no CloudTrail records under {args.src_dir}")

    targets = [(args.out, args.lines)]
    base, ext = os.path.splitext(args.out)
    for k in args.prefix:
        targets.append((f"{base}.{k}{ext}", k))

    if args.documents:
        targets.append((args.documents, args.lines))

    for path, n in targets:
        documents = path == args.documents
        stamp_path = path + ".stamp"
        stamp = f"{digest} {n}" + (f" documents of {args.doc_records}" if documents else "") + "\n"
        try:
            with open(stamp_path) as f:
                if f.read() == stamp and os.path.exists(path):
                    print(f"make_input: {path} up to date ({n} lines)")
                    continue
        except FileNotFoundError:
            pass
        if documents:
            write_documents(path, lines, n, args.doc_records)
        else:
            write_lines(path, lines, n)
        with open(stamp_path, "w") as f:
            f.write(stamp)
        print(f"make_input: wrote {path} ({n} {'records' if documents else 'lines'} from {len(lines)} records)")


if __name__ == "__main__":
    main()

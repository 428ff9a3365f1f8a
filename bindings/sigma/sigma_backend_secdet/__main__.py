"""secdet sigma convert RULES... [-o DIR] [--placeholders FILE] [--logsource SEL:SOURCE]... [--pipeline FILE]...
[--report FILE]

Converts Sigma rule files (and directories of *.yml) into secdet rule files:
one `.secdet` per Sigma file in DIR (or all on stdout). Every refused rule
is said on stderr with its id and reason. Exit 0 when all converted, 1 when
some were refused, 2 on a usage error.
"""
import argparse
import json
import os
import sys

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError

from sigma.backends.secdet.convert import convert_collection, lists_text
from sigma.backends.secdet.fieldmap import FieldMap, PipelineNotSupported
from sigma.pipelines.secdet import parse_logsource_map


def sigma_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith((".yml", ".yaml")):
                        yield os.path.join(root, f)
        else:
            yield p


def ids_in(path):
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        return [(str(d.get("id") or d.get("name") or "-"), str(d.get("title") or "-")) for d in docs] or [("-", "-")]
    except Exception:
        return [("-", "-")]


def load_pipelines(paths):
    """The YAML processing pipelines, one after the other, or None."""
    from sigma.processing.pipeline import ProcessingPipeline
    out = None
    for path in paths:
        with open(path, encoding="utf-8") as f:
            p = ProcessingPipeline.from_yaml(f.read())
        out = p if out is None else out + p
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="secdet sigma convert", description=__doc__.split("\n\n")[1])
    ap.add_argument("command", choices=["convert"])
    ap.add_argument("rules", nargs="+", help="Sigma .yml files or directories")
    ap.add_argument("-o", "--output", help="directory for the .secdet files (default: stdout)")
    ap.add_argument("--placeholders", help="JSON file: placeholder name -> list of values (for |expand)")
    ap.add_argument("--logsource", metavar="SEL:SOURCE", action="append", default=[],
                    help="rules of a logsource with no secdet log type that SEL (KEY=VALUE[,KEY=VALUE...], "
                         "KEY category, product or service) matches become `on SOURCE`, fields as written; "
                         "repeatable, the first match wins (e.g. product=windows:jsonl)")
    ap.add_argument("--other-source", metavar="NAME",
                    help="any other logsource with no secdet log type becomes `on NAME`, its fields as written")
    ap.add_argument("--pipeline", metavar="FILE", action="append", default=[],
                    help="a pySigma processing pipeline (YAML) of field-name mappings for the rules of "
                         "--logsource / --other-source (repeatable, applied in order)")
    ap.add_argument("--report", help="write one JSON line per Sigma rule: id, title, source, status, reason")
    args = ap.parse_args(argv)
    try:
        logsource_map = parse_logsource_map(args.logsource)
    except ValueError as e:
        ap.error(str(e))
    try:
        field_map = FieldMap(load_pipelines(args.pipeline))
    except (OSError, yaml.YAMLError, PipelineNotSupported, SigmaError) as e:
        ap.error(f"--pipeline: {e}")
    placeholders = {}
    if args.placeholders:
        with open(args.placeholders, encoding="utf-8") as f:
            placeholders = json.load(f)
    files = list(sigma_files(args.rules))
    if not files:
        print("secdet sigma convert: no Sigma files in " + " ".join(args.rules), file=sys.stderr)
        return 2
    # One collection, so a correlation in one file finds its rules in another;
    # a file pySigma cannot load is refused whole, the others go on.
    loaded, results = [], []
    for path in files:
        try:
            # references are resolved once all files are read
            loaded.append(SigmaCollection.load_ruleset([path], resolve_references=False))
        except Exception as e:
            for rid, title in ids_in(path):
                results.append({"id": rid, "title": title, "source": path, "status": "refused",
                                "reason": f"not loadable by pySigma: {e}"})
    texts, lists = {}, {}
    if loaded:
        try:
            coll = SigmaCollection.merge(loaded, resolve_references=False)
            coll.resolve_rule_references()
            groups = [coll]
        except Exception:
            # a reference that resolves nowhere: convert file by file, so
            # only the file that holds it is refused
            groups = loaded
        for c in groups:
            try:
                c.resolve_rule_references()
                t, conv, ls = convert_collection(c, placeholders, args.other_source, logsource_map, field_map)
            except Exception as e:
                for r in c.rules:
                    src = str(r.source.path) if r.source is not None else "-"
                    results.append({"id": str(r.id or r.name or r.title), "title": r.title, "source": src,
                                    "status": "refused", "reason": f"{type(e).__name__}: {e}"})
                continue
            texts.update(t)
            lists.update(ls)
            results += conv
    head = lists_text(lists)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        if head:
            with open(os.path.join(args.output, "sigma_placeholders.secdet"), "w", encoding="utf-8") as f:
                f.write("# lists bound to Sigma placeholders (--placeholders)\n" + head)
        for src, rules in texts.items():
            out = os.path.join(args.output, os.path.splitext(os.path.basename(src))[0] + ".secdet")
            with open(out, "w", encoding="utf-8") as f:
                f.write(f"# converted from Sigma: {os.path.basename(src)} (pysigma-backend-secdet)\n\n")
                f.write("\n".join(rules))
    else:
        sys.stdout.write(head + ("\n" if head else "") + "\n".join("\n".join(r) for r in texts.values()))
    refused = [r for r in results if r["status"] == "refused"]
    for r in refused:
        print(f"refused {r['id']} ({r['source']}): {r['reason']}", file=sys.stderr)
    for e in logsource_map:
        if not e.used:
            print(f"secdet sigma convert: --logsource {e.spec} matched no rule "
                  "(it applies to a logsource without a secdet log type that no earlier --logsource matched)",
                  file=sys.stderr)
    print(f"secdet sigma convert: {len(results) - len(refused)} converted, {len(refused)} refused",
          file=sys.stderr)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps({k: v for k, v in r.items() if k != "rule"}) + "\n")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())

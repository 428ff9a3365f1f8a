"""Sigma rules (pySigma objects) -> secdet rule text, or a refusal.

Promise: every rule either becomes secdet rules whose meaning is the Sigma
rule's (case-insensitive by default, wildcards, lists OR, maps AND), or is
refused with its id and the reason. Nothing is approximated.
"""
import json
import re

from sigma.conditions import (ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT,
                              ConditionOR, ConditionValueExpression)
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule, SigmaCorrelationType
from sigma.pipelines.secdet import (Refused, as_written, logsource_of, map_field, parse_logsource_map,
                                    source_text, user_logsource)
from sigma.rule import SigmaRule
from sigma.types import (CompareOperators, Placeholder, SigmaBool, SigmaCasedString, SigmaCIDRExpression,
                         SigmaCompareExpression, SigmaExists, SigmaExpansion, SigmaFieldReference, SigmaNull,
                         SigmaNumber, SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString,
                         SpecialChars)

try:
    from sigma.types import SigmaTimestampPart
except ImportError:  # older pySigma has no timestamp modifiers
    SigmaTimestampPart = None

SEVERITY = {"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
KEYWORDS = set("""list macro rule meta on where count distinct sum sequence within by throttle output private
and or not in cidr contains startswith endswith like matches exists lower upper len coalesce icontains
istartswith iendswith ilike b64decode text hour weekday true false null tune disable""".split())


def lit(s):
    if "\x00" in s:
        raise Refused("a value holds U+0000 (utf16/wide without base64), which a secdet string cannot")
    return json.dumps(s, ensure_ascii=False)


def duration(seconds):
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


def label(rule):
    """How a message names a rule: its name, else id, else title."""
    return rule.name or (str(rule.id) if rule.id else None) or rule.title


def ident(text, fallback="sigma_rule"):
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text or "").strip("_").lower()
    if not name:
        name = fallback
    if name[0].isdigit():
        name = "r_" + name
    if name in KEYWORDS:
        name += "_"
    return name


class Converter:
    def __init__(self, placeholders=None, other_source=None, logsource_map=None, field_map=None):
        self.placeholders = placeholders or {}
        self.other_source = other_source
        self.field_map = field_map      # a FieldMap (fieldmap.py): a pipeline's field renames, or None
        # a list of LogsourceEntry, or the specs to parse (ValueError)
        if logsource_map and not all(hasattr(e, "selector") for e in logsource_map):
            logsource_map = parse_logsource_map(logsource_map)
        self.logsource_map = logsource_map or []
        self.lists = {}      # list name -> values, for expand placeholders
        self.names = {}      # id(rule) -> secdet name
        self.used = set()

    def logsource(self, rule):
        try:
            ls = logsource_of(rule)
        except Refused:
            # --logsource SEL:SOURCE, then --other-source: the user says the
            # events of that source are this logsource's; fields are taken
            # as they are written, or as the user's pipeline renames them.
            ls = user_logsource(self.logsource_map, rule)
            if ls is None:
                if self.other_source is None:
                    raise
                ls = {"on": source_text(self.other_source), "fields": as_written}
            if self.field_map:
                ls["fields"] = lambda f: as_written(self.field_map.map(rule, f))
            return ls
        if self.field_map:
            # the backend maps this log type's fields itself: a pipeline
            # renaming one of them refuses the rule rather than map twice
            def guard(f):
                if self.field_map.map(rule, f) != f:
                    raise Refused(f"the processing pipeline renames field '{f}' of a rule of log type "
                                  f"{ls['on']}, whose fields the backend maps itself")
            inner = ls["fields"]
            ls = dict(ls, guard=guard, fields=lambda f: (guard(f), inner(f))[1])
        return ls

    # ---- names -------------------------------------------------------
    def name_of(self, rule):
        key = id(rule)
        if key not in self.names:
            base = ident(rule.name or rule.title)
            name, i = base, 2
            while name in self.used:
                name, i = f"{base}_{i}", i + 1
            self.used.add(name)
            self.names[key] = name
        return self.names[key]

    # ---- values ------------------------------------------------------
    def string_test(self, path, s, cased):
        parts = list(s.s)
        if any(isinstance(p, Placeholder) for p in parts):
            return self.placeholder_test(path, parts, cased)
        lead = bool(parts) and parts[0] == SpecialChars.WILDCARD_MULTI
        trail = len(parts) > 1 and parts[-1] == SpecialChars.WILDCARD_MULTI
        core = parts[(1 if lead else 0):(len(parts) - 1 if trail else len(parts))]
        i = "" if cased else "i"
        if all(isinstance(p, str) for p in core):
            text = "".join(core)
            if lead and trail:
                return f"{path} {i}contains {lit(text)}"
            if lead:
                return f"{path} {i}endswith {lit(text)}"
            if trail:
                return f"{path} {i}startswith {lit(text)}"
            if cased:
                return f"{path} == {lit(text)}"
            return self.equals_ci(path, text)
        glob = ""
        for p in parts:
            if p == SpecialChars.WILDCARD_MULTI:
                glob += "*"
            elif p == SpecialChars.WILDCARD_SINGLE:
                glob += "?"
            elif "*" in p or "?" in p:
                raise Refused(f"an escaped wildcard inside a pattern ('{s}'): secdet globs cannot escape * or ?")
            else:
                glob += p
        return f"{path} {i}like {lit(glob)}"

    def equals_ci(self, path, text):
        # Sigma compares values as text: 'true' and '5' also match the JSON
        # boolean and number; secdet never coerces, so say both.
        alts = [f"{path} =~ {lit(text)}"]
        if text.lower() in ("true", "false"):
            alts.append(f"{path} == {text.lower()}")
        elif re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", text):
            alts.append(f"{path} == {text}")
        return alts[0] if len(alts) == 1 else "(" + " or ".join(alts) + ")"

    def placeholder_test(self, path, parts, cased):
        core = [p for p in parts if p != SpecialChars.WILDCARD_MULTI]
        if len(core) != 1 or not isinstance(core[0], Placeholder):
            raise Refused("a placeholder inside a longer value: secdet lists hold whole values")
        name = ident(core[0].name, "placeholder")
        if core[0].name not in self.placeholders:
            raise Refused(f"placeholder %{core[0].name}% is not bound to values (--placeholders FILE)")
        self.lists[name] = [str(v) for v in self.placeholders[core[0].name]]
        lead, trail = parts[0] == SpecialChars.WILDCARD_MULTI, parts[-1] == SpecialChars.WILDCARD_MULTI
        i = "" if cased else "i"
        op = {(True, True): f"{i}contains", (True, False): f"{i}endswith",
              (False, True): f"{i}startswith", (False, False): "in" if cased else "=~"}[(lead, trail)]
        return f"{path} {op} {name}"

    def value_test(self, path, v):
        if isinstance(v, SigmaCasedString):
            return self.string_test(path, v, True)
        if isinstance(v, SigmaString):
            return self.string_test(path, v, False)
        if isinstance(v, SigmaBool):
            b = "true" if v.boolean else "false"
            return f"({path} == {b} or {path} =~ \"{b}\")"
        if SigmaTimestampPart is not None and isinstance(v, SigmaTimestampPart):
            # before SigmaNumber, of which it is a kind
            raise Refused("a timestamp-part modifier (|minute, |hour, |day, ...): secdet's hour() and "
                          "weekday() do not say the same")
        if isinstance(v, SigmaCompareExpression):
            op = {CompareOperators.LT: "<", CompareOperators.LTE: "<=", CompareOperators.GT: ">",
                  CompareOperators.GTE: ">=", CompareOperators.NEQ: "!="}[v.op]
            return f"{path} {op} {v.number.number}"
        if isinstance(v, SigmaNumber):
            return f"{path} in [{v.number}, {lit(str(v.number))}]"
        if isinstance(v, SigmaNull):
            return f"(not exists {path} or {path} == null)"
        if isinstance(v, SigmaExists):
            return f"exists {path}" if v.exists else f"not exists {path}"
        if isinstance(v, SigmaRegularExpression):
            flags = "".join(f for flag, f in ((SigmaRegularExpressionFlag.IGNORECASE, "i"),
                                             (SigmaRegularExpressionFlag.MULTILINE, "m"),
                                             (SigmaRegularExpressionFlag.DOTALL, "s")) if flag in v.flags)
            rx = re.sub(r"(?<!\\)((?:\\\\)*)/", r"\1\\/", v.regexp.to_plain() if hasattr(v.regexp, "to_plain") else str(v.regexp))
            if "\n" in rx:
                raise Refused("a regular expression with a line break")
            return f"{path} matches /{rx}/{flags}"
        if isinstance(v, SigmaCIDRExpression):
            return f"{path} in cidr({lit(str(v.network))})"
        if isinstance(v, SigmaFieldReference):
            return None  # handled by the caller, which knows the log type
        if isinstance(v, SigmaExpansion):
            return "(" + " or ".join(self.value_test(path, x) for x in v.values) + ")"
        raise Refused(f"value type {type(v).__name__} has no secdet form")

    # ---- conditions --------------------------------------------------
    def cond(self, node, ls):
        if isinstance(node, (ConditionAND, ConditionOR)):
            op = " and " if isinstance(node, ConditionAND) else " or "
            return "(" + op.join(self.cond(a, ls) for a in node.args) + ")"
        if isinstance(node, ConditionNOT):
            return "not " + self.cond(node.args[0], ls)
        if isinstance(node, ConditionFieldEqualsValueExpression):
            if node.field is None:
                raise Refused("a keyword (full-text) search: secdet log types have no full-text field")
            path = self.field_path(ls, node.field, node.value)
            v = node.value
            if isinstance(v, SigmaFieldReference):
                other = map_field(ls, v.field)
                cased = isinstance(v, SigmaCasedString)
                i = "" if cased else "i"
                if v.starts_with and v.ends_with:
                    return f"{path} {i}contains {other}"
                if v.starts_with:
                    return f"{path} {i}startswith {other}"
                if v.ends_with:
                    return f"{path} {i}endswith {other}"
                return f"{path} =~ {other}"
            if isinstance(path, tuple):   # a value rewrite (gworkspace eventService)
                return path[0]
            return self.value_test(path, v)
        if isinstance(node, ConditionValueExpression):
            raise Refused("a keyword (full-text) search: secdet log types have no full-text field")
        raise Refused(f"condition node {type(node).__name__} has no secdet form")

    def field_path(self, ls, field, value):
        if "guard" in ls:
            ls["guard"](field)
        rewrites = ls.get("values", {})
        if field in rewrites:
            target, table = rewrites[field]
            if not isinstance(value, SigmaString) or value.contains_special():
                raise Refused(f"field '{field}' is rewritten by value and takes only plain values")
            plain = value.to_plain().lower()
            if plain not in table:
                raise Refused(f"value '{value}' of '{field}' has no secdet equivalent")
            from sigma.pipelines.secdet import path_text
            return (f"{path_text(target)} == {lit(table[plain])}",)
        return map_field(ls, field)

    def where(self, rule):
        ls = self.logsource(rule)
        conds = [c.parsed for c in rule.detection.parsed_condition]
        text = " or ".join(self.cond(c, ls) for c in conds)
        if ls.get("filter"):
            text = f"{ls['filter']} and ({text})"
        return ls, text

    # ---- meta --------------------------------------------------------
    def meta(self, rule):
        m = [f"title = {lit(rule.title)}"]
        if rule.level is not None:
            m.append(f"severity = {SEVERITY[str(rule.level.name).lower()]}")
        if rule.tags:
            m.append("tags = [" + ", ".join(lit(f"{t.namespace}.{t.name}") for t in rule.tags) + "]")
        if rule.id:
            m.append(f"sigma_id = {lit(str(rule.id))}")
        if rule.author:
            m.append(f"author = {lit(rule.author)}")
        if rule.references:
            m.append("references = [" + ", ".join(lit(r) for r in rule.references) + "]")
        desc = (rule.description or "").strip()
        if rule.falsepositives:
            desc += ("\n" if desc else "") + "False positives: " + "; ".join(str(f) for f in rule.falsepositives)
        if desc:
            m.append(f"description = {lit(desc)}")
        if rule.status is not None:
            m.append(f"sigma_status = {lit(str(rule.status.name).lower())}")
        return "    meta {\n" + "".join(f"        {x}\n" for x in m) + "    }\n"

    def rule_text(self, rule, private=False):
        ls, where = self.where(rule)
        return (f"rule {self.name_of(rule)} {{\n" + self.meta(rule) + f"    on {ls['on']}\n"
                f"    where {where}\n" + ("    private\n" if private else "") + "}\n")

    # ---- correlations ------------------------------------------------
    def correlation_text(self, corr):
        t = corr.type
        cond = corr.condition
        if cond is not None and not isinstance(cond, SigmaCorrelationCondition):
            raise Refused("an extended (boolean) correlation condition")
        within = duration(corr.timespan.seconds)
        refs = [r.rule for r in corr.rules]
        for r in refs:
            if isinstance(r, SigmaCorrelationRule) and not (
                    r.type == SigmaCorrelationType.EVENT_COUNT and t in (
                        SigmaCorrelationType.TEMPORAL, SigmaCorrelationType.TEMPORAL_ORDERED)):
                raise Refused(f"correlation refers to correlation '{label(r)}' of type {r.type}: "
                              "secdet takes only a count rule as a sequence step")

        def keys_for(r, field):
            alias = corr.aliases.aliases.get(field) if corr.aliases else None
            if alias is not None:
                for ref, f in alias.mapping.items():
                    if ref.reference in (r.name, str(r.id)):
                        field = f
                        break
                else:
                    raise Refused(f"alias '{field}' names no field for rule '{r.name}'")
            if isinstance(r, SigmaCorrelationRule):
                # a count rule as a step: its own group_by decides
                inner = [keys_for(x, field) for x in (y.rule for y in r.rules)]
                if len(set(inner)) != 1:
                    raise Refused(f"field '{field}' maps to different paths in the rules of '{r.name}'")
                return inner[0]
            return map_field(self.logsource(r), field)

        group = corr.group_by or []
        per_rule = {id(r): [keys_for(r, g) for g in group] for r in refs}
        same = len({tuple(v) for v in per_rule.values()}) <= 1
        by_all = f" by {', '.join(per_rule[id(refs[0])])}" if group and same else ""
        name = self.name_of(corr)
        head = f"rule {name} {{\n" + self.meta(corr)
        if t in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT,
                 SigmaCorrelationType.VALUE_SUM):
            if not same:
                raise Refused("group-by fields map to different paths in the rules; "
                              "secdet has per-step keys only in sequences")
            for r in refs:
                if isinstance(r, SigmaCorrelationRule):
                    raise Refused("a count over a correlation")
            op = cond.op.name
            n = cond.count
            if op not in ("GTE", "GT"):
                raise Refused(f"condition '{op.lower()}': secdet thresholds count upward (>=) only")
            where = " or ".join(self.name_of(r) for r in refs)
            if t == SigmaCorrelationType.EVENT_COUNT:
                if op == "GT":
                    n = int(n) + 1
                agg = f"count >= {int(n)}"
            else:
                fields = cond.fieldref if isinstance(cond.fieldref, list) else [cond.fieldref]
                if len(fields) != 1:
                    raise Refused("a value condition over several fields")
                paths = {map_field(self.logsource(r), fields[0]) for r in refs}
                if len(paths) != 1:
                    raise Refused(f"field '{fields[0]}' maps to different paths in the rules")
                p = paths.pop()
                if t == SigmaCorrelationType.VALUE_COUNT:
                    if op == "GT":
                        n = int(n) + 1
                    agg = f"distinct {p} >= {int(n)}"
                else:
                    agg = f"sum {p} {'>=' if op == 'GTE' else '>'} {n}"
            return head + f"    where {where}\n    {agg} within {within}{by_all}\n}}\n"
        if t in (SigmaCorrelationType.TEMPORAL, SigmaCorrelationType.TEMPORAL_ORDERED):
            if cond is not None and not (cond.op.name == "GTE" and int(cond.count) == len(refs)):
                raise Refused(f"temporal condition {cond.op.name.lower()} {cond.count} of {len(refs)} rules: "
                              "a secdet sequence needs every step")
            if len(refs) < 2:
                raise Refused("a temporal correlation of one rule")
            unordered = " unordered" if t == SigmaCorrelationType.TEMPORAL else ""
            steps = []
            for r in refs:
                step = f"        {ident(self.name_of(r))}_step: {self.name_of(r)}"
                if group and not same:
                    step += " by " + ", ".join(per_rule[id(r)])
                steps.append(step)
            return (head + f"    sequence{unordered} within {within}{by_all} {{\n" + ";\n".join(steps) +
                    "\n    }\n}\n")
        raise Refused(f"correlation type '{t}' has no secdet form")


def convert_collection(collection, placeholders=None, other_source=None, logsource_map=None, field_map=None):
    """-> (outputs, results, lists): outputs maps each source path (or
    '<input>') to secdet text; results has a row per rule (status, reason);
    lists the placeholder lists. logsource_map: LogsourceEntry list or specs
    (--logsource); other_source: the source of any other unknown logsource;
    field_map: a FieldMap of the user's processing pipeline."""
    cv = Converter(placeholders, other_source, logsource_map, field_map)
    texts, status = {}, {}
    rules = list(collection.rules)
    corrs = [r for r in rules if isinstance(r, SigmaCorrelationRule)]
    base_of = {}
    for c in corrs:
        for ref in c.rules or []:
            base_of.setdefault(id(ref.rule), []).append(c)
    # base rules first, so a correlation knows whether its parts converted
    order = [r for r in rules if isinstance(r, SigmaRule)] + corrs
    for r in order:
        try:
            if isinstance(r, SigmaCorrelationRule):
                bad = [x.rule for x in r.rules if status.get(id(x.rule), (None,))[0] != "ok"]
                if bad:
                    raise Refused(f"its rule '{label(bad[0])}' was refused: "
                                  f"{status.get(id(bad[0]), (None, 'unknown'))[1]}")
                text = cv.correlation_text(r)
            else:
                private = id(r) in base_of and not any(c.generate for c in base_of[id(r)])
                text = cv.rule_text(r, private)
            status[id(r)] = ("ok", text)
        except Refused as e:
            status[id(r)] = ("refused", str(e))
        except Exception as e:  # pySigma raising on a construct is a refusal too
            status[id(r)] = ("refused", f"{type(e).__name__}: {e}")
    # a base rule only a refused correlation uses would be a private rule
    # nothing uses: refuse it with the correlation.
    for r in order:
        if id(r) in base_of and status[id(r)][0] == "ok" and all(status[id(c)][0] != "ok" for c in base_of[id(r)]):
            if not any(c.generate for c in base_of[id(r)]):
                status[id(r)] = ("refused", f"used only by refused correlation '{label(base_of[id(r)][0])}'")
    results = []
    for r in rules:
        st, val = status[id(r)]
        src = str(r.source.path) if r.source is not None and getattr(r.source, "path", None) else "<input>"
        results.append({"rule": r, "id": str(r.id) if r.id else (r.name or r.title), "title": r.title,
                        "source": src, "status": "converted" if st == "ok" else "refused",
                        "reason": None if st == "ok" else val,
                        "product": getattr(getattr(r, "logsource", None), "product", None),
                        "name": cv.names.get(id(r)) if st == "ok" else None})
        if st == "ok":
            texts.setdefault(src, []).append(val)
    lists = cv.lists
    return texts, results, lists


def lists_text(lists):
    out = []
    for name, values in sorted(lists.items()):
        if values is not None:
            out.append(f"list {name} = [" + ", ".join(lit(v) for v in values) + "]\n")
    return "".join(out)

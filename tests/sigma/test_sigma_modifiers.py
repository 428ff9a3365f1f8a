"""Verdicts: each Sigma value modifier, converted by `secdet sigma convert`
and run by `secdet scan` over Okta events written for it, matches exactly
the events the Sigma specification says it matches: case-insensitive by
default (Unicode case folding), `*` and `?` wildcards, a list is an OR, a
map an AND, `cased` and `re` case-sensitive."""
import base64
import textwrap
import zlib

import pytest

from conftest import convert, scan

# name -> (detection YAML, events that match, events that do not).
# Events are Okta System Log events; `m` is displayMessage.
CASES = {
    "plain": ("m: 'Hello World'", ["hello world", "HELLO WORLD"], ["hello world!", "Hello"]),
    "unicode_fold": ("m: 'ÉTÉ'", ["été"], ["ete"]),
    "contains": ("m|contains: 'Admin'", ["the ADMIN role", "admin"], ["adm"]),
    "startswith": ("m|startswith: 'Grant'", ["grant role"], ["regrant"]),
    "endswith": ("m|endswith: 'role'", ["admin ROLE"], ["roles"]),
    "wildcards": ("m: 'a*c?e'", ["ABxxCde", "acxe"], ["ace", "abcde!"]),
    "escaped_wildcard": ("m: 'a\\*b'", ["a*b", "A*B"], ["axb"]),
    "list_or": ("m:\n      - one\n      - two", ["ONE", "two"], ["three"]),
    "map_and": ("m: one\n    eventType: user.session.start", [("one", "user.session.start")],
                [("one", "user.session.end"), ("two", "user.session.start")]),
    "contains_all": ("m|contains|all:\n      - alpha\n      - beta", ["Beta and ALPHA"], ["alpha only"]),
    "re": ("m|re: '^Ad.*n$'", ["Admin"], ["admin", "xAdmin"]),
    "re_i": ("m|re|i: '^ad.*n$'", ["ADMIN"], ["admins"]),
    "cased": ("m|cased: 'Admin'", ["Admin"], ["admin"]),
    "cased_contains": ("m|cased|contains: 'Adm'", ["xAdmx"], ["xadmx"]),
    "base64": ("m|base64: 'secret'", [base64.b64encode(b"secret").decode()], ["secret"]),
    "base64offset": ("m|base64offset|contains: 'secret'",
                     [base64.b64encode(p + b"secret tail").decode() for p in (b"", b"x", b"xy")], ["c2VjcmV"]),
    "wide_base64offset": ("m|wide|base64offset|contains: 'ping'",
                          [base64.b64encode("run ping now".encode("utf-16le")).decode()],
                          [base64.b64encode(b"run ping now").decode()]),
    "windash": ("m|windash|contains: ' -enc '", ["x -enc y", "x /enc y", "x \u2013enc y"], ["x enc y"]),
    "null": ("m: null", [None, "__missing__"], ["x"]),
    "empty": ("m: ''", [""], ["x"]),
}
NUMERIC = {
    "gt": ("c|gt: 5", [6, 5.5], [5, "6"]),
    "gte": ("c|gte: 5", [5], [4]),
    "lt": ("c|lt: 5", [4], [5]),
    "lte": ("c|lte: 5", [5], [6]),
    "number": ("c: 5", [5, "5"], [6]),
    "exists_true": ("c|exists: true", [0, None], ["__missing__"]),
    "exists_false": ("c|exists: false", ["__missing__"], [1]),
}


def rule(name, detection, condition="sel"):
    return textwrap.dedent("""\
        title: case {name}
        id: 00000000-0000-0000-0000-{num:012d}
        status: test
        level: high
        logsource:
            product: okta
            service: okta
        detection:
            sel:
                {det}
            condition: {cond}
        """).format(name=name, num=zlib.crc32(name.encode()), det=detection.replace("\n    ", "\n        "),
                    cond=condition)


def event(i, m=None, etype="user.session.start", count="__missing__"):
    e = {"uuid": "u%d" % i, "published": "2024-01-01T00:00:%02dZ" % (i % 60), "eventType": etype,
         "actor": {"alternateId": "a@example.com", "displayName": "A"}, "debugContext": {"debugData": {}}}
    if m != "__missing__":
        e["displayMessage"] = m
    if count != "__missing__":
        e["debugContext"]["debugData"]["c"] = count
    return e


def fixups(det):
    return det.replace("m:", "displayMessage:").replace("m|", "displayMessage|").replace(
        "c:", "debugContext.debugData.c:").replace("c|", "debugContext.debugData.c|")


def verdicts(secdet, tmp_path, name, det, good, bad, numeric=False):
    p, report = convert(secdet, tmp_path, {name: rule(name, fixups(det))})
    assert p.returncode == 0, p.stderr
    events, want = [], {}
    for i, v in enumerate(good + bad):
        args = v if isinstance(v, tuple) else (v,)
        e = event(i, count=args[0]) if numeric else event(i, *args)
        if numeric:
            e["displayMessage"] = "x"
        events.append(e)
        want["u%d" % i] = i < len(good)
    alerts = scan(secdet, tmp_path / "out", events, "okta")
    fired = {a["fields"]["id"] for a in alerts}
    got = {u: (u in fired) for u in want}
    assert got == want, (det, "".join(f.read_text() for f in (tmp_path / "out").glob("*.secdet")))


@pytest.mark.parametrize("name", sorted(CASES))
def test_string_modifier(secdet, tmp_path, name):
    det, good, bad = CASES[name]
    verdicts(secdet, tmp_path, name, det, good, bad)


@pytest.mark.parametrize("name", sorted(NUMERIC))
def test_numeric_modifier(secdet, tmp_path, name):
    det, good, bad = NUMERIC[name]
    verdicts(secdet, tmp_path, name, det, good, bad, numeric=True)


def run_rule(secdet, tmp_path, name, det, events, *extra):
    p, report = convert(secdet, tmp_path, {name: rule(name, det)}, *extra)
    assert p.returncode == 0, p.stderr
    return {a["fields"]["id"] for a in scan(secdet, tmp_path / "out", events, "okta")}


def test_cidr(secdet, tmp_path):
    evs = [event(i) for i in range(3)]
    for e, ip in zip(evs, ["10.1.2.3", "11.0.0.1", "fd00::1"]):
        e["client"] = {"ipAddress": ip}
    det = "client.ipAddress|cidr:\n      - 10.0.0.0/8\n      - fd00::/8"
    assert run_rule(secdet, tmp_path, "cidr", det, evs) == {"u0", "u2"}


def test_fieldref(secdet, tmp_path):
    evs = [event(0, "A"), event(1, "a"), event(2, "B")]   # actor.displayName is "A"
    assert run_rule(secdet, tmp_path, "fieldref", "displayMessage|fieldref: actor.displayName", evs) == {"u0", "u1"}


def test_expand_binds_a_list(secdet, tmp_path):
    ph = tmp_path / "ph.json"
    ph.write_text('{"admins": ["Root", "break-glass"]}')
    evs = [event(0, "root"), event(1, "BREAK-GLASS"), event(2, "alice")]
    got = run_rule(secdet, tmp_path, "expand", "displayMessage|expand: '%admins%'", evs, "--placeholders", ph)
    assert got == {"u0", "u1"}
    assert "list admins" in (tmp_path / "out" / "sigma_placeholders.secdet").read_text()


@pytest.mark.parametrize("name,det,why", [
    ("keywords", "- 'evil'", "keyword"),
    ("unbound", "displayMessage|expand: '%nobody%'", "not bound"),
    ("wide_alone", "displayMessage|wide|contains: 'x'", "U+0000"),
    ("escaped_in_glob", "displayMessage: 'a\\*b*c'", "escaped wildcard"),
    ("unknown_field", "nosuchfield: x", "not a field"),
    ("hour", "published|hour: 3", "timestamp-part"),
])
def test_refused(secdet, tmp_path, name, det, why):
    p, report = convert(secdet, tmp_path, {name: rule(name, det)})
    assert p.returncode == 1
    (r,) = report.values()
    assert r["status"] == "refused" and why in r["reason"] and r["id"] in p.stderr, r

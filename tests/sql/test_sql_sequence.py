"""Sequences of three and four steps, and with `not` steps between steps or
before the first, compiled to MATCH_RECOGNIZE (Trino, Athena): the events that make the engine's choices differ from a naive
pattern's — a later step 1 event that no step 2 follows (the alert's first
event is the latest start of a chain that completes, not the last step 1
event), an earliest start too old for the window where a later one is not,
a window's edge exactly DUR away and a nanosecond beyond, an event that
fills two steps of two partial sequences, a completing event that would
start another (it starts nothing), groups that fire more than once; a
`not` event between two steps that cuts one chain and not another (nor
the step after), an event that is both the guard and the step it guards,
a leading `not` event exactly DUR before a start, and one forgotten at an
alert.
test_sql_trino_packs.py runs them on a Trino server against `secdet scan`,
first events included; here the SQL parses with sqlglot and DuckDB refuses
them. Times are unique, so no tie makes the table's order differ from the
engine's."""
import pytest

import sqltest

RULES = r'''
rule seq3 { on okta sequence within 10s by .actor.alternateId {
    a: .eventType == "A"; b: .eventType == "B"; c: .eventType == "C" } }
rule seq4 { on okta sequence within 1m {
    a: .eventType == "A"; b: .eventType == "B"; c: .eventType == "C"; d: .eventType == "D" } }
rule overlap { on okta sequence within 10s by .actor.alternateId {
    a: .eventType in ["A", "AB"]; b: .eventType in ["B", "AB"]; c: .eventType == "C" } }
rule restart { on okta sequence within 10s by .actor.alternateId {
    a: .eventType in ["A", "AC"]; b: .eventType == "B"; c: .eventType in ["C", "AC"] } }
rule pair { on okta sequence within 10s by .actor.alternateId { a: .eventType == "A"; b: .eventType == "B" } }
rule mid { on okta sequence within 10s by .actor.alternateId {
    a: .eventType == "A"; not x: .eventType in ["X", "XB"]; b: .eventType in ["B", "XB"]; c: .eventType == "C" } }
rule lead { on okta sequence within 10s by .actor.alternateId {
    not l: .eventType == "L"; a: .eventType == "A"; b: .eventType == "B" } }
rule alone { on okta sequence within 10s by .actor.alternateId { not l: .eventType == "L"; a: .eventType == "A" } }
'''


def okta(sec, kind, user, frac=""):
    t = "2024-01-01T%02d:%02d:%02d%sZ" % (sec // 3600, sec // 60 % 60, sec % 60, frac)
    return {"uuid": "s-%06d%s" % (sec, frac), "published": t, "eventType": kind, "actor": {"alternateId": user}}


def events():
    u1 = [(0, "A"), (1, "B"), (2, "A"), (3, "C"),  # fires at 3 from A(0): A(2) has no B after it
          (4, "C"), (5, "A"), (6, "A"), (7, "B"), (8, "B"), (16, "C"),  # A(5) is 11 s before: from A(6), 10 s
          (17, "A"), (18, "B"), (27, "C", ".000000001"),  # 10 s and a nanosecond: nothing
          (30, "A"), (31, "B"), (32, "B"), (33, "C")]
    u2 = [(100, "A"), (101, "AB"), (102, "AB"), (103, "C"),  # AB fills b of one partial and a of another
          (200, "A"), (201, "B"), (202, "AC"), (203, "B"), (204, "C")]  # AC completes and starts nothing
    keyless = [(300, "A"), (301, "B"), (302, "C"), (303, "A"), (304, "B"), (305, "D"),
               (310, "A"), (311, "B"), (312, "C"), (320, "A"), (321, "B"), (322, "C"), (371, "D"), (380, "D"),
               (400, "A"), (401, "B"), (402, "C"), (460, "D")]  # D exactly 60 s after A
    # `not` between a and b: X cuts a chain off its next step, not the one after.
    u5 = [(500, "A"), (501, "X"), (502, "B"), (503, "C"),  # A(500) cut off: nothing
          (504, "A"), (505, "B"), (506, "X"), (507, "C"),  # X after b: fires from A(504)
          (510, "A"), (511, "A"), (512, "X"), (513, "A"), (514, "B"), (515, "C"),  # from A(513)
          (520, "A"), (521, "B"), (522, "X"), (523, "A"), (524, "B"), (525, "C"),  # from A(523), not A(520)
          (530, "A"), (531, "XB"), (532, "C"),  # XB fills b: no guard of it
          (540, "A"), (541, "XB"), (542, "B"), (543, "C")]  # from A(540) through XB
    # leading `not`: no a within DUR after an L (since the last alert).
    u6 = [(600, "L"), (605, "A"), (606, "B"), (611, "A"), (612, "B"),  # A(605) starts nothing, A(611) does
          (680, "L"), (690, "A"), (691, "A"), (692, "B"),  # exactly DUR after L: still nothing
          (700, "L"), (711, "A"), (712, "L"), (713, "B"), (714, "A"), (715, "B")]  # L(712) forgotten at 713
    out = [okta(s, k, "u1", *f) for s, k, *f in u1] + [okta(s, k, "u2") for s, k in u2]
    out += [okta(s, k, "u5") for s, k in u5] + [okta(s, k, "u6") for s, k in u6]
    out += [okta(s, k, "u3") for s, k in keyless]
    return sorted(out, key=lambda ev: ev["published"])


def test_the_events_make_the_choices_that_matter(tmp_path):
    """The engine's alerts hold the cases the SQL must get right."""
    import json
    rules = tmp_path / "seq.secdet"
    rules.write_text(RULES)
    f = tmp_path / "ev.jsonl"
    f.write_text("".join(json.dumps(ev) + "\n" for ev in events()))
    alerts = {(a[0], a[1][11:19], a[4][11:19]) for a in sqltest.engine_alerts(str(rules), [str(f)])}
    assert ("seq3", "00:00:03", "00:00:00") in alerts  # not A(2): no B follows it
    assert ("seq3", "00:00:16", "00:00:06") in alerts  # A(5) is too old, A(6) is not
    assert not any(a[0] == "seq3" and "00:00:27" <= a[1] < "00:00:30" for a in alerts)  # a nanosecond late
    assert ("overlap", "00:01:43", "00:01:41") in alerts  # AB(101) is b of one partial and a of another
    assert ("restart", "00:03:22", "00:03:20") in alerts  # AC completes ...
    assert not any(a[0] == "restart" and a[1] == "00:03:24" for a in alerts)  # ... and starts nothing
    assert ("seq4", "00:07:40", "00:06:40") in alerts  # exactly DUR
    mid = {(t, f) for r, t, f in alerts if r == "mid" and t >= "00:08:20"}
    assert mid == {("00:08:27", "00:08:24"), ("00:08:35", "00:08:33"), ("00:08:45", "00:08:43"),
                   ("00:08:52", "00:08:50"), ("00:09:03", "00:09:00")}, mid
    lead = {(t, f) for r, t, f in alerts if r == "lead" and t >= "00:10:00"}
    assert lead == {("00:10:12", "00:10:11"), ("00:11:32", "00:11:31"), ("00:11:53", "00:11:51"),
                    ("00:11:55", "00:11:54")}, lead
    assert len(alerts) == 122


def test_sequences_refused_on_duckdb(tmp_path):
    rules = tmp_path / "seq.secdet"
    rules.write_text(RULES)
    p = sqltest.secdet("sql", "--dialect", "duckdb", str(rules))
    assert p.returncode == 1
    assert p.stderr.count("a sequence needs MATCH_RECOGNIZE, which DuckDB does not have") == RULES.count("rule ")


def test_a_trailing_not_step_is_refused(tmp_path):
    rules = tmp_path / "t.secdet"
    rules.write_text('rule t { on okta sequence within 1h { a: .eventType == "A"; not b: .eventType == "B" } }\n')
    p = sqltest.secdet("sql", "--dialect", "trino", str(rules))
    assert p.returncode == 1
    assert ("secdet: rule t: step 'b': a trailing not step waits DUR past the completion for its absence; "
            "not compiled to SQL") in p.stderr


sqlglot = None
try:
    import sqlglot
except ImportError:
    pass


@pytest.mark.skipif(sqlglot is None, reason="sqlglot is not installed (tests/sql/setup.sh installs it)")
@pytest.mark.parametrize("dialect", ["trino", "athena"])
def test_sequences_parse_as_trino(dialect, tmp_path):
    rules = tmp_path / "seq.secdet"
    rules.write_text(RULES)
    p = sqltest.secdet("sql", "--dialect", dialect, str(rules))
    assert p.returncode == 0, p.stderr
    stmts = sqltest.statements(p.stdout)
    assert len(stmts) == RULES.count("rule ")
    for rule, stmt in stmts:
        assert sqlglot.parse_one(stmt, read="trino") is not None, rule

#!/usr/bin/env python3
"""seeds.py - writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).

Run it from anywhere: python3 fuzz/seeds.py. It rewrites only the files whose
names start with "seed-" (and copies the rule packs of rules/ as seeds of
fuzz_compile); the regression inputs (regress-*) that fuzzing found are never
touched. The events here are small and written by hand for these targets.
Each target's input layout (header bytes, then payload) is described at the
top of its fuzz_<target>.c.

The snapshot seeds are real snapshots, written by `secdet scan --state` (the
fuzz_eval ruleset over the fuzz_eval seed streams); pass the command's path
as the first argument (default: build/secdet), or they are left as they are.
"""
import gzip
import json
import os
import pathlib
import struct
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)


def jl(*events):
    return "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)


def gz(data, mtime=0):
    if isinstance(data, str):
        data = data.encode()
    return gzip.compress(data, mtime=mtime)


# ---- events used by several targets -----------------------------------------

T0 = "2024-03-14T09:00:00Z"


def t(sec):
    return f"2024-03-14T09:{sec // 60:02d}:{sec % 60:02d}Z"


LOGIN = {"eventTime": t(0), "eventVersion": "1.08", "eventSource": "signin.amazonaws.com",
         "eventName": "ConsoleLogin", "user": "alice", "sourceIPAddress": "10.1.2.3",
         "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                          "accountId": "111122223333", "userName": "alice"},
         "recipientAccountId": "444455556666",
         "responseElements": {"ConsoleLogin": "Success"},
         "additionalEventData": {"MFAUsed": "No"}, "n": 1, "b": True, "z": None}
STOP = {"eventTime": t(30), "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "user": "alice", "sourceIPAddress": "2001:db8::7", "requestParameters": {"name": "main"}}
DENIED = {"eventTime": t(40), "eventName": "GetObject", "errorCode": "AccessDenied",
          "user": "alice", "s": "xAccessDeniedy", "sourceIPAddress": "192.168.1.7"}
STRINGS = {"eventTime": t(50), "user": "bob", "s": "Getadmin.exe", "prefix": "Get",
           "a": [{"s": "Getadmin.exe", "n": 4, "b": 1, "c": 1}, {"s": "q", "n": 1}, [{"c": 1}, 2]],
           "b2": [{"n": 1}], "o": {"x-y": 1}, "key with spaces": "v", "ips": ["203.0.113.9", "::1"],
           "x": None, "y": "v", "u1": None, "u2": "ADmin"}
REGEX = {"eventTime": t(55), "user": "carol", "s": "curl/8.1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
         "a": [{"s": "\u00e9\u4e2d\U0001f600"}], "n": 1e7}
UNICODE = {"eventTime": "2024-03-14T09:01:00.123456789+02:00", "user": "d\u00e9j\u00e0",
           "s": "line\nbreak \"quoted\" \\ tab\t \u2028", "n": -5.5, "type": "login"}
SEQ = [{"eventTime": t(100), "eventName": "ConsoleLogin", "user": "eve"},
       {"eventTime": t(110), "eventName": "StopLogging", "user": "eve"},
       {"eventTime": t(120), "eventName": "AccessDenied", "user": "eve", "s": "x"}]
COUNT = [{"eventTime": t(200 + i), "eventName": "ConsoleLogin", "user": "mallory",
          "sourceIPAddress": "10.9.9.9", "n": i} for i in range(4)]
OUT_OF_ORDER = [{"eventTime": t(300), "s": "a", "user": "u"}, {"eventTime": t(250), "s": "b", "user": "u"},
                {"eventTime": "2024-03-14T08:00:00Z", "s": "a"}, {"eventTime": t(301), "s": "b"},
                {"eventTime": t(302), "s": "t", "user": "u"}, {"eventTime": t(303), "s": "t", "user": "u"}]
# Part 2: elements, lists, folding, functions, sums, counted and `not` steps, unordered
PART2 = [{"eventTime": t(400), "user": "pat", "type": "login", "s": "fail", "n": 2,
          "a": [{"s": "\u00e9t\u00e9", "n": 5, "c": [[1, 2]]}, {"s": "SQBuAHYAbwBrAGUA", "n": 6}],
          "o": {"x": [1, "y"]}, "prefix": "F", "ips": ["10.0.0.1"]},
         {"eventTime": t(401), "user": "pat", "type": "login", "s": "fail", "a": [{"n": 9}]},
         {"eventTime": t(402), "user": "pat", "type": "login", "s": "fail"},
         {"eventTime": t(403), "user": "pat", "eventName": "ConsoleLogin", "s": "STRASSE"},
         {"eventTime": t(404), "user": "pat", "s": "x"}, {"eventTime": t(405), "user": "pat", "s": "x"},
         {"eventTime": t(406), "user": "pat", "s": "a", "n": 1704670200000},
         {"eventTime": t(407), "user": "pat", "s": "ab"}, {"eventTime": t(408), "user": "pat", "s": "c"},
         {"eventTime": t(409), "user": "pat", "s": "c", "prefix": "pat"},
         {"eventTime": t(410), "user": "pat", "s": "b", "prefix": "pat"},
         {"eventTime": t(420), "user": "pat", "s": "d"},
         {"eventTime": t(500), "user": "q", "s": "a"}, {"eventTime": t(700), "user": "q", "s": "noise"}]
ALL = [LOGIN, STOP, DENIED, STRINGS, REGEX, UNICODE] + SEQ + COUNT + OUT_OF_ORDER + PART2


def compile_seeds():
    for p in sorted((ROOT / "rules").rglob("*.secdet")):
        write("compile", "rules-" + p.name, p.read_bytes())
    write("compile", "eval-rules.secdet", (HERE / "eval_rules.h").read_text().split(
        "static const char EVAL_RULES[] =\n", 1)[1].split(";\n", 1)[0].encode().decode("unicode_escape")
          .replace('"\n    "', "").strip().strip('"'))
    write("compile", "minimal", 'rule r { where .a == 1 }\n')
    write("compile", "everything", '''
list l = ["a", "b", 1, 2.5, -3, 1e3, true, false, null]
macro m = .a == "x" or (.b != 2 and not exists .c)
rule base { on jsonl, cloudwatch-logs where m and .d in l output "{.a} {{lit}} {rule}" }
rule full {
    meta { title = "Full" severity = critical tags = ["x", "y"] window = 30s k = 1.5 ok = false }
    on cloudtrail
    where base and .ip in cidr("10.0.0.0/8", "fd00::/8", "1.2.3.4") and .s contains "c"
      and .s startswith "a" and .s endswith "z" and .s like "a*?z" and .s matches /^a.*z$/imsx
      and lower(.u) == "x" and upper(.u) != "X" and len(.arr) >= 2 and coalesce(.p, .q) < 3
      and .r[0].s[*] > "m" and ."quoted key".x <= 4 and .arr[*] == .other[*]
    count > 4 within 1h by lower(coalesce(.a, .b)), .c
    throttle 10m by .c
    output "{count} {distinct} {group} {title} {severity} {.r[*].s}"
}
rule d { where exists .x distinct .y >= 3 within 500ms }
rule s { sequence within 7d by .u { one: base; two: .x == 1; three: d2 } }
rule d2 { where .k == "v" private }
''')
    write("compile", "parse-errors", '''
rule r { where .a == and output "x" }
list l = ["\\ud800"]
rule tpl { where .a == 1 output "{" }
rule { where }
macro = 1
rule r2 { where .a == 1 count >= within by }
rule r3 { where .a matches "x" or .b like /x/ or .c in cidr(1) }
''')
    write("compile", "check-errors", '''
rule r { where .a == 1 }
rule r { where unknown_macro }
macro a = b
macro b = a
rule bad_re { where .s matches /(/ }
rule bad_cidr { where .ip in cidr("10.0.0.0/33", "x") }
rule bad_dur { where .a == 1 count >= 0 within 0s }
rule agg_ref { where bad_dur }
rule seq_one { sequence within 1m { a: .x == 1 } }
rule unused_and_never { where .a == "x" and .a == "y" and lower(.b) == "B" }
macro unused = .q == 1
''')
    write("compile", "part2", '''
list verbs = ["Delete*", "Put*"]
macro admin = .role =~ ["roles/owner", "ROLES/EDITOR"]
rule el { where any .d[*] (.action == "ADD" and admin and any .m[*] (. == $.x or .[0] istartswith "a"))
          and all .t[*] (. like verbs) }
rule fn { where b64decode(.c) icontains "IEX" or text(.o) contains "x" or hour(.t, "+09:00") == 25
          or weekday(.t) > 7 or .e ilike verbs or .e contains [] or .u iendswith .v }
rule cnt { where .k == 1 count >= 3 within 1m by .u private }
rule sq { sequence within 1h { a: cnt by .ip; not b: .k == 2 by .ip; c: .k == 3 by .u count > 2 within 5m; not d: .k == 4 by .u } }
rule un { sequence unordered within 1m by .u { a: .k == 1; b: .k == 2 count >= 2 } }
rule sm { where .k == 5 sum .bytes[*] > 1e9 within 1d by .u output "{sum}" }
rule bad { sequence unordered within 1m { not a: .k == 1; b: cnt count >= 2; c: sm } }
rule bad2 { sequence within 1m { not a: .k == 1; not b: .k == 2 } }
''')
    write("compile", "part2-parse-errors", 'rule r { where any .x (.y) or .s =~ /x/ or hour() == 1 }\n'
          'rule s { sequence unordered within 1m { a: .k == 1 count; b: } }\n')
    write("compile", "strings", 'rule r { where .a == "\\u00e9\\uD83D\\uDE00\\"\\\\\\/\\b\\f\\n\\r\\t" output "}}{{" }\n')
    write("compile", "two-files", b'list a = ["x"]\nmacro m = .e in a\n\0rule r { where m }\nrule r2 { where r }\n')
    write("compile", "nesting", "rule r { where " + "(" * 100 + ".a == 1" + ")" * 100 + " }\n")
    write("compile", "nesting-over", "rule r { where " + "(" * 300 + ".a == 1" + ")" * 300 + " }\n")
    write("compile", "deep-not", "rule r { where " + "not " * 200 + ".a == 1 }\n")
    write("compile", "paths", 'rule r { where .a[*][*].b[0]."c d".e[123] == .f[*] output "{.a[*][*].b[0].\\"c d\\"}" }\n')
    write("compile", "tuning", '''
rule root { meta { severity = high } where .t == "Root" output "root {.ip}"
    severity { critical when .ip in cidr("0.0.0.0/0"); low when .lab == true } }
rule burst { where .e == "F" count >= 3 within 5m by .u }
rule quiet_one { where .q == 1 }
macro lab = .acct == "111"
tune root {
    except .ip in cidr("192.0.2.0/24") until 2027-01-31 "break-glass drill"
    except lab; except .x == 1 until "2030-12-31"
    severity = medium
    throttle 1h by .u, lower(.v)
    output "{rule}: {.ip}"
}
tune *o* { except .y == 2 }
tune b?rst { severity = low }
disable quiet_* "covered elsewhere"
disable nothing_*
''')
    write("compile", "tuning-errors", '''
rule a { where .a == 1 severity { urgent when .b == 1 } }
tune a { except .x == 1 until 2027-02-30 }
tune a {
    exept .y == 2
    severity = hgh; severity = low; severity = high
    throttle 0s by .k[*]
    output "{nope}"
}
tune missing { severity = low }
tune * { except unknown_macro }
disable a b
tune
rule tune { where .a == 1 }
''')


def decode_seeds():
    jsonl = jl(LOGIN, STOP, UNICODE) + "\n  \r\n" + jl(DENIED)
    ct = json.dumps({"Records": [LOGIN, STOP, DENIED]})
    bad = '{"a":1}\nnot json\n[1,2]\n{"b":\n"str"\n{"deep":' + "[" * 70 + "]" * 70 + "}\n{}\n"
    whole = bytes([0x0F])
    write("decode", "jsonl", b"\x00" + whole + jsonl.encode())
    write("decode", "jsonl-crlf-partial", b"\x00\x0f" + jsonl.replace("\n", "\r\n").encode() + b'{"tail":')
    write("decode", "jsonl-errors", b"\x00\x0f" + bad.encode())
    write("decode", "jsonl-bytewise", b"\x00\x00" + jl(LOGIN, STOP).encode())
    write("decode", "jsonl-chunk8-stop-twice", b"\x00\x33" + jl(LOGIN, STOP, DENIED).encode())
    write("decode", "jsonl-small-limits", bytes([0x30, 0x0F]) + (jl({"a": 1}, {"b": [[[[1]]]]}, LOGIN) + bad).encode())
    write("decode", "cloudtrail", b"\x01\x0f" + ct.encode())
    write("decode", "cloudtrail-chunked", b"\x01\x04" + ct.encode())
    write("decode", "cloudtrail-odd-records", b"\x01\x0f" + json.dumps(
        {"Records": [1, "x", None, [], {}, {"a": {"b": {}}}], "Other": True}).encode())
    write("decode", "cloudtrail-not-records", b"\x01\x0f" + b'{"NotRecords": []}')
    write("decode", "cloudtrail-records-not-array", b"\x01\x0f" + b'{"Records": {"a": 1}}')
    write("decode", "cloudtrail-truncated", b"\x01\x0f" + ct.encode()[:-40])
    write("decode", "auto-cloudtrail", b"\x02\x0f" + ("  \n" + ct).encode())
    write("decode", "auto-cloudtrail-bytewise", b"\x02\x00" + ct.encode())
    write("decode", "auto-jsonl", b"\x02\x0f" + jsonl.encode())
    write("decode", "auto-jsonl-records-later", b"\x02\x02" + b'{"x": 1, "Records": []}\n{"Records": 5}\n')
    write("decode", "gzip-jsonl", b"\x00\x0f" + gz(jsonl))
    write("decode", "gzip-jsonl-bytewise", b"\x00\x00" + gz(jl(LOGIN)))
    write("decode", "gzip-cloudtrail", b"\x01\x0f" + gz(ct))
    write("decode", "gzip-auto-multimember", b"\x02\x05" + gz(ct[:50]) + gz(ct[50:]))
    write("decode", "gzip-jsonl-multimember", b"\x00\x0f" + gz(jl(LOGIN)) + gz(jl(STOP)))
    write("decode", "gzip-truncated", b"\x00\x0f" + gz(jsonl)[:-9])
    write("decode", "gzip-corrupt", b"\x00\x0f" + gz(jsonl)[:20] + b"\xff" * 16 + gz(jsonl)[36:])
    write("decode", "gzip-trailing-garbage", b"\x02\x0f" + gz(jl(LOGIN)) + b"garbage\n")
    write("decode", "gzip-magic-only", b"\x00\x0f\x1f\x8b")
    write("decode", "gzip-bit-jsonl", b"\x08\x0f" + jsonl.encode())
    write("decode", "gzip-bit-cloudtrail-chunked", b"\x09\x03" + ct.encode())
    write("decode", "gzip-bit-auto", b"\x0a\x0f" + ct.encode())
    # CloudWatch Logs (mode 4), EventBridge (5), a custom line format (6)
    cw = {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/cloudtrail",
          "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["all"],
          "logEvents": [{"id": "1", "timestamp": 1710406800000, "message": json.dumps(LOGIN)},
                        {"id": "2", "timestamp": 1710406830123, "message": json.dumps(STOP)},
                        {"id": "3", "timestamp": -5, "message": "not json"},
                        {"id": "4", "timestamp": 1e300, "message": json.dumps(dict(DENIED, _cloudwatch=1))}]}
    control = {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
               "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE"}]}
    import base64
    aws = json.dumps({"awslogs": {"data": base64.b64encode(gz(json.dumps(cw))).decode()}})
    write("decode", "cloudwatch", b"\x04\x0f" + json.dumps(cw).encode())
    write("decode", "cloudwatch-two-docs-chunked", b"\x04\x03" + (json.dumps(cw) + "\n" + json.dumps(control)).encode())
    write("decode", "cloudwatch-awslogs", b"\x04\x0f" + aws.encode())
    write("decode", "cloudwatch-awslogs-bad-base64", b"\x04\x0f" + b'{"awslogs":{"data":"H4sI!!!!"}}')
    write("decode", "cloudwatch-awslogs-not-gzip", b"\x04\x0f" + json.dumps({"awslogs": {"data": base64.b64encode(b"plain").decode()}}).encode())
    write("decode", "cloudwatch-wrapped", b"\x0c\x0f" + json.dumps(cw).encode())
    write("decode", "cloudwatch-gzip", b"\x04\x0f" + gz(json.dumps(cw)))
    write("decode", "cloudwatch-small-limits", b"\x34\x0f" + json.dumps(cw).encode())
    eb = {"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS API Call via CloudTrail",
          "source": "aws.iam", "account": "111122223333", "time": "2024-03-14T09:00:00Z", "region": "us-east-1",
          "resources": [], "detail": LOGIN}
    write("decode", "eventbridge", b"\x05\x0f" + json.dumps(eb).encode())
    write("decode", "eventbridge-lines", b"\x05\x02" + (json.dumps(eb) + "\n" + json.dumps(dict(eb, detail=STOP)) + "\n").encode())
    write("decode", "eventbridge-bad", b"\x05\x0f" + b'{"detail-type":"x","detail":[1]}\n{"detail":{}}\n{"version":"0"}')
    write("decode", "eventbridge-gzip-bit", b"\x0d\x0f" + json.dumps(eb).encode())
    write("decode", "auto-cloudwatch", b"\x02\x0f" + aws.encode())
    write("decode", "auto-jsonl-envelopes", b"\x07\x0f" + (jl(LOGIN) + json.dumps(eb) + "\n" + aws + "\n" + json.dumps(cw) + "\n").encode())
    write("decode", "custom-lines", b"\x06\x0f" + (jl(LOGIN, STOP) + "\nnot json\n[1]\n" + json.dumps(DENIED)).encode())
    write("decode", "custom-bytewise-stop", b"\x06\x10" + jl(LOGIN, STOP, DENIED).encode())
    write("decode", "object", b"\x03\x0f" + json.dumps(LOGIN).encode())
    write("decode", "object-unicode", b"\x03\x0f" + json.dumps(UNICODE, ensure_ascii=False).encode())
    write("decode", "object-deep", b"\x03\x0f" + ('{"a":' * 65 + "1" + "}" * 65).encode())
    write("decode", "object-deep-strings", b"\x33\x0f" + b'{"a":"[[[[[[{{{{{{","b":{"c":{"d":1}}}')
    write("decode", "object-not-object", b"\x03\x0f" + b'[{"a":1}]')
    write("decode", "object-numbers", b"\x03\x0f" + b'{"a":1e400,"b":-0,"c":1.5e-320,"d":123456789012345678901234567890}')


def eval_seeds():
    # byte 0: format in bits 0-1, budget bit 2, lateness-0 bit 3, small state bit 4, chunk bits 5-7
    stream = jl(*ALL)
    write("eval", "jsonl-all", bytes([0xE0]) + stream.encode())
    write("eval", "jsonl-chunked", bytes([0x00]) + stream.encode())
    write("eval", "cloudtrail-all", bytes([0xE1]) + json.dumps({"Records": ALL}).encode())
    write("eval", "auto-all", bytes([0xE2]) + stream.encode())
    write("eval", "push-event-lines", bytes([0x03]) + stream.encode())
    write("eval", "small-budget", bytes([0xE4]) + stream.encode())
    write("eval", "lateness-zero", bytes([0xE8]) + jl(*OUT_OF_ORDER, *SEQ, *COUNT).encode())
    write("eval", "tiny-state", bytes([0xF0]) + jl(*[dict(c, user=f"u{i}") for i, c in enumerate(COUNT * 8)]).encode())
    write("eval", "gzip", bytes([0xE0]) + gz(stream))
    write("eval", "malformed-mixed", bytes([0xE0]) + (jl(LOGIN) + "oops\n" + jl(STOP) + "[1]\n").encode())
    write("eval", "no-time", bytes([0xE0]) + jl({"eventName": "ConsoleLogin", "user": "x"},
                                             {"eventTime": "not a time", "user": "x", "n": 1}).encode())
    write("eval", "regex-backtrack", bytes([0xE0]) + jl({"eventTime": T0, "s": "a" * 5000 + "!"}).encode())


def template_seeds():
    # byte 0: bit 0 fuzz the event (else the template), bits 1-2 clause, bit 3 small limit
    tpls = ["{rule} {title} {severity} {count} {distinct} {group}",
            "{.user} from {.ip}: {.n} {.f} {.big} {.b} {.z} {.missing}",
            "{.a[*].b} {.a[0].c[*]} {.a} {.o} {.o.x.y[*]} {.\"key with spaces\"}",
            "{{literal}} }}{{ {.s}",
            "caf\u00e9 \U0001f600 {.s} {.s} {.s} {.s} {.s} {.s}",
            "unbalanced {",
            "{.a[}",
            "{nosuch}",
            "tab\tnewline\nquote\" backslash\\",
            ""]
    for i, tp in enumerate(tpls):
        for clause in range(4):
            write("template", f"tpl{i}-clause{clause}", bytes([clause << 1]) + tp.encode())
        write("template", f"tpl{i}-small", bytes([0x08 | (1 << 1)]) + tp.encode())
    evs = [dict(LOGIN, ip="10.0.0.1", name="A"), STRINGS, UNICODE,
           {"user": "u", "ip": 5, "a": [{"b": [1, {"c": None}]}], "o": {"x": {"y": [1, "2", [3]]}},
            "key with spaces": {"k": [True]}, "big": -1.7976931348623157e308, "f": 0.1}]
    for i, ev in enumerate(evs):
        for clause in range(4):
            write("template", f"event{i}-clause{clause}", bytes([1 | clause << 1]) + json.dumps(ev).encode())
        write("template", f"event{i}-small", bytes([0x09]) + json.dumps(ev, ensure_ascii=False).encode())


def time_seeds():
    for i, s in enumerate(["2024-03-14T09:12:44Z", "2024-03-14t09:12:44z", "2024-03-14 09:12:44.5+05:30",
                           "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
                           "2016-12-31T23:59:60Z", "2016-12-31T23:59:60.5-23:59",
                           "2000-02-29T12:00:00.000001Z", "2262-04-11T23:47:16.854775807Z",
                           "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:44Z",
                           "1677-09-21T00:12:43.145224192Z", "0000-01-01T00:00:00Z",
                           "9999-12-31T23:59:59.1234567890123Z", "2023-02-29T00:00:00Z",
                           "2024-13-01T00:00:00Z", "2024-03-14T24:00:00Z", "2024-03-14T09:12:44",
                           "2024-03-14T09:12:44.Z", "2024-03-14T09:12:44+24:00"]):
        write("time", f"text{i:02d}", s)
    for name, v in [("zero", 0), ("one-ns", 1), ("minus-one", -1), ("max", 2**63 - 1), ("min", -2**63),
                    ("min-whole", -9223372036000000000), ("min-whole-minus1", -9223372036000000001),
                    ("y2k", 946684800123000000)]:
        write("time", f"int-{name}", struct.pack(">q", v))


def prefilter_seeds():
    # flags byte (1 i, 2 m, 4 s), the pattern, then subjects one a line
    for i, (flags, pat, subjects) in enumerate([
            (1, "(nikto|scoutsuite|kali)[-_ ]", ["Mozilla/5.0 kali-linux", "\u212aali-x", "\u212aALI_x", "nikto",
                                                 "aws-cli/2.0 Python/3.8"]),
            (0, "^(Delete|Stop|Disable)[A-Z]\\w*(Trail|Logging|Detector|Recorder)$",
             ["StopLogging", "DeleteTrail", "StartLogging", "Stop"]),
            (1, "s(k|a)+\\.", ["SKA.", "\u017fka.", "ska", ""]),
            (0, "(foo|)bar|baz?", ["ba", "foobar", "bar", "xyz"]),
            (4, "ab.cd|(?i)kali", ["KALI", "ab\ncd", "abxcd"]),
            (2, "^ab$|c{2,}", ["x\nab\ny", "cc", "c"])]):
        body = pat + "\n" + "\n".join(subjects)
        write("prefilter", f"case{i}", bytes([flags]) + body.encode())


def scan_seeds():
    # a first line of paths (a leading digit d: max_depth 2^d), then the JSON text
    docs = {"login": json.dumps(LOGIN), "strings": json.dumps(STRINGS), "unicode": json.dumps(UNICODE, ensure_ascii=False),
            "escapes": '{"s":"a\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u00e9\\ud83d\\ude00","k\\"ey":1,"a\\u0062":2}',
            "numbers": '{"a":[0,-0,1,-1,1.5,-0.25,1e10,1E+2,2e-3,-1.5E-5,1234567890123456789,1e400,-1e400,0.1]}',
            "dupkeys": '{"a":1,"a":2,"o":{"x":1,"x":{"y":2}},"a":[3]}',
            "whitespace": ' \t{ "s" : "x" ,\r\n "n" : -1.5 , "a" : [ ] } \r\n',
            "deep": '{"a":' + "[" * 20 + "1" + "]" * 20 + ',"o":{"x":{"x":{"x":{}}}}}',
            "nul": '{"s":"x\\u0000y","k\\u0000":"\\u0000","ab":"\\u0001\\u0000","o":{"x\\u0000":[1],"x":{"y":"\\u0000"}}}',
            "bad-leading-zero": '{"a":[01]}', "bad-control": '{"s":"a\tb"}', "bad-raw-nul": '{"s":"a\0b"}',
            "bad-hex-nul": '{"s":"a\\u00zzb"}',
            "bad-trailing": '{"a":1} x', "not-object": '[{"a":1}]', "empty": ''}
    lines = {"default": "", "paths": ".a .a[*] .a[0] .a[*].b .o.x .o.x.y .s .\"k\\\"ey\" .ab .n",
             "stars": ".a[*][*] .a[*].n .a[1][*] .b2[*].n .ips[*]", "depth4": "2.a[*] .o.x", "depth1": "0.a"}
    for dn, doc in docs.items():
        for ln, line in lines.items():
            if ln != "default" and dn not in ("login", "strings", "deep", "dupkeys", "numbers", "nul"):
                continue
            write("scan", f"{dn}-{ln}", line + "\n" + doc)


def snapshot_seeds(secdet):
    if not os.access(secdet, os.X_OK):
        print(f"seeds.py: no {secdet}; snapshot seeds left as they are", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        rules = pathlib.Path(tmp, "eval.secdet")
        rules.write_bytes((CORPUS / "compile" / "seed-eval-rules.secdet").read_bytes())
        streams = {"all": jl(*ALL), "seq": jl(*SEQ[:2]), "count": jl(*COUNT[:2], *OUT_OF_ORDER[:3]),
                   "empty": ""}
        for name, text in streams.items():
            events = pathlib.Path(tmp, name + ".jsonl")
            events.write_text(text)
            state = pathlib.Path(tmp, name + ".state")
            subprocess.run([secdet, "scan", "--quiet", "--rules", str(rules), "--format", "jsonl",
                            "--source", "jsonl", "--lateness", "10m", "--state", str(state), str(events)],
                           check=True, stdout=subprocess.DEVNULL)
            data = state.read_bytes()
            write("snapshot", name, b"\x00" + data[32:])        # the payload; the target adds the header
            write("snapshot", name + "-whole", b"\x01" + data)  # the file as it is
    write("snapshot", "whole-bad-magic", b"\x01" + b"NOTASNAP" + bytes(24))
    write("snapshot", "whole-bad-version", b"\x01" + b"SDCORSNP" + struct.pack("<IIQII", 3, 0, 0, 0, 0))  # 3: newer than this build reads
    write("snapshot", "whole-truncated", b"\x01" + b"SDCORSNP" + struct.pack("<IIQII", 1, 0, 10, 0, 0) + b"abc")


def checkpoint_seeds():
    """Envelopes of fuzz_checkpoint: each snapshot seed behind an envelope
    header (magic, next offset, origins), and a few damaged ones."""
    def origin(name, any_, idle, time, seen, off, idx):
        n = name.encode()
        return struct.pack("<I", len(n)) + n + struct.pack("<BBqBqI", any_, idle, time, seen, off, idx)
    origins = origin("cloudtrail/0", 1, 0, 1710406800000000000, 1, 41, 2) + origin("cloudtrail/1", 0, 1, 0, 0, 0, 0)
    head = b"SDKS1" + struct.pack("<qI", 42, 2) + origins
    for name in ("all", "seq", "count", "empty"):
        f = CORPUS / "snapshot" / f"seed-{name}-whole"
        if f.exists():
            write("checkpoint", name, head + f.read_bytes()[1:])
    write("checkpoint", "no-origins", b"SDKS1" + struct.pack("<qI", -1, 0))
    write("checkpoint", "bad-magic", b"SDKX1" + struct.pack("<qI", 0, 0))
    write("checkpoint", "origin-too-long", b"SDKS1" + struct.pack("<qII", 0, 1, 1 << 30) + b"x")
    write("checkpoint", "many-origins", b"SDKS1" + struct.pack("<qI", 0, 0xFFFFFFFF) + origins)


def framing_seeds():
    # Byte 0: bit 0 octet counting, bits 1-3 the longest message (1, 2, 3, 8,
    # 16, 64, 1000, 65536); byte 1 seeds the chunking.
    def head(octets, max_index, seed=7):
        return bytes([(max_index << 1) | (1 if octets else 0), seed])
    ev = [json.dumps(e, separators=(",", ":")).encode() for e in (LOGIN, STOP, DENIED)]
    write("framing", "lines-events", head(False, 6) + b"\n".join(ev) + b"\n")
    write("framing", "lines-crlf-blank-last", head(False, 6) + b"\r\n".join(ev) + b"\r\n \t\r\n\n" + ev[0])
    write("framing", "lines-at-the-limit", head(False, 3) + b"12345678\n123456789\n12345678\r\n1234567\r\r\n")
    write("framing", "lines-too-long-then-ok", head(False, 4, 200) + b"x" * 40 + b"\nshort\n" + b"y" * 17)
    write("framing", "octets-events", head(True, 6) + b"".join(b"%d %s" % (len(e), e) for e in ev))
    write("framing", "octets-newlines-zero", head(True, 6) + b"\n5 hello\r\n0 \n3 abc")
    write("framing", "octets-too-long-skipped", head(True, 3, 99) + b"9 123456789" + b"8 12345678" + b"20 " + b"z" * 20)
    write("framing", "octets-bad-count", head(True, 6) + b"5 hello12x garbage\n5 never")
    write("framing", "octets-partial-count", head(True, 6) + b"5 hello12")
    write("framing", "octets-partial-body", head(True, 6) + b"5 hello12 abc")
    write("framing", "octets-20-digits", head(True, 7) + b"18446744073709551615 x")
    write("framing", "syslog-over-tcp", head(True, 6, 3) +
          b"".join(b"%d %s" % (len(m), m) for m in (
              b"<13>1 2024-03-14T09:00:00Z host app - - - hello",
              b"<14>1 - - - - - - \xc3\xa9\x00 bytes")))

def http_seeds():
    """Responses as curl hands them to fuzz_http: byte 0 = curl code (bits
    0-1, 3 a timeout), body chunk size (bits 2-4), clock (bits 5-7, NOW[] of
    fuzz_http.c: 0 is 2024-03-14T09:00:00Z)."""
    def resp(status, headers=(), body=b"", version=b"HTTP/1.1", reason=b""):
        head = version + b" " + str(status).encode() + (b" " + reason if reason else b"") + b"\r\n"
        return head + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body
    ok = resp(200, [b"Content-Type: text/plain"], b"ok", reason=b"OK")
    write("http", "ok", b"\x00" + ok)
    write("http", "ok-chunked", b"\x04" + resp(200, [], b"accepted" * 10))
    write("http", "429-delta", b"\x00" + resp(429, [b"Retry-After: 120"], b"rate_limited", reason=b"Too Many Requests"))
    write("http", "503-date", b"\x00" + resp(503, [b"Retry-After: Thu, 14 Mar 2024 09:05:00 GMT"], b"busy"))
    write("http", "503-date-rfc850", b"\x00" + resp(503, [b"Retry-After: Thursday, 14-Mar-24 09:05:00 GMT"]))
    write("http", "503-date-asctime", b"\x00" + resp(503, [b"Retry-After: Thu Mar 14 09:05:00 2024"]))
    write("http", "503-date-past", b"\x00" + resp(503, [b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT"]))
    write("http", "503-date-9999", b"\x00" + resp(503, [b"Retry-After: Fri, 31 Dec 9999 23:59:59 GMT"]))
    write("http", "503-date-clock-9999", bytes([4 << 5]) + resp(503, [b"Retry-After: Fri, 31 Dec 9999 23:59:58 GMT"]))
    write("http", "503-date-clock-year1", bytes([5 << 5]) + resp(503, [b"Retry-After: Mon, 01 Jan 2024 00:00:00 GMT"]))
    write("http", "429-huge-delta", b"\x00" + resp(429, [b"Retry-After: 99999999999999999999999999999999"]))
    write("http", "429-zero", b"\x00" + resp(429, [b"Retry-After: 0"]))
    write("http", "429-whitespace", b"\x00" + resp(429, [b"retry-after: \t 5 \t"]))
    write("http", "429-bad", b"\x00" + resp(429, [b"Retry-After: soon", b"Retry-After: -5"]))
    write("http", "429-twice", b"\x00" + resp(429, [b"Retry-After: 5", b"RETRY-AFTER: 7"]))
    write("http", "429-nul", b"\x00" + resp(429, [b"Retry-After: 5\x00 0"]))
    write("http", "h2-lowercase", b"\x00" + resp(429, [b"retry-after: 30", b"content-type: application/json"],
                                               b'{"error":"slow down"}', version=b"HTTP/2"))
    write("http", "continue-then-429", b"\x00" + resp(100, [b"Retry-After: 9"], reason=b"Continue")
          + resp(429, [b"Retry-After: 3"], b"later"))
    write("http", "continue-then-200", b"\x00" + resp(100, [b"Retry-After: 9"], reason=b"Continue") + ok)
    write("http", "400-slack", b"\x00" + resp(400, [], b"invalid_payload", reason=b"Bad Request"))
    write("http", "404-slack", b"\x04" + resp(404, [], b"no_service"))
    write("http", "403-control-chars", b"\x00" + resp(403, [], b"  \x01bad\ttoken\r\n\x7f: denied  \n"))
    long = ("\u00e9" * 79 + "x" + "\u4e2d" * 10).encode()  # a 2-byte sequence across byte 160
    write("http", "410-utf8-cut", b"\x00" + resp(410, [], long))
    write("http", "413-big-body", b"\x10" + resp(413, [], b"too large " * 600))
    write("http", "302-redirect", b"\x00" + resp(302, [b"Location: https://example.com/other"], b""))
    write("http", "timeout", b"\x03" + resp(503, [b"Retry-After: 2"]))
    write("http", "no-status", b"\x00" + b"HTTP/1.1 2x OK\r\n\r\nbody")
    write("http", "lf-only", b"\x00" + b"HTTP/1.0 500 Internal\nRetry-After: 1\n\noops")
    write("http", "head-only", b"\x00" + b"HTTP/1.1 204 No Content\r\n")



def repartition_seeds():
    """Repartition-topic messages for fuzz_repartition: byte 0 the lateness
    (0: none, 1: 1 ms, 2: 15 min, 3: a year), then per message a header
    count, headers (u8 name index of NAMES, u16 length, value), u16 key
    length (0xffff: none) and key, u16 value length and value."""
    names = ["secdet-rule", "secdet-source", "secdet-time", "secdet-origin", "secdet-seq",
             "secdet-watermark", "secdet-idle", "secdet-origins", "x-other"]

    def msg(headers, key=None, value=b""):
        out = bytes([len(headers)])
        for name, v in headers:
            v = v.encode() if isinstance(v, str) else v
            out += bytes([names.index(name)]) + struct.pack("<H", len(v)) + v
        if key is None:
            out += struct.pack("<H", 0xFFFF)
        else:
            key = key.encode() if isinstance(key, str) else key
            out += struct.pack("<H", len(key)) + key
        value = value.encode() if isinstance(value, str) else value
        return out + struct.pack("<H", len(value)) + value

    def fwd(rule, group, ev, origin="cloudtrail/0", off=41, idx=0, source="jsonl", t=None):
        t = 1710406800000000000 if t is None else t
        return msg([("secdet-rule", rule), ("secdet-source", source), ("secdet-time", str(t)),
                    ("secdet-origin", origin), ("secdet-seq", f"{off}:{idx}")],
                   rule.encode() + b"\0" + group, json.dumps(ev, separators=(",", ":")))

    def beat(origin, t, idle=False, origins="cloudtrail/0,cloudtrail/1"):
        h = [("secdet-watermark", origin), ("secdet-time", "none" if t is None else str(t)),
             ("secdet-idle", "1" if idle else "0")]
        if origins is not None:
            h.append(("secdet-origins", origins))
        return msg(h)

    ns = 1710406800000000000
    login = {"eventTime": t(0), "eventName": "ConsoleLogin", "user": "mallory", "sourceIPAddress": "10.9.9.9"}
    grp = b'"mallory"\0"10.9.9.9"\0'
    counted = b"".join(fwd("counted", grp, dict(login, n=i), off=40 + i, t=ns + i * 10**9) for i in range(4))
    write("repartition", "counted", b"\x02" + counted)
    write("repartition", "beats-then-forwards", b"\x02" + beat("cloudtrail/0", None) + beat("cloudtrail/1", ns)
          + counted + beat("cloudtrail/0", ns + 5 * 10**9) + beat("cloudtrail/1", ns + 6 * 10**9, idle=True))
    write("repartition", "duplicates", b"\x02" + fwd("counted", grp, login, off=7, idx=1)
          + fwd("counted", grp, login, off=7, idx=1) + fwd("counted", grp, login, off=7, idx=0)
          + fwd("counted", grp, login, off=6, idx=9) + fwd("counted", grp, login, off=7, idx=2))
    seq = [{"eventTime": t(100), "eventName": "ConsoleLogin", "user": "eve"},
           {"eventTime": t(110), "eventName": "StopLogging", "user": "eve"}]
    write("repartition", "sequence-two-origins", b"\x00"
          + fwd("seq", b'"eve"\0', seq[0], origin="ct/0", off=1, t=ns + 100 * 10**9)
          + fwd("seq", b'"eve"\0', seq[1], origin="ct/1", off=9, t=ns + 110 * 10**9)
          + beat("ct/0", ns + 200 * 10**9, origins="ct/0,ct/1") + beat("ct/1", ns + 300 * 10**9, origins="ct/0,ct/1"))
    write("repartition", "throttled-lateness-1ms", b"\x01" + b"".join(
        fwd("throttled", b'"u"\0', {"eventTime": t(i), "user": "u"}, off=i, t=ns + i) for i in range(3)))
    write("repartition", "distinct-year-lateness", b"\x03" + b"".join(
        fwd("distinct_names", b'"a"\0', {"eventName": f"E{i}", "user": "a"}, off=i) for i in range(3)))
    write("repartition", "negative-time", b"\x00" + fwd("counted_gt", b"", {"n": 1}, t=-5)
          + beat("cloudtrail/0", -9223372036854775808, origins=None))
    write("repartition", "idle-all", b"\x00" + beat("a/0", ns, idle=True, origins="a/0,a/1")
          + beat("a/1", ns + 1, idle=True, origins="a/0,a/1"))
    write("repartition", "unknown-rule", b"\x02" + fwd("no_such_rule", b"", {"a": 1}))
    write("repartition", "bad-json", b"\x02" + fwd("counted", grp, {}).replace(b"{}", b"{x"))
    # Refused: each with one field wrong.
    bad = [
        msg([("secdet-rule", "counted")], b"counted\0"),                                     # headers missing
        msg([("secdet-rule", b"count\0ed"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
             ("secdet-origin", "o/0"), ("secdet-seq", "1:0")], b"count\0ed\0"),                # NUL in the rule
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "+1"),
             ("secdet-origin", "o/0"), ("secdet-seq", "1:0")], b"counted\0"),                 # signed time
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "99999999999999999999"),
             ("secdet-origin", "o/0"), ("secdet-seq", "1:0")], b"counted\0"),                 # time overflows
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
             ("secdet-origin", "o/0"), ("secdet-seq", "-1:4294967296")], b"counted\0"),       # seq out of range
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
             ("secdet-origin", "o/0,o/1"), ("secdet-seq", "1:0")], b"counted\0"),             # comma in the origin
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
             ("secdet-origin", "o/0"), ("secdet-seq", "1:0")], b"other\0"),                   # key of another rule
        msg([("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
             ("secdet-origin", "o/0"), ("secdet-seq", "1:0")]),                               # no key
        msg([("secdet-watermark", "o/0"), ("secdet-time", "soon")]),
        msg([("secdet-watermark", "o/0"), ("secdet-time", "1"), ("secdet-idle", "yes")]),
        msg([("secdet-watermark", "o/0"), ("secdet-time", "1"), ("secdet-origins", "o/0,,o/1")]),
        msg([("secdet-watermark", "o/0"), ("secdet-time", "1"), ("secdet-origins", "o/0,")]),
        msg([("secdet-watermark", ""), ("secdet-time", "1")]),
    ]
    write("repartition", "refused", b"\x02" + b"".join(bad) + counted[:200])
    write("repartition", "last-header-wins", b"\x02" + msg(
        [("secdet-rule", "x"), ("secdet-rule", "counted"), ("secdet-source", "jsonl"), ("secdet-time", "1"),
         ("secdet-origin", "o/0"), ("secdet-seq", "1:0"), ("x-other", "ignored")], b"counted\0" + grp,
        json.dumps(login)))



def lambda_seeds():
    """Lambda invocation events for fuzz_lambda: byte 0 (bit 0: deadline
    passed, bit 1: objects limited to 64 bytes), the event, then optionally
    a NUL and the bytes every S3 object holds."""
    import base64

    def ev(obj, flags=0, object_bytes=None):
        out = bytes([flags]) + json.dumps(obj).encode()
        return out if object_bytes is None else out + b"\0" + object_bytes

    eb = {"version": "0", "id": "6a7e8feb", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
          "account": "111122223333", "time": T0, "region": "us-east-1", "resources": [], "detail": LOGIN}
    write("lambda", "eventbridge", ev(eb))
    write("lambda", "eventbridge-records-first", ev({"Records": [LOGIN, STOP], **eb}))
    write("lambda", "eventbridge-detail-not-object", ev(dict(eb, detail=[1, 2])))
    write("lambda", "eventbridge-detail-type-number", ev(dict(eb, **{"detail-type": 5})))
    write("lambda", "eventbridge-deep", ev(dict(eb, detail={"a": json.loads("[" * 70 + "]" * 70)})))
    cw = {"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/cloudtrail",
          "logStream": "s", "subscriptionFilters": ["all"],
          "logEvents": [{"id": "1", "timestamp": 1710406800000, "message": json.dumps(LOGIN)},
                        {"id": "2", "timestamp": 1710406830123, "message": "not json"}]}
    data = base64.b64encode(gz(json.dumps(cw))).decode()
    write("lambda", "cloudwatch", ev({"awslogs": {"data": data}}))
    write("lambda", "cloudwatch-decoded", ev(cw))
    write("lambda", "cloudwatch-records-first", ev({"Records": [], "awslogs": {"data": data}}))
    write("lambda", "cloudwatch-bad-base64", ev({"awslogs": {"data": "H4sI!!!!"}}))
    write("lambda", "cloudwatch-control", ev({"awslogs": {"data": base64.b64encode(gz(json.dumps(
        {"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL"}]}))).decode()}}))

    def s3rec(key, bucket="trail", name="ObjectCreated:Put"):
        return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": name,
                "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 100}}}
    key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/x.json.gz"
    write("lambda", "s3", ev({"Records": [s3rec(key)]}))
    write("lambda", "s3-gzip-object", ev({"Records": [s3rec(key), s3rec("a+b%20c.json")]}, 0,
                                        gz(json.dumps({"Records": [LOGIN, STOP, DENIED]}))))
    write("lambda", "s3-jsonl-object", ev({"Records": [s3rec("k")]}, 0, jl(LOGIN, STOP).encode() + b"oops\n"))
    write("lambda", "s3-failing-and-deleted", ev({"Records": [s3rec("fail/x"), s3rec(key, name="ObjectRemoved:Delete"),
                                                             s3rec("ok%2Fkey")]}))
    write("lambda", "s3-nul-key", ev({"Records": [s3rec("a%00b"), s3rec("%zz%4")]}))
    write("lambda", "s3-no-bucket", ev({"Records": [{"eventSource": "aws:s3", "s3": {"object": {"key": "k"}}}]}))
    write("lambda", "s3-object-too-big", ev({"Records": [s3rec(key)]}, 2))
    note = {"Records": [s3rec(key)]}
    sns = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
           "Message": json.dumps(note)}
    write("lambda", "sns", ev({"Records": [{"EventSource": "aws:sns", "Sns": sns}]}))
    write("lambda", "sns-test-event", ev({"Records": [{"EventSource": "aws:sns", "Sns": dict(
        sns, Message=json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}))}]}))
    write("lambda", "sns-in-sns", ev({"Records": [{"EventSource": "aws:sns", "Sns": dict(
        sns, Message=json.dumps(dict(sns, Message=json.dumps(sns))))}]}))

    def sqs(mid, body):
        return {"messageId": mid, "eventSource": "aws:sqs", "body": body if isinstance(body, str) else json.dumps(body)}
    batch = {"Records": [sqs("q-1", note), sqs("q-2", sns), sqs("q-3", "not json"),
                         sqs("q-4", {"Records": [s3rec("fail-me")]}), sqs("q-5", {"Event": "s3:TestEvent"}),
                         {"messageId": "q-6", "eventSource": "aws:sqs"}]}
    write("lambda", "sqs", ev(batch))
    write("lambda", "sqs-deadline-passed", ev(batch, 1))
    write("lambda", "mixed-records", ev({"Records": [sqs("q-1", note), s3rec(key), {"eventSource": "aws:kinesis"},
                                                    {"EventSource": "aws:sns", "Sns": {"MessageId": "x"}}]}))
    write("lambda", "unknown", ev({"hello": "world"}))
    write("lambda", "empty-records", ev({"Records": []}))
    write("lambda", "not-json", b"\x00{\"Records\": [")
    write("lambda", "array", ev([eb]))



def config_seeds():
    """Kafka in `secdet run` configurations (fuzz_config): the input at each
    stage, the sink, properties of every JSON type. The other config seeds
    are written by hand."""
    def cfg(inp, sinks=None, **extra):
        c = {"rules": ["rules/"], "sources": [{"name": "cloudtrail", "format": "jsonl", "input": inp}],
             "sinks": sinks or [{"type": "stdout"}]}
        c.update(extra)
        return json.dumps(c, indent=1)
    single = {"type": "kafka", "brokers": "kafka-1:9092,kafka-2:9092", "group": "secdet", "topics": ["cloudtrail"]}
    write("config", "kafka-single.json", cfg(single))
    write("config", "kafka-single-every-key.json", cfg(dict(
        single, topics="cloudtrail", stage="single", commit_ms=500, idle_ms=0, max_pending_alerts=100,
        properties={"session.timeout.ms": 30000, "enable.auto.offset.store": False, "client.rack": "eu-1a",
                    "statistics.interval.ms": 0, "fetch.wait.max.ms": 100.5})))
    write("config", "kafka-partition.json", cfg(dict(
        single, group="secdet-stage1", stage="partition", repartition_topic="secdet-repartition",
        heartbeat_ms=200, commit_ms=1000)))
    write("config", "kafka-aggregate.json", cfg(dict(
        single, group="secdet-stage2", topics=["secdet-repartition"], stage="aggregate",
        state_topic="secdet-state", checkpoint_ms=5000, flush_on_exit=True),
        sinks=[{"type": "webhook", "url": "https://hooks.example.com/in"}], spool_dir="spool"))
    write("config", "kafka-properties-secrets.json", cfg(dict(
        single, properties={"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
                            "sasl.username": "secdet", "sasl.password": "s3cr3t-Pa55w0rd-x9",
                            "ssl.ca.location": "/etc/ssl/ca.pem", "debug": "broker,topic"})))
    write("config", "kafka-properties-bad.json", cfg(dict(
        single, properties={"no.such.property": "v4lue-9z", "session.timeout.ms": "soon-7x",
                            "queued.max.messages.kbytes": 1e11, "enable.partition.eof": "maybe"})))
    write("config", "kafka-errors.json", cfg(dict(
        single, stage="aggregate", repartition_topic="r", commit_ms=1, heartbeat_ms=86400001,
        flush_on_exit="yes", unknown=1)))
    write("config", "kafka-sink.json", cfg({"type": "stdin"}, sinks=[
        {"type": "kafka", "name": "alerts", "brokers": "kafka-1:9092", "topic": "secdet-alerts", "key": "rule_group",
         "timeout_ms": 60000, "properties": {"compression.type": "zstd", "linger.ms": 20, "sasl.password": "hunter2-xyz9"},
         "min_severity": "high", "max_attempts": 5},
        {"type": "kafka", "brokers": "k:9092", "topic": "bad topic!", "key": "none"},
        {"type": "kafka", "brokers": "k:9092", "topic": "t", "properties": {"transactional.id": "x",
                                                                             "enable.idempotence": False}}]))
    write("config", "kafka-two-inputs.json", json.dumps({
        "rules": ["r.secdet"], "sinks": [{"type": "stdout"}],
        "sources": [{"name": "a", "inputs": [single, {"type": "stdin"}]}]}))


if __name__ == "__main__":
    snapshot_seeds(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "build" / "secdet"))
    checkpoint_seeds()
    compile_seeds()
    decode_seeds()
    scan_seeds()
    prefilter_seeds()
    eval_seeds()
    template_seeds()
    time_seeds()
    framing_seeds()
    http_seeds()
    repartition_seeds()
    lambda_seeds()
    config_seeds()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} files")

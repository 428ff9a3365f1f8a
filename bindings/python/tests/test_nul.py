"""A string holding U+0000 reaches Python whole: the alert's message and its
event, as the engine sees them (a C string would end at the NUL)."""
import json

import secdet


def test_a_message_with_u0000_arrives_whole():
    rule = 'rule r { where .a contains "y" output "got {.a}" }\n'
    with secdet.Engine() as e:
        e.load_rules(rule, name="nul.secdet")
        alerts = e.push({"a": "x\u0000y"}, source="jsonl")
    (alert,) = alerts
    assert alert.message == "got x\u0000y"
    assert json.loads(alert.json)["events"][0]["a"] == "x\u0000y"

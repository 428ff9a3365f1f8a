"""test_tuning_reload.py — a tuning overlay beside the rules, changed while
`secdet run` runs and reloaded with SIGHUP: the exception applies to what
comes next, its counts show in the stats' by_rule, a disable silences the
rule, and a broken overlay is refused with the running tuning kept."""
import json
import signal
import time

PACK = """
rule root_used {
    meta { severity = high }
    where .k == "root"
    output "root {.n} by {.user}"
}
"""


def line(n, user):
    return json.dumps({"k": "root", "n": n, "user": user}) + "\n"


def reload(r):
    r.proc.send_signal(signal.SIGHUP)
    return r.status("reload")


def test_sighup_reloads_a_tuning_overlay(run, hook, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pack.secdet").write_text(PACK)
    site = rules / "site.secdet"
    site.write_text("# nothing tuned yet\n")
    srv = hook()
    r = run([{"type": "webhook", "name": "hook", "url": srv.url}], events=line(0, "drill"), rules=rules)
    r.ready()
    srv.wait_requests(1, timeout=15)

    site.write_text('tune root_used {\n    except .user == "drill" "quarterly break-glass drill"\n}\n')
    st = reload(r)
    assert st["ok"] and st["rules_ok"], st
    with open(r.dir / "events.jsonl", "a") as f:
        f.write(line(1, "drill") + line(2, "mallory"))
    srv.wait_requests(2, timeout=15)
    time.sleep(0.3)
    assert [q.json()["message"] for q in srv.snapshot()] == ["root 0 by drill", "root 2 by mallory"]
    assert r.stats()["by_rule"] == [{"rule": "root_used", "alerts": 2, "suppressed": 0, "excepted": 1}]

    site.write_text("tune root_used {\n")  # broken: refused, the exception stays
    st = reload(r)
    assert not st["ok"] and not st["rules_ok"], st
    assert f"{site}:2:1: expected '}}' to close tune 'root_used' opened at 1:1, found end of file" in r.stderr
    site.write_text('tune root_used { except .user == "drill" }\ndisable root_*\n')
    assert reload(r)["ok"]
    with open(r.dir / "events.jsonl", "a") as f:
        f.write(line(3, "mallory"))
    deadline = time.monotonic() + 15
    while r.stats()["events"] < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)
    assert len(srv.snapshot()) == 2  # read and evaluated, and disabled
    assert r.stop() == 0

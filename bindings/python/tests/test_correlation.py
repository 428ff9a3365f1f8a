"""Aggregation over event time, flush, snapshot and restore."""
import pytest
import secdet

from conftest import COUNT_RULE, failed_login


def test_count_rule_fires_once_enough_events_are_in_the_window():
    with secdet.Engine(COUNT_RULE) as e:
        alerts = []
        for minute in (0, 1, 2):
            alerts += e.push(failed_login(minute))
        alerts += e.push(failed_login(3, ip="192.0.2.9"))  # another group
        alerts += e.flush()
    (alert,) = alerts
    assert alert.rule == "failed_logins" and alert.count == 3
    assert alert.group == {".sourceIPAddress": "198.51.100.23"}
    assert alert.first_seen == "2024-03-14T09:00:00Z" and alert.last_seen == "2024-03-14T09:02:00Z"
    assert len(alert.events) == 3


def test_events_spread_beyond_the_window_do_not_fire():
    with secdet.Engine(COUNT_RULE) as e:
        for minute in (0, 3, 6):
            e.push(failed_login(minute))
        assert e.flush() == []


def test_out_of_order_events_within_the_lateness_give_the_same_alert():
    def run(order):
        with secdet.Engine(COUNT_RULE) as e:
            out = []
            for m in order:
                out += e.push(failed_login(m))
            return [a.to_dict() for a in out + e.flush()]
    assert run([0, 1, 2]) == run([2, 0, 1]) != []


def test_alerts_come_from_a_later_push_once_the_watermark_passes():
    with secdet.Engine(COUNT_RULE, lateness_ms=60_000) as e:
        got = [e.push(failed_login(m)) for m in (0, 1, 2)]
        assert got == [[], [], []]
        later = e.push(failed_login(30, ip="192.0.2.1"))  # moves event time 28 minutes on
        assert [a.rule for a in later] == ["failed_logins"]
        assert e.stats().alerts == 1 and e.stats().events == 4


def test_snapshot_and_restore_continue_the_window(tmp_path):
    state = tmp_path / "state.bin"
    with secdet.Engine(COUNT_RULE) as e:
        e.push(failed_login(0))
        e.push(failed_login(1))
        e.snapshot(state)
    assert state.stat().st_size > 0
    with secdet.Engine(COUNT_RULE) as e:
        assert e.restore(state) == []
        e.push(failed_login(2))
        (alert,) = e.flush()
        assert alert.count == 3
    # Without the state the third event alone does not fire.
    with secdet.Engine(COUNT_RULE) as e:
        e.push(failed_login(2))
        assert e.flush() == []


def test_restore_drops_the_state_of_a_changed_rule_with_a_warning(tmp_path):
    state = tmp_path / "state.bin"
    with secdet.Engine(COUNT_RULE) as e:
        e.push(failed_login(0))
        e.snapshot(state)
    with secdet.Engine(COUNT_RULE.replace(">= 3", ">= 4")) as e:
        warnings = e.restore(state)
    assert len(warnings) == 1 and "failed_logins" in warnings[0].message


def test_a_damaged_snapshot_is_refused(tmp_path):
    state = tmp_path / "state.bin"
    with secdet.Engine(COUNT_RULE) as e:
        e.push(failed_login(0))
        e.snapshot(state)
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0xFF
    state.write_bytes(bytes(data))
    with secdet.Engine(COUNT_RULE) as e:
        with pytest.raises(secdet.Error) as info:
            e.restore(state)
        assert info.value.status == 7  # SECDET_ERR_DECODE
        with pytest.raises(FileNotFoundError):
            e.restore(tmp_path / "missing.bin")

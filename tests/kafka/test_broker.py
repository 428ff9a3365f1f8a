"""test_broker.py — smoke test of the test broker itself (tools/kafka/kafka.sh).

Proves that kcat, built on the same librdkafka as libsecdet, works with this
broker: producing with null keys over 3 partitions, reading everything back,
and reading as a consumer group (group coordination, committed offsets);
and that a broker restarted on its directory keeps its data.
"""
import collections


def test_produce_consume_and_group(kafka, tmp_path):
    topic = "smoke3"
    kafka.create_topic(topic, partitions=3)
    lines = [f"line-{i:05d}" for i in range(3000)]
    assert kafka.produce(topic, lines) == 3000

    ends = kafka.end_offsets(topic)
    assert sorted(ends) == [0, 1, 2]
    assert sum(ends.values()) == 3000
    assert all(n > 0 for n in ends.values()), ends  # null keys spread over every partition

    msgs = kafka.consume(topic, timeout=60)
    assert sorted(m["value"] for m in msgs) == lines
    assert all(m["key"] is None and m["headers"] == [] for m in msgs)
    per_part = collections.Counter(m["partition"] for m in msgs)
    assert dict(per_part) == ends
    for p in ends:  # offsets 0..n-1 in order, per partition
        assert [m["offset"] for m in msgs if m["partition"] == p] == list(range(ends[p]))

    assert kafka.committed("smoke-group", topic) == {}
    group = kafka.consume_group("smoke-group", topic, timeout=60)
    assert sorted(m["value"] for m in group) == lines
    assert kafka.committed("smoke-group", topic) == ends  # committed when the member left


def test_keys_headers_partition_and_expect(kafka):
    topic = "smoke-keyed"
    kafka.create_topic(topic, partitions=2, compact=True)
    kafka.produce(topic, [b"v1", "v2"], key="k", partition=1, headers={"h": "x"})
    msgs = kafka.consume(topic, expect=2, timeout=30)
    assert [(m["key"], m["value"], m["partition"], m["offset"], m["headers"]) for m in msgs] == \
        [("k", "v1", 1, 0, [("h", "x")]), ("k", "v2", 1, 1, [("h", "x")])]
    assert kafka.end_offsets(topic) == {0: 0, 1: 2}
    # expect= bounds the wait when fewer messages come
    assert len(kafka.consume(topic, expect=3, timeout=2)) == 2


def test_restart_keeps_data(make_kafka):
    broker = make_kafka()
    broker.create_topic("kept", partitions=1)
    broker.produce("kept", ["a", "b", "c"])
    broker.stop()
    broker.stop()  # stopping a stopped broker is a no-op
    broker.start()
    assert [m["value"] for m in broker.consume("kept", timeout=30)] == ["a", "b", "c"]

"""The bus contract, run over every backend (embedded log and Kafka via tansu)."""

from __future__ import annotations

import pytest

from ghgwatch.bus import Bus, Record

from .helpers import by_key, drain, records, values


async def test_round_trip_keeps_value_key_headers_and_order_per_key(any_bus: Bus, unique: str) -> None:
    topic = f"contract.rt.{unique}"
    await any_bus.ensure_topics([topic], partitions=4)
    sent = records(200, keys=7)
    sent[3] = Record(sent[3].key, sent[3].value, headers=(("reason", b"range"), ("n", b"\x00\x01")))
    await any_bus.publish(topic, sent[:120])
    await any_bus.publish(topic, sent[120:])
    consumer = any_bus.consumer(f"g.{unique}", [topic])
    await consumer.start()
    try:
        got = await drain(consumer, len(sent))
    finally:
        await consumer.stop()
    assert sorted(values(got)) == sorted(r.value for r in sent)
    expected: dict[bytes, list[bytes]] = {}
    for r in sent:
        expected.setdefault(r.key, []).append(r.value)
    assert by_key(got) == expected
    (with_headers,) = [m for m in got if m.value == sent[3].value]
    assert with_headers.headers == (("reason", b"range"), ("n", b"\x00\x01"))
    assert all(m.topic == topic and m.timestamp > 1.6e9 for m in got)
    assert len({m.partition for m in got}) > 1, "keys are spread over partitions"


async def test_uncommitted_rest_goes_to_the_next_consumer_of_the_group(any_bus: Bus, unique: str) -> None:
    topic, group = f"contract.commit.{unique}", f"g.{unique}"
    await any_bus.ensure_topics([topic], partitions=4)
    await any_bus.publish(topic, records(40, keys=8))
    first = any_bus.consumer(group, [topic])
    await first.start()
    try:
        got = await drain(first, 40)
        assert len(got) == 40
        processed = got[:25]
        await first.commit(processed)
        lag = await first.lag()
    finally:
        await first.stop()
    committed = {}
    for m in processed:
        committed[m.tp] = max(committed.get(m.tp, 0), m.offset + 1)
    rest = {(m.tp, m.offset, m.value) for m in got if m.offset >= committed.get(m.tp, 0)}
    assert sum(lag.values()) == len(rest)

    second = any_bus.consumer(group, [topic])
    await second.start()
    try:
        again = await drain(second, len(rest))
    finally:
        await second.stop()
    assert {(m.tp, m.offset, m.value) for m in again} == rest
    assert len(again) == len(rest), "no duplicates of the committed part"


async def test_groups_are_independent(any_bus: Bus, unique: str) -> None:
    topic = f"contract.groups.{unique}"
    await any_bus.ensure_topics([topic], partitions=2)
    await any_bus.publish(topic, records(30))
    a = any_bus.consumer(f"a.{unique}", [topic])
    b = any_bus.consumer(f"b.{unique}", [topic])
    await a.start()
    await b.start()
    try:
        got_a = await drain(a, 30)
        await a.commit(got_a)
        got_b = await drain(b, 30)
    finally:
        await a.stop()
        await b.stop()
    assert sorted(values(got_a)) == sorted(values(got_b)) == sorted(r.value for r in records(30))


async def test_publish_of_nothing_is_a_no_op_and_bad_names_are_refused(any_bus: Bus) -> None:
    await any_bus.publish("contract.empty", [])
    with pytest.raises(ValueError, match="illegal topic"):
        await any_bus.publish("bad/topic", records(1))
    with pytest.raises(ValueError, match="illegal group"):
        any_bus.consumer("../etc", ["contract.empty"])

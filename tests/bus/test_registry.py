"""Choosing a backend by URL; small pure parts of the bus."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from ghgwatch.bus import BusError, Message, Record, TopicPartition, next_offsets, open_bus, parse_bus_url, topics
from ghgwatch.bus._partitioner import partition_for
from ghgwatch.bus.embedded import EmbeddedBus
from ghgwatch.bus.embedded._frame import decode_records, encode_frame
from ghgwatch.bus.kafka import KafkaBus


def test_embedded_urls(tmp_path: Path) -> None:
    bus = open_bus("embedded:", data_dir=tmp_path)
    assert isinstance(bus, EmbeddedBus) and bus.root == tmp_path / "bus"
    bus = open_bus("embedded:/var/lib/ghg/log?partitions=8&retention_s=60", data_dir=tmp_path)
    assert isinstance(bus, EmbeddedBus) and bus.root == Path("/var/lib/ghg/log")
    assert bus.config.partitions == 8 and bus.config.retention_s == 60.0
    with pytest.raises(BusError, match="unknown option 'nope'"):
        open_bus("embedded:?nope=1", data_dir=tmp_path)


def test_kafka_urls(tmp_path: Path) -> None:
    bus = open_bus(
        "kafka://k1:9092,k2:9092?partitions=6&client_id=api&session.timeout.ms=3000&producer.linger.ms=1",
        data_dir=tmp_path,
    )
    assert isinstance(bus, KafkaBus)
    assert bus.bootstrap == "k1:9092,k2:9092" and bus.partitions == 6 and bus.client_id == "api"
    assert bus._producer_config == {"session.timeout.ms": "3000", "linger.ms": "1"}
    assert bus._consumer_config == {"session.timeout.ms": "3000"}
    with pytest.raises(BusError, match="unknown option"):
        open_bus("kafka://k1:9092?partition=6", data_dir=tmp_path)


def test_unknown_scheme_and_missing_scheme(tmp_path: Path) -> None:
    with pytest.raises(BusError, match="unknown bus scheme 'redis'"):
        open_bus("redis://localhost", data_dir=tmp_path)
    with pytest.raises(BusError, match="no scheme"):
        open_bus("/just/a/path", data_dir=tmp_path)
    assert parse_bus_url("KAFKA://h:1?a=b").scheme == "kafka"


async def test_the_embedded_bus_never_imports_confluent_kafka(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from ghgwatch.bus import open_bus, Record\n"
        "async def main():\n"
        "    bus = open_bus('embedded:', data_dir=Path(sys.argv[1])); await bus.start()\n"
        "    await bus.publish('t', [Record(b'k', b'v')]); await bus.stop()\n"
        "asyncio.run(main())\n"
        "assert 'confluent_kafka' not in sys.modules, 'imported'\n"
    )
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_frame_round_trip_with_headers_and_empty_values() -> None:
    recs = [Record(b"a", b""), Record(b"", b"x" * 1000, (("reason", b"unit"), ("\u0436", b""))), Record(b"c", b"3")]
    frame = encode_frame(40, 1_700_000_000_123, recs)
    got = decode_records(frame[12:], "t", 2, 41, 10)
    assert [(m.offset, m.key, m.value, m.headers) for m in got] == [
        (41, b"", b"x" * 1000, (("reason", b"unit"), ("\u0436", b""))),
        (42, b"c", b"3", ()),
    ]
    assert got[0].timestamp == 1_700_000_000.123 and got[0].tp == TopicPartition("t", 2)


def test_partitioner_is_librdkafkas_consistent_hash() -> None:
    from confluent_kafka import consistent

    keys = [f"sensor-{i}".encode() for i in range(200)]
    assert [partition_for(k, 6) for k in keys] == [consistent(k, 6) for k in keys]


def test_next_offsets_takes_the_highest_offset_plus_one_per_partition() -> None:
    def msg(p: int, o: int) -> Message:
        return Message("t", p, o, b"", b"", (), 0.0)

    assert next_offsets([msg(0, 5), msg(0, 3), msg(1, 0)]) == {TopicPartition("t", 0): 6, TopicPartition("t", 1): 1}
    assert next_offsets({("t", 2): 9}) == {TopicPartition("t", 2): 9}  # type: ignore[dict-item]


def test_topic_names_are_versioned() -> None:
    assert topics.ALL_TOPICS == ("readings.raw.v1", "readings.deadletter.v1", "alerts.v1")
    assert all(topics.check_name(t) == t for t in topics.ALL_TOPICS)

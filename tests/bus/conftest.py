from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ghgwatch.bus import Bus, open_bus
from ghgwatch.bus.embedded import EmbeddedBus, LogConfig
from tests.support.tansu import TansuBroker, running_tansu


@pytest.fixture
async def embedded_bus(tmp_path: Path) -> AsyncIterator[EmbeddedBus]:
    bus = EmbeddedBus(tmp_path / "bus", LogConfig(partitions=4))
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    with running_tansu() as broker:
        yield broker


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topic and group names: the session's broker is shared by the tests."""
    return uuid.uuid4().hex[:10]


# Consumers of the shared broker join faster with a short session (INFRA.md section 1: 1.2 s at 2000 ms).
FAST_JOIN = "consumer.session.timeout.ms=2000&consumer.heartbeat.interval.ms=500"


@pytest.fixture(params=["embedded", pytest.param("kafka", marks=pytest.mark.kafka)])
async def any_bus(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Bus]:
    """The same contract, run over every backend."""
    if request.param == "embedded":
        bus = open_bus("embedded:", data_dir=tmp_path)
    else:
        broker: TansuBroker = request.getfixturevalue("tansu")
        bus = open_bus(f"{broker.url}?partitions=4&replication=1&{FAST_JOIN}", data_dir=tmp_path)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()

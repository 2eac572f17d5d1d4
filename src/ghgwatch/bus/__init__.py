"""The bus: publish keyed records to versioned topics, consume them in groups, commit after processing.

Usage::

    bus = open_bus(settings.bus.url, data_dir=settings.data_dir)
    await bus.start()
    try:
        await bus.publish(topics.READINGS_RAW, [Record(key=b"sensor-1", value=payload)])
        consumer = bus.consumer("pipeline", [topics.READINGS_RAW])
        await consumer.start()
        try:
            batch = await consumer.poll(1000, timeout_s=1.0)
            ...  # process idempotently
            await consumer.commit(batch)
        finally:
            await consumer.stop()
    finally:
        await bus.stop()
"""

from __future__ import annotations

from . import topics
from ._registry import open_bus, parse_bus_url
from ._types import (
    Bus,
    BusError,
    BusLockedError,
    CommitError,
    Consumer,
    Headers,
    Message,
    PublishError,
    RebalanceListener,
    Record,
    TopicPartition,
    next_offsets,
)

__all__ = [
    "Bus",
    "BusError",
    "BusLockedError",
    "CommitError",
    "Consumer",
    "Headers",
    "Message",
    "PublishError",
    "RebalanceListener",
    "Record",
    "TopicPartition",
    "next_offsets",
    "open_bus",
    "parse_bus_url",
    "topics",
]

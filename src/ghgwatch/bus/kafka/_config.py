"""librdkafka configuration for the bus: the settings the at-least-once contract depends on, in one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

LOGGER = logging.getLogger("ghgwatch.bus.kafka.rdkafka")

PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,  # no duplicates or reordering from the producer's own retries
    "acks": "all",  # durable = acknowledged by all in-sync replicas
    "linger.ms": 5,
    "compression.type": "lz4",
    "partitioner": "consistent_random",  # CRC32(key) % partitions, as the embedded log
    "message.timeout.ms": 30_000,  # a publish fails after 30 s instead of librdkafka's 5 min
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,  # commit only after processing
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
    # The first poll after subscribing waits for the group join, about session.timeout.ms / 2 with
    # librdkafka: 23 s with the 45 s default, 3 s with 6 s (INFRA.md section 1).
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1000,
}


def split_options(options: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """URL options to ``(own, producer, consumer)``: dotted keys are librdkafka properties, for both
    clients unless prefixed ``producer.`` or ``consumer.``; the others are the adapter's own."""
    own: dict[str, str] = {}
    producer: dict[str, str] = {}
    consumer: dict[str, str] = {}
    for key, value in options.items():
        if key.startswith("producer."):
            producer[key.removeprefix("producer.")] = value
        elif key.startswith("consumer."):
            consumer[key.removeprefix("consumer.")] = value
        elif "." in key:
            producer[key] = consumer[key] = value
        else:
            own[key] = value
    return own, producer, consumer


def client_config(
    bootstrap: str, client_id: str, defaults: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap, "client.id": client_id, "logger": LOGGER, **defaults, **extra}

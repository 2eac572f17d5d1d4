"""Kafka backend (``kafka://host:port``), imported only when that scheme is used."""

from __future__ import annotations

from ._bus import KafkaBus
from ._consumer import KafkaConsumer

__all__ = ["KafkaBus", "KafkaConsumer"]

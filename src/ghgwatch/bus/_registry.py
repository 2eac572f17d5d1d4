"""``open_bus(url)``: a backend chosen by URL scheme from a registry of lazily imported classes.

A backend module is imported only when its scheme is used, so the embedded mode never imports
confluent_kafka.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast
from urllib.parse import parse_qsl

from ._types import Bus, BusError

BACKENDS: dict[str, str] = {
    "embedded": "ghgwatch.bus.embedded:EmbeddedBus",
    "kafka": "ghgwatch.bus.kafka:KafkaBus",
}


@dataclass(frozen=True, slots=True)
class BusUrl:
    """A parsed bus URL: ``scheme:location?key=value&...``."""

    scheme: str
    location: str
    """Path for ``embedded:``; ``host:port[,host:port]`` for ``kafka://``."""
    options: dict[str, str] = field(default_factory=dict)


class BusFactory(Protocol):
    @classmethod
    def from_url(cls, url: BusUrl, *, data_dir: Path) -> Bus: ...


def parse_bus_url(url: str) -> BusUrl:
    scheme, sep, rest = url.partition(":")
    if not sep or not scheme:
        raise BusError(f"bus URL {url!r} has no scheme; expected embedded:[path] or kafka://host:port")
    rest, _, query = rest.partition("?")
    if rest.startswith("//"):
        rest = rest[2:]
    return BusUrl(scheme.lower(), rest, dict(parse_qsl(query, keep_blank_values=True)))


def open_bus(url: str, *, data_dir: Path) -> Bus:
    """A bus for ``url``, not yet started.

    - ``embedded:`` - the embedded durable log under ``data_dir/bus``; ``embedded:/abs/path`` elsewhere.
      Options: ``partitions`` (default 4), ``segment_bytes``, ``retention_s``, ``retention_bytes``.
    - ``kafka://host:port[,host2:port]`` - Kafka via confluent-kafka. Options: ``partitions`` (for
      :meth:`Bus.ensure_topics`), ``client_id``; keys with a dot are passed to librdkafka as they are
      (``security.protocol=SSL``, ``session.timeout.ms=...``).
    """
    parsed = parse_bus_url(url)
    target = BACKENDS.get(parsed.scheme)
    if target is None:
        raise BusError(f"unknown bus scheme {parsed.scheme!r} in {url!r}; known: {', '.join(BACKENDS)}")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:  # e.g. confluent_kafka missing: install the "kafka" extra
        raise BusError(f"bus backend {parsed.scheme!r} is not available: {exc}") from exc
    factory = cast(BusFactory, getattr(module, class_name))
    return factory.from_url(parsed, data_dir=data_dir)

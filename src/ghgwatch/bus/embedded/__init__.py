"""The embedded durable log (default bus backend). See ``docs/adr/0002-bus.md`` for the format."""

from __future__ import annotations

from ._bus import EmbeddedBus
from ._consumer import EmbeddedConsumer
from ._partition import LogConfig

__all__ = ["EmbeddedBus", "EmbeddedConsumer", "LogConfig"]

"""What the gateway knows about its site: the configuration from the platform, kept on disk.

The platform's ``GET /api/v1/edge/config`` (see ``edge/endpoints.py``) gives the gateway's organisation, its
sensors, their effective alert rules and the keys of the devices that may send. The gateway writes every
answer to ``edge-config.json`` in its data folder (atomically, mode 0600: it holds device keys) and reads it
at start-up, so a gateway restarted while the link is down still authenticates devices and keeps its alarms.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from ghgwatch.alerts.rule_codec import rule_from_dict
from ghgwatch.alerts.rules import EffectiveRules
from ghgwatch.alerts.ruleset import sensor_spec
from ghgwatch.edge.schemas import DeviceKey, EdgeConfig
from ghgwatch.registry.cache import SensorMeta

CONFIG_FILE = "edge-config.json"


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write, fsync, rename: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class EdgeState:
    """The current configuration and what is derived from it; ``version`` grows with every change."""

    path: Path
    config: EdgeConfig | None = None
    source: str = "none"
    """``none``, ``cache`` (read from disk at start) or ``upstream`` (fetched in this run)."""
    version: int = 0
    metas: dict[int, SensorMeta] = field(default_factory=dict)
    devices: dict[int, DeviceKey] = field(default_factory=dict)
    effective: list[EffectiveRules] = field(default_factory=list)

    @classmethod
    def open(cls, data_dir: Path) -> EdgeState:
        state = cls(data_dir / CONFIG_FILE)
        with contextlib.suppress(FileNotFoundError):
            state._apply(msgspec.json.decode(state.path.read_bytes(), type=EdgeConfig), "cache")
        return state

    @property
    def organization_id(self) -> int | None:
        return None if self.config is None else self.config.organization_id

    def update(self, config: EdgeConfig) -> bool:
        """Keep a configuration fetched from the platform; True if it differs from the current one."""
        unchanged = self.config is not None and _comparable(self.config) == _comparable(config)
        write_atomically(self.path, msgspec.json.encode(config))
        if unchanged:
            self.source = "upstream"
            return False
        self._apply(config, "upstream")
        return True

    def _apply(self, config: EdgeConfig, source: str) -> None:
        metas = {s.id: SensorMeta(**msgspec.structs.asdict(s)) for s in config.sensors}
        effective = []
        for entry in config.rules:
            meta = metas.get(entry.sensor)
            if meta is None:
                continue
            rules = []
            for rule_id, definition in entry.rules.items():
                with contextlib.suppress(ValueError):  # a rule kind newer than this gateway: skipped
                    rules.append(rule_from_dict(rule_id, definition))
            effective.append(EffectiveRules(sensor_spec(meta), tuple(rules), tuple(entry.problems)))
        self.config, self.source, self.metas, self.effective = config, source, metas, effective
        self.devices = {d.id: d for d in config.devices}
        self.version += 1


def _comparable(config: EdgeConfig) -> bytes:
    return msgspec.json.encode(msgspec.structs.replace(config, generated_at=_EPOCH))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

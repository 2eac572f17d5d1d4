"""The embedded log's directory: an exclusive lock, topics with their partitions, groups' offsets.

Layout::

    <root>/LOCK                                  flock'd by the one process that has the log open
    <root>/topics/<topic>/meta.json              {"partitions": N}, fixed at creation
    <root>/topics/<topic>/<partition>/<base>.log segments
    <root>/groups/<group>.json                   {"<topic>": {"<partition>": next offset}}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from .._types import BusLockedError, TopicPartition
from ..topics import check_name
from ._partition import LogConfig, PartitionLog
from ._segment import fsync_dir, write_all

GroupOffsets = dict[TopicPartition, int]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably: write a temporary file, fsync, rename, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


class LogStore:
    def __init__(self, root: Path, config: LogConfig) -> None:
        self.root = root
        self.config = config
        self._lock_fd = -1
        self._mutex = threading.Lock()
        self.topics: dict[str, list[PartitionLog]] = {}
        self._groups: dict[str, GroupOffsets] = {}  # replaced, never mutated: readers in other threads

    def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            (self.root / "topics").mkdir(exist_ok=True)
            (self.root / "groups").mkdir(exist_ok=True)
            for meta in sorted((self.root / "topics").glob("*/meta.json")):
                partitions = int(json.loads(meta.read_bytes())["partitions"])
                self._open_topic(meta.parent.name, partitions)
            for path in sorted((self.root / "groups").glob("*.json")):
                raw: dict[str, dict[str, int]] = json.loads(path.read_bytes())
                self._groups[path.stem] = {
                    TopicPartition(topic, int(p)): int(o) for topic, parts in raw.items() for p, o in parts.items()
                }
        except BaseException:
            self.close()
            raise

    def _acquire_lock(self) -> None:
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise BusLockedError(
                f"the embedded bus log {self.root} is in use by another process (pid {holder}); it is "
                "single-process: run the roles in one process (ghgwatch up) or use Kafka"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _open_topic(self, name: str, partitions: int) -> list[PartitionLog]:
        logs = [PartitionLog(self.root / "topics" / name / str(p), name, p, self.config) for p in range(partitions)]
        try:
            for log in logs:
                log.open()
        except BaseException:
            for log in logs:
                log.close()
            raise
        self.topics[name] = logs
        return logs

    def ensure_topic(self, name: str, partitions: int | None = None) -> list[PartitionLog]:
        """The partitions of ``name``, creating the topic if needed (thread-safe; blocking I/O)."""
        with self._mutex:
            if name in self.topics:
                return self.topics[name]
            count = partitions or self.config.partitions
            if count < 1:
                raise ValueError("a topic needs at least one partition")
            directory = self.root / "topics" / check_name(name)
            directory.mkdir(exist_ok=True)
            write_atomic(directory / "meta.json", json.dumps({"partitions": count}).encode())
            fsync_dir(directory.parent)
            return self._open_topic(name, count)

    def committed(self, group: str) -> GroupOffsets:
        return self._groups.get(group, {})

    def commit(self, group: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Merge ``offsets`` into the group's durable offsets (blocking I/O; one caller per group)."""
        merged = {**self._groups.get(group, {}), **offsets}
        raw: dict[str, dict[str, int]] = {}
        for (topic, partition), offset in sorted(merged.items()):
            raw.setdefault(topic, {})[str(partition)] = offset
        write_atomic(self.root / "groups" / f"{check_name(group, 'group')}.json", json.dumps(raw).encode())
        with self._mutex:
            self._groups = {**self._groups, group: merged}

    def min_committed(self, tp: TopicPartition) -> int | None:
        """Lowest committed offset over the groups that ever committed on the topic (None: no such group)."""
        lowest: int | None = None
        for offsets in self._groups.values():
            if any(t == tp.topic for t, _ in offsets):
                value = offsets.get(tp, 0)
                lowest = value if lowest is None else min(lowest, value)
        return lowest

    def close(self) -> None:
        for logs in self.topics.values():
            for log in logs:
                log.close()
        self.topics = {}
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = -1

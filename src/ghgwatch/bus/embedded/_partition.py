"""A topic-partition: a directory of segments, appended by the writer thread, read from any thread."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._types import BusError, Message, Record
from ._frame import encode_frame
from ._segment import SUFFIX, Segment, fsync_dir


@dataclass(frozen=True, slots=True)
class LogConfig:
    partitions: int = 4
    """Partitions of a newly created topic (an existing topic keeps the count it was created with)."""
    segment_bytes: int = 64 * 1024 * 1024
    segment_s: float = 3600.0
    """A non-empty active segment older than this is sealed, so that retention can delete it."""
    retention_s: float = 24 * 3600.0
    retention_bytes: int = 1024 * 1024 * 1024
    """Per partition. Retention deletes whole sealed segments only below every group's committed offset."""
    index_interval: int = 32 * 1024
    housekeeping_s: float = 30.0


class PartitionLog:
    def __init__(self, directory: Path, topic: str, partition: int, config: LogConfig) -> None:
        self.directory = directory
        self.topic = topic
        self.partition = partition
        self._config = config
        self._lock = threading.Lock()  # guards the segment list against roll/delete during reads
        self._segments: list[Segment] = []
        self._dirty = False
        self._visible = (0, 0, 0)  # (high watermark, base of the segment it ends in, end byte there)

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        paths = sorted(self.directory.glob("*" + SUFFIX))
        interval = self._config.index_interval
        try:
            for i, path in enumerate(paths):
                segment = Segment.recover(path, int(path.stem), interval, tail=i == len(paths) - 1)
                if self._segments and segment.base != self._segments[-1].next_offset:
                    segment.close()
                    raise BusError(f"offset gap before {path}: expected base {self._segments[-1].next_offset}")
                self._segments.append(segment)
            if not self._segments:
                self._segments.append(Segment.create(self.directory, 0, interval))
        except BaseException:
            self.close()
            raise
        self.publish_visible()

    @property
    def high_watermark(self) -> int:
        """Offset after the last durable record: what consumers may read."""
        return self._visible[0]

    @property
    def log_start(self) -> int:
        return self._segments[0].base

    @property
    def size_bytes(self) -> int:
        return sum(s.size for s in self._segments)

    # --- writer thread only -------------------------------------------------------------------------

    def append(self, records: Sequence[Record], timestamp_ms: int) -> None:
        active = self._segments[-1]
        frame = encode_frame(active.next_offset, timestamp_ms, records)
        if active.size and active.size + len(frame) > self._config.segment_bytes:
            active = self._roll()
        active.append(frame, active.next_offset, len(records))
        self._dirty = True

    def _roll(self) -> Segment:
        old = self._segments[-1]
        old.sync()
        new = Segment.create(self.directory, old.next_offset, self._config.index_interval)
        with self._lock:
            self._segments.append(new)
        return new

    def sync(self) -> None:
        if self._dirty:
            self._segments[-1].sync()
            self._dirty = False

    def publish_visible(self) -> None:
        active = self._segments[-1]
        self._visible = (active.next_offset, active.base, active.size)

    def housekeep(self, committed: int | None, now: float) -> int:
        """Seal an old active segment; delete sealed segments allowed by retention. Returns deletions.

        ``committed`` is the lowest committed offset of the groups reading this topic (None: no group
        ever committed on it, so only age and size count).
        """
        active = self._segments[-1]
        if active.size and now - active.created > self._config.segment_s:
            self._roll()
            self.publish_visible()
        deleted = 0
        total = self.size_bytes
        while len(self._segments) > 1:
            oldest = self._segments[0]
            if committed is not None and oldest.next_offset > committed:
                break
            too_old = now - oldest.last_write > self._config.retention_s
            if not too_old and total <= self._config.retention_bytes:
                break
            with self._lock:
                self._segments.pop(0)
                oldest.close()
            oldest.path.unlink()
            total -= oldest.size
            deleted += 1
        if deleted:
            fsync_dir(self.directory)
        return deleted

    # --- any thread ---------------------------------------------------------------------------------

    def read(self, first: int, max_records: int) -> list[Message]:
        """Durable messages from offset ``first`` (or the log start, if retention removed it) on."""
        hw, visible_base, visible_end = self._visible
        if first >= hw:
            return []
        out: list[Message] = []
        with self._lock:
            segments = self._segments
            first = max(first, segments[0].base)
            i = max(bisect_right([s.base for s in segments], first) - 1, 0)
            while i < len(segments) and len(out) < max_records:
                segment = segments[i]
                if segment.base > visible_base:
                    break
                limit = visible_end if segment.base == visible_base else segment.size
                out += segment.read(self.topic, self.partition, first, max_records - len(out), limit)
                first = segment.next_offset
                i += 1
        return out

    def close(self) -> None:
        with self._lock:
            for segment in self._segments:
                segment.close()
            self._segments = []

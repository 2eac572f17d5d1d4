"""One segment file of a partition: ``<base offset, 20 digits>.log``, appended by the writer thread only.

Readers in other threads use ``os.pread`` on the same descriptor; they only read below the visible end
that the writer publishes after an fsync, so they never see a frame being written.
"""

from __future__ import annotations

import logging
import os
import time
from bisect import bisect_right
from pathlib import Path

from .._types import BusError, Message
from ._frame import HEADER_SIZE, PREFIX, decode_records, parse_prefix, payload_ok

log = logging.getLogger(__name__)

SUFFIX = ".log"


class TornSegment(OSError):
    """A segment may hold a partial frame: the log must be reopened (recovery cuts it off)."""


def segment_name(base: int) -> str:
    return f"{base:020d}{SUFFIX}"


def fsync_dir(directory: Path) -> None:
    """Make a created, renamed or deleted directory entry durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Segment:
    """An open segment with a sparse in-memory index (one entry per ``index_interval`` bytes)."""

    __slots__ = (
        "_index_offsets",
        "_index_positions",
        "_interval",
        "base",
        "created",
        "fd",
        "last_write",
        "next_offset",
        "path",
        "size",
    )

    def __init__(self, path: Path, base: int, fd: int, index_interval: int) -> None:
        self.path = path
        self.base = base
        self.fd = fd
        self.size = 0
        self.next_offset = base
        self.last_write = self.created = time.time()
        self._interval = index_interval
        self._index_offsets: list[int] = []
        self._index_positions: list[int] = []

    @classmethod
    def create(cls, directory: Path, base: int, index_interval: int) -> Segment:
        path = directory / segment_name(base)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            if path.stat().st_size:  # never append to a segment with data under another's name
                raise
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)  # left empty by a roll that failed
        fsync_dir(directory)
        return cls(path, base, fd, index_interval)

    @classmethod
    def recover(cls, path: Path, base: int, index_interval: int, *, tail: bool) -> Segment:
        """Open an existing segment and index it.

        For the ``tail`` (last) segment every frame's CRC is checked and a torn or partial last frame
        (a crash during a write) is cut off. Older segments were fsync'd before the next one was created,
        so a bad frame there is corruption and raises :class:`BusError`.
        """
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        segment = cls(path, base, fd, index_interval)
        size = os.fstat(fd).st_size
        segment.last_write = segment.created = os.fstat(fd).st_mtime
        pos, expected = 0, base
        while pos < size:
            parsed = parse_prefix(os.pread(fd, HEADER_SIZE, pos))
            if parsed is None:
                break
            length, crc, first, count, _ = parsed
            end = pos + PREFIX.size + length
            if first != expected or end > size:
                break
            if tail and not payload_ok(os.pread(fd, length, pos + PREFIX.size), crc):
                break
            segment._index(pos, first)
            pos, expected = end, first + count
        if pos < size:
            if not tail:
                os.close(fd)
                raise BusError(f"corrupt frame at byte {pos} of sealed segment {path}")
            log.warning("bus: truncating torn tail of %s at byte %d (%d bytes dropped)", path, pos, size - pos)
            os.ftruncate(fd, pos)
            os.fsync(fd)
        segment.size = pos
        segment.next_offset = expected
        return segment

    def _index(self, pos: int, offset: int) -> None:
        if not self._index_positions or pos - self._index_positions[-1] >= self._interval:
            self._index_offsets.append(offset)
            self._index_positions.append(pos)

    def append(self, frame: bytes, base: int, count: int) -> None:
        """Write one frame; on failure cut the file back so no partial frame stays before later ones.

        A failed write whose cut succeeded leaves the segment exactly as before (the caller may carry on: a
        full disk fails the publish, and publishing works again once there is space); a failed cut raises
        :class:`TornSegment` (the file's state is unknown until recovery on reopen).
        """
        pos = self.size
        try:
            write_all(self.fd, frame)
        except OSError as exc:
            try:
                os.ftruncate(self.fd, pos)
            except OSError as cut:
                raise TornSegment(f"cutting {self.path} back to {pos} bytes after a failed write failed: "
                                  f"{cut}") from exc
            raise
        self._index(pos, base)
        self.size = pos + len(frame)
        self.next_offset = base + count
        self.last_write = time.time()

    def sync(self) -> None:
        os.fdatasync(self.fd)

    def read(self, topic: str, partition: int, first: int, max_records: int, limit: int) -> list[Message]:
        """Messages from offset ``first`` on, reading no byte at or after position ``limit``."""
        i = bisect_right(self._index_offsets, first) - 1
        pos = self._index_positions[i] if i >= 0 else 0
        out: list[Message] = []
        while pos < limit and len(out) < max_records:
            parsed = parse_prefix(os.pread(self.fd, HEADER_SIZE, pos))
            if parsed is None:
                raise BusError(f"corrupt frame header at byte {pos} of {self.path}")
            length, crc, base, count, _ = parsed
            end = pos + PREFIX.size + length
            if base + count > first:
                payload = os.pread(self.fd, length, pos + PREFIX.size)
                if len(payload) != length or not payload_ok(payload, crc):
                    raise BusError(f"CRC mismatch at byte {pos} of {self.path}")
                out += decode_records(payload, topic, partition, first, max_records - len(out))
            pos = end
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

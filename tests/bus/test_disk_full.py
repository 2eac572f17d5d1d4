"""The embedded log on a full disk: the publish fails (503 at ingest), no torn record stays in the log, and
publishing works again by itself once there is space.

Three ways: a real write limit of the kernel without root (``RLIMIT_FSIZE`` in a child process: a partial write,
then EFBIG); an injected ENOSPC after a partial write (the file-writer hook); and a real 1 MiB tmpfs at the ingest
endpoint where mounting is allowed (root)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghgwatch.bus import PublishError, Record
from ghgwatch.bus.embedded import EmbeddedBus, LogConfig, _segment

from .helpers import drain

TOPIC = "readings.raw.v1"


async def test_injected_enospc_fails_the_publish_and_the_log_recovers_without_a_restart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bus = EmbeddedBus(tmp_path / "bus", LogConfig(partitions=1))
    await bus.start()
    await bus.publish(TOPIC, [Record(b"k", b"before")])
    real = _segment.write_all

    def half_then_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])  # a partial frame hits the file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_segment, "write_all", half_then_full)
    with pytest.raises(PublishError, match="No space left"):
        await bus.publish(TOPIC, [Record(b"k", b"lost-1" * 100)])
    monkeypatch.setattr(_segment, "write_all", real)  # space is back
    await bus.publish(TOPIC, [Record(b"k", b"after")])
    await bus.stop()
    reopened = EmbeddedBus(tmp_path / "bus", LogConfig(partitions=1))
    await reopened.start()
    consumer = reopened.consumer("g", [TOPIC])
    await consumer.start()
    got = await drain(consumer, 2, deadline_s=5)
    await reopened.stop()
    assert [m.value for m in got] == [b"before", b"after"]
    assert [m.offset for m in got] == [0, 1]


async def test_a_real_file_size_limit_fails_the_publish_cuts_the_partial_frame_and_recovers(tmp_path: Path) -> None:
    root = tmp_path / "bus"
    child = await asyncio.to_thread(
        subprocess.run, [sys.executable, str(Path(__file__).with_name("fsize_child.py")), str(root)],
        capture_output=True, text=True, timeout=120, check=False)
    assert child.returncode == 0, child.stdout + child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["before"] == report["after"] == "acked"
    assert report["full"].startswith("refused") and "File too large" in report["full"], report
    assert report["size_after_refusal"] == report["size_before"]  # the partial frame was cut off at once
    reopened = EmbeddedBus(root, LogConfig(partitions=1))
    await reopened.start()
    consumer = reopened.consumer("g", [TOPIC])
    await consumer.start()
    got = await drain(consumer, 2, deadline_s=5)
    await reopened.stop()
    assert [(m.offset, m.value) for m in got] == [(0, b"before"), (1, b"after")]


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


async def test_ingest_answers_503_on_a_full_disk_and_recovers(tiny_fs: Path, tmp_path: Path, db_url: str) -> None:
    from tests.ingest.conftest import _platform

    bus_dir = tiny_fs / "bus"
    async for p in _platform(tmp_path, db_url, f"embedded:{bus_dir}?segment_bytes=4194304"):
        filler = tiny_fs / "filler"
        free = os.statvfs(tiny_fs).f_bavail * os.statvfs(tiny_fs).f_frsize
        filler.write_bytes(b"\0" * max(free - 24 * 1024, 0))
        acked, refused = 0, None
        for i in range(200):  # ~4 kB a request: the disk fills within a few requests
            rows = [{"sensor": p.world.sensor_a, "ts": f"2026-11-28T10:{i // 60:02d}:{i % 60:02d}.{k:06d}+00:00",
                     "value": 0.5} for k in range(60)]
            answer = await p.client.post("/api/v1/readings", json={"readings": rows}, headers=p.auth)
            if answer.status_code == 202:
                acked += 60
                continue
            refused = answer
            break
        assert refused is not None and refused.status_code == 503, "the disk never filled"
        assert refused.headers.get("retry-after")
        assert refused.headers["content-type"].startswith("application/problem+json")
        filler.unlink()  # space returns: no restart needed
        rows = [{"sensor": p.world.sensor_a, "ts": f"2026-11-28T11:00:00.{k:06d}+00:00", "value": 0.5}
                for k in range(60)]
        again = await p.client.post("/api/v1/readings", json={"readings": rows}, headers=p.auth)
        assert again.status_code == 202, again.text
        assert await p.wait_stored(acked + 60, within=30) == acked + 60  # everything acknowledged, once

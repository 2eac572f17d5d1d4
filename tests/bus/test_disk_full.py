"""The embedded log on a full disk: the publish fails (503 at ingest), no torn record stays in the log, and
publishing works again by itself once there is space.

Three ways, two of them real and without root: a write limit of the kernel (``RLIMIT_FSIZE`` in a child process:
a partial write, then EFBIG); an injected ENOSPC after a partial write (the file-writer hook); and a real 1 MiB
tmpfs under the ingest endpoint, mounted by a child process in its own user and mount namespaces."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
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


REPO = Path(__file__).resolve().parents[2]


async def test_ingest_answers_503_on_a_full_disk_and_recovers(tmp_path: Path, db_url: str) -> None:
    """A real full disk without root: the child runs in its own user and mount namespaces (``unshare``), where it
    may mount a 1 MiB tmpfs for the embedded log; the database stays where the fixture put it."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    script = (f"mount -t tmpfs -o size=1m tmpfs {mount} && exec {sys.executable} "
              f"{Path(__file__).with_name('disk_full_child.py')} {mount} {tmp_path} '{db_url}'")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = await asyncio.to_thread(
        subprocess.run, ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True, text=True, timeout=300, check=False, cwd=REPO, env=env)
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report.get("status") == 503, f"the disk never filled: {report}"
    assert report["retry_after"] and report["content_type"].startswith("application/problem+json"), report
    assert report["again"] == 202, report
    assert report["stored"] == report["acked"] + 60, report  # everything acknowledged, once


def test_the_full_disk_needs_no_root() -> None:
    """The test above mounts its tmpfs as whatever user runs the suite. Run as root (as here), it would not show
    that a normal user (a CI runner) can do the same; so this mounts the same 1 MiB tmpfs as an unprivileged user
    (uid/gid 65534, ``setpriv``) when run as root, and as the current user otherwise, and checks the mount is
    really 1 MiB and full after 1 MiB. It fails where unprivileged user namespaces are off
    (``kernel.unprivileged_userns_clone=0``, or AppArmor's ``kernel.apparmor_restrict_unprivileged_userns=1``
    on Ubuntu 24.04 and later): those hosts need the setting changed, or the suite run as root."""
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="ghgwatch-userns-"))
    try:
        work.chmod(0o777)  # reachable by the unprivileged user; /tmp itself is world-writable
        mount = work / "tiny"
        mount.mkdir()
        mount.chmod(0o777)
        script = (f"mount -t tmpfs -o size=1m tmpfs {mount} && id -u && "
                  f"dd if=/dev/zero of={mount}/filler bs=64k count=64 2>&1; stat -f -c '%b %a %S' {mount}")
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        child = subprocess.run([*drop, "unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                               capture_output=True, text=True, timeout=60, check=False, cwd=work)
        assert "No space left on device" in child.stdout, child.stdout + child.stderr
        lines = child.stdout.strip().splitlines()
        assert lines[0] == "0"  # root inside the namespace only
        blocks, available, size = map(int, lines[-1].split())
        assert blocks * size == 1024 * 1024 and available == 0, lines[-1]
        if drop:  # nothing was mounted outside the namespace
            assert not os.path.ismount(mount)
    finally:
        shutil.rmtree(work, ignore_errors=True)

"""Child process for the file-size-limit test: the embedded log hits a real write limit of the kernel.

``python fsize_child.py <root>``: publishes one record, lowers its own ``RLIMIT_FSIZE`` to 100 bytes past the end
of the segment (the next frame is written in part, then the kernel answers EFBIG, as a full disk answers
ENOSPC), publishes a larger record, raises the limit again (space returns) and publishes once more, without
reopening the log. Prints one JSON line: what each publish did and the segment's size at each step.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
from pathlib import Path

from ghgwatch.bus import PublishError, Record
from ghgwatch.bus.embedded import EmbeddedBus, LogConfig

TOPIC = "readings.raw.v1"


def segment_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.log"))


async def publish(bus: EmbeddedBus, value: bytes) -> str:
    try:
        await bus.publish(TOPIC, [Record(b"k", value)])
    except PublishError as exc:
        return f"refused: {exc}"
    return "acked"


async def main(root: Path) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the default action kills the process; ignored, write fails
    bus = EmbeddedBus(root, LogConfig(partitions=1, segment_bytes=64 * 1024 * 1024))
    await bus.start()
    report: dict[str, object] = {"before": await publish(bus, b"before")}
    report["size_before"] = size = segment_size(root)
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))
    report["full"] = await publish(bus, b"lost" * 1000)
    report["size_after_refusal"] = segment_size(root)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    report["after"] = await publish(bus, b"after")
    await bus.stop()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))

"""Child process for the full-disk ingest test, run in its own user and mount namespaces (``unshare``) with a
1 MiB tmpfs mounted at ``<mount>``: no root needed where unprivileged user namespaces are allowed.

``python disk_full_child.py <mount> <work dir> <database url>``: the platform in one process with its embedded
log on the tmpfs; fills the disk, posts readings until ingest refuses, frees the space, posts again and waits
until everything acknowledged is stored. Prints one JSON line with what happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path


async def main(mount: Path, work: Path, db_url: str) -> None:
    from tests.ingest.conftest import _platform

    report: dict[str, object] = {}
    async for p in _platform(work, db_url, f"embedded:{mount / 'bus'}?segment_bytes=4194304"):
        filler = mount / "filler"
        stat = os.statvfs(mount)
        filler.write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - 24 * 1024, 0))
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
        report["acked"] = acked
        if refused is not None:
            report |= {"status": refused.status_code, "retry_after": refused.headers.get("retry-after"),
                       "content_type": refused.headers.get("content-type"), "detail": refused.text[:300]}
        filler.unlink()  # space returns: no restart needed
        rows = [{"sensor": p.world.sensor_a, "ts": f"2026-11-28T11:00:00.{k:06d}+00:00", "value": 0.5}
                for k in range(60)]
        again = await p.client.post("/api/v1/readings", json={"readings": rows}, headers=p.auth)
        report["again"] = again.status_code
        report["stored"] = await p.wait_stored(acked + 60, within=30)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))

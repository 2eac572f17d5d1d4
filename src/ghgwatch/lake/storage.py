"""Where the lake lives: a local folder or S3-compatible object storage, through one fsspec filesystem.

Layout under the root (Hive-style partitions, so DuckDB, Spark or pandas read it as one dataset)::

    readings/organization_id=<id>/date=<YYYY-MM-DD>/part-0.parquet   raw readings of one UTC day
    readings/organization_id=<id>/date=<YYYY-MM-DD>/manifest.json    rows, bytes, SHA-256, time span
    readings/organization_id=<id>/month=<YYYY-MM>/part-<sha>.parquet a closed month, compacted (lake/compact.py)
    readings/organization_id=<id>/month=<YYYY-MM>/manifest.json      its files and days, with checksums
    readings/organization_id=<id>/manifest.json                      every exported day of the organisation
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ghgwatch.settings import LakeSettings

READINGS = "readings"


class LakeUnavailable(RuntimeError):
    """The lake is configured but its libraries are not installed (the ``lake`` extra)."""


@dataclass(frozen=True)
class Lake:
    fs: Any
    """An ``fsspec`` filesystem (``LocalFileSystem`` or ``s3fs.S3FileSystem``)."""
    root: str
    """The root inside ``fs``: an absolute folder, or ``bucket/prefix``."""
    protocol: str
    """``file`` or ``s3``."""

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def url(self, relative: str) -> str:
        """A URL DuckDB can read through the registered filesystem."""
        return f"{self.protocol}://{self.path(relative)}" if self.protocol != "file" else self.path(relative)

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write a whole object; local files are written aside and renamed, so a reader never sees half of one
        (an S3 PUT is atomic by itself)."""
        target = self.path(relative)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        if self.protocol == "file":
            tmp = target + ".tmp"
            with self.fs.open(tmp, "wb") as out:
                out.write(data)
            self.fs.mv(tmp, target)
        else:
            self.fs.pipe_file(target, data)

    def read_bytes(self, relative: str) -> bytes:
        data: bytes = self.fs.cat_file(self.path(relative))
        return data


def day_dir(organization_id: int, day: date) -> str:
    return f"{READINGS}/organization_id={organization_id}/date={day.isoformat()}"


def open_lake(settings: LakeSettings) -> Lake | None:
    """The configured lake, or ``None`` when ``lake.url`` is empty."""
    url = settings.url.strip()
    if not url:
        return None
    try:
        import fsspec
    except ImportError as exc:
        raise LakeUnavailable("the data lake needs the 'lake' extra: pip install 'ghgwatch[lake]'") from exc
    if url.startswith("s3://"):
        try:
            import s3fs
        except ImportError as exc:
            raise LakeUnavailable("an s3:// lake needs s3fs: pip install 'ghgwatch[lake]'") from exc
        client: dict[str, str] = {"region_name": settings.s3_region}
        if settings.s3_endpoint_url:
            client["endpoint_url"] = settings.s3_endpoint_url
        secret = settings.s3_secret.get_secret_value() if settings.s3_secret else None
        fs = s3fs.S3FileSystem(key=settings.s3_key or None, secret=secret, client_kwargs=client,
                               skip_instance_cache=True)
        return Lake(fs, url.removeprefix("s3://").rstrip("/"), "s3")
    path = Path(url.removeprefix("file://")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return Lake(fsspec.filesystem("file"), str(path), "file")

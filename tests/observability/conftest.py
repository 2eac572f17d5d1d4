from __future__ import annotations

from tests.ingest.conftest import platform

__all__ = ["platform"]

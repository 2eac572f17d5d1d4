"""Fixtures of the platform side of the inventory: the running platform of the ingest tests, helpers."""

from __future__ import annotations

from tests.ingest.conftest import Platform, platform

__all__ = ["Platform", "platform"]

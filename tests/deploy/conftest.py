from __future__ import annotations

from ._support import metrics_target, prometheus

__all__ = ["metrics_target", "prometheus"]

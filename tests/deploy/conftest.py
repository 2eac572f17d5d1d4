from __future__ import annotations

from ._support import metrics_target, prometheus, synthetic_prometheus, synthetic_target

__all__ = ["metrics_target", "prometheus", "synthetic_prometheus", "synthetic_target"]

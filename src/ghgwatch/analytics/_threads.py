"""OpenMP threads of scikit-learn's histogram GBDT, limited where they cost more than they save.

The GBDT runs OpenMP threads per tree and per predict call. For a few thousand rows, and for predict calls on a
few dozen rows, the threads cost more than they save, and on a busy machine they spin: `ghgwatch forecast` on
2,880 15-minute points took 442 s for the GBDT backtest at load average 12, 17 s on one thread
(docs/analytics.md); the multivariate model's fit on the longwall table took 382 s beside the test suite's other
workers, 6 s on a quieter machine. One thread below ``PARALLEL_ROWS`` training rows and for every predict.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

PARALLEL_ROWS = 20_000


@contextlib.contextmanager
def openmp_threads(rows: int | None = None) -> Iterator[None]:
    """OpenMP on one thread, unless ``rows`` (training rows) exceeds ``PARALLEL_ROWS``."""
    import sklearn.ensemble  # noqa: F401  (load its OpenMP runtime first: limits apply to loaded ones)
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    limit = None if rows is not None and rows > PARALLEL_ROWS else 1
    with threadpool_limits(limits=limit, user_api="openmp"):
        yield

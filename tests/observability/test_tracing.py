from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from ghgwatch.observability import tracing


@pytest.fixture(autouse=True)
def _off() -> Iterator[None]:
    yield
    tracing.setup_tracing(enabled=False)


def test_disabled_is_a_no_op() -> None:
    assert not tracing.setup_tracing(enabled=False)
    with tracing.span("x", sensor="s1"):
        assert tracing.current_trace_id() is None
    assert tracing.inject_context() == {}


def test_missing_opentelemetry_means_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import raise ImportError, cached module or not.
    for name in ("opentelemetry", "opentelemetry.trace", "opentelemetry.propagate"):
        monkeypatch.setitem(sys.modules, name, None)
    assert not tracing.setup_tracing(enabled=True)
    assert not tracing.tracing_enabled()
    with tracing.span("x"):
        pass


def test_enabled_with_the_api_propagates_context() -> None:
    pytest.importorskip("opentelemetry.trace", reason="opentelemetry-api is optional")
    assert tracing.setup_tracing(enabled=True)
    with tracing.span("ingest.accept", sensor="s1"):
        headers = tracing.inject_context()
    with tracing.span("pipeline.store", parent=headers):
        pass
    assert isinstance(headers, dict)

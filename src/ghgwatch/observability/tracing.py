"""Optional OpenTelemetry tracing: a reading's path from accept (ingest) to stored (pipeline).

OpenTelemetry is **not** a dependency. :func:`setup_tracing` turns tracing on only when asked to and
when ``opentelemetry`` is importable; everything else here is then a cheap no-op. Exporters are the
SDK's business (``OTEL_*`` environment variables with ``opentelemetry-sdk`` and an exporter installed);
with the API alone, spans are non-recording but context still propagates.

Use::

    with span("ingest.accept", sensor=sid):          # in ingest
        headers = inject_context()                    # put into the bus message headers
    with span("pipeline.store", parent=headers):      # in the pipeline, from the message headers
        ...
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_state: dict[str, Any] = {"tracer": None, "trace": None, "propagate": None}


def setup_tracing(*, enabled: bool, service_name: str = "ghgwatch") -> bool:
    """Enable tracing if asked and possible; return whether it is on. Safe to call again."""
    if not enabled:
        _state.update(tracer=None, trace=None, propagate=None)
        return False
    try:
        trace = importlib.import_module("opentelemetry.trace")
        propagate = importlib.import_module("opentelemetry.propagate")
    except ImportError:
        _state.update(tracer=None, trace=None, propagate=None)
        return False
    _state.update(tracer=trace.get_tracer(service_name), trace=trace, propagate=propagate)
    return True


def tracing_enabled() -> bool:
    return _state["tracer"] is not None


@contextmanager
def span(name: str, *, parent: Mapping[str, str] | None = None, **attributes: str | int | float) -> Iterator[None]:
    """A span around the block (no-op when off). ``parent``: headers from :func:`inject_context`."""
    tracer = _state["tracer"]
    if tracer is None:
        yield
        return
    context = _state["propagate"].extract(dict(parent)) if parent is not None else None
    with tracer.start_as_current_span(name, context=context, attributes=attributes):
        yield


def inject_context() -> dict[str, str]:
    """W3C trace-context headers of the current span (empty when tracing is off)."""
    carrier: dict[str, str] = {}
    if _state["propagate"] is not None:
        _state["propagate"].inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """Hex trace id of the current span, or ``None`` (tracing off, or no valid span)."""
    trace = _state["trace"]
    if trace is None:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}"

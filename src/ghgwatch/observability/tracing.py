"""OpenTelemetry tracing of a reading's path: accept → bus → pipeline batch and store → alert → notification.

OpenTelemetry is optional (the ``tracing`` extra). :func:`setup_tracing` turns tracing on only when asked to
and when ``opentelemetry`` is importable; everything else here is then a cheap no-op. With an OTLP endpoint
(``observability.otlp_endpoint``) spans are exported over OTLP/HTTP (protobuf) by a batch processor of a
tracer provider of our own (the process-global provider is left alone); without one, spans are non-recording
but context still propagates.

The trace context crosses the bus in the W3C ``traceparent``/``tracestate`` record headers. The pipeline
starts, per distinct accept context in a batch, a ``pipeline.store`` span that is a child of that accept
and ends when the batch's transaction committed, plus one ``pipeline.batch`` span linked to all of them; the
alert opened by a reading is a child of its ``pipeline.store`` span, and each notification of that alert a
child of the alert's span, so one trace links the accept to the alert and its notification.

Use::

    with span("ingest.accept", transport="http"):
        headers = bus_headers()                       # put into the bus records
    with span("pipeline.batch", links=[carrier_of(m.headers) for m in messages]):
        ...
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

_state: dict[str, Any] = {"tracer": None, "trace": None, "propagate": None, "provider": None}
_ALERTS: OrderedDict[int, dict[str, str]] = OrderedDict()
_ALERTS_KEPT = 10_000
_KEYS = ("traceparent", "tracestate")


def setup_tracing(*, enabled: bool, service_name: str = "ghgwatch", otlp_endpoint: str = "",
                  sample_ratio: float = 1.0) -> bool:
    """Enable tracing if asked (``enabled`` or an endpoint) and possible; return whether it is on. Safe to call
    again (a previous provider is flushed and shut down)."""
    shutdown_tracing()
    if not enabled and not otlp_endpoint:
        return False
    try:
        trace = importlib.import_module("opentelemetry.trace")
        propagate = importlib.import_module("opentelemetry.propagate")
    except ImportError:
        return False
    provider = None
    if otlp_endpoint:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        except ImportError:
            return False
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                                  sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint),
                                                       schedule_delay_millis=1000))
        tracer = provider.get_tracer("ghgwatch")
    else:
        tracer = trace.get_tracer(service_name)
    _state.update(tracer=tracer, trace=trace, propagate=propagate, provider=provider)
    return True


def flush_tracing(timeout_s: float = 10.0) -> None:
    """Export the spans ended so far (tests, shutdown)."""
    if _state["provider"] is not None:
        _state["provider"].force_flush(int(timeout_s * 1000))


def shutdown_tracing() -> None:
    provider = _state["provider"]
    _state.update(tracer=None, trace=None, propagate=None, provider=None)
    _ALERTS.clear()
    if provider is not None:
        provider.shutdown()


def tracing_enabled() -> bool:
    return _state["tracer"] is not None


def _context(carrier: Mapping[str, str] | None) -> Any:
    return _state["propagate"].extract(dict(carrier)) if carrier else None


def _links(carriers: Sequence[Mapping[str, str]]) -> list[Any]:
    trace = _state["trace"]
    out = []
    for carrier in carriers:
        ctx = trace.get_current_span(_context(carrier)).get_span_context()
        if ctx.is_valid:
            out.append(trace.Link(ctx))
    return out


@contextmanager
def span(name: str, *, parent: Mapping[str, str] | None = None, links: Sequence[Mapping[str, str]] = (),
         **attributes: str | int | float) -> Iterator[None]:
    """A span around the block (no-op when off). ``parent``: a carrier from :func:`inject_context`."""
    tracer = _state["tracer"]
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(name, context=_context(parent), attributes=attributes,
                                      links=_links(links)):
        yield


def start_span(name: str, *, parent: Mapping[str, str] | None = None, **attributes: str | int | float) -> Any:
    """A span that is not made current (end it with :func:`end_span`); None when tracing is off."""
    tracer = _state["tracer"]
    if tracer is None:
        return None
    return tracer.start_span(name, context=_context(parent), attributes=attributes)


def end_span(handle: Any) -> None:
    if handle is not None:
        handle.end()


def carrier_for(handle: Any) -> dict[str, str]:
    """W3C headers naming a span from :func:`start_span` as the parent."""
    carrier: dict[str, str] = {}
    if handle is not None and _state["propagate"] is not None:
        _state["propagate"].inject(carrier, context=_state["trace"].set_span_in_context(handle))
    return carrier


def inject_context() -> dict[str, str]:
    """W3C trace-context headers of the current span (empty when tracing is off)."""
    carrier: dict[str, str] = {}
    if _state["propagate"] is not None:
        _state["propagate"].inject(carrier)
    return carrier


def bus_headers() -> tuple[tuple[str, bytes], ...]:
    """The current trace context as bus record headers (empty when tracing is off or no span is current)."""
    return tuple((k, v.encode()) for k, v in inject_context().items() if k in _KEYS)


def carrier_of(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """The trace context carried by bus record headers (empty if none)."""
    return {k: v.decode(errors="replace") for k, v in headers if k in _KEYS}


def has_current_span() -> bool:
    trace = _state["trace"]
    return trace is not None and trace.get_current_span().get_span_context().is_valid


def remember_alert(alert_id: int, carrier: Mapping[str, str]) -> None:
    """Keep an alert's span context for its notifications (this process; the most recent 10,000 alerts)."""
    if carrier:
        _ALERTS[alert_id] = dict(carrier)
        _ALERTS.move_to_end(alert_id)
        while len(_ALERTS) > _ALERTS_KEPT:
            _ALERTS.popitem(last=False)


def alert_context(alert_id: int) -> dict[str, str] | None:
    return _ALERTS.get(alert_id)


def alert_opened(alert_id: int, parent: Mapping[str, str] | None, **attributes: str | int | float) -> None:
    """Record the opening of an alert as a span (child of the stored reading's context)."""
    handle = start_span("alert.open", parent=parent, alert=alert_id, **attributes)
    if handle is not None:
        remember_alert(alert_id, carrier_for(handle))
        handle.end()


def current_trace_id() -> str | None:
    """Hex trace id of the current span, or ``None`` (tracing off, or no valid span)."""
    trace = _state["trace"]
    if trace is None:
        return None
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"{ctx.trace_id:032x}"

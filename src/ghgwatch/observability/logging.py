"""Structured logs: JSON lines in cluster mode, readable lines in embedded mode.

Every record carries ``request_id`` (from :class:`RequestIdMiddleware`, a context variable, so it
follows the request through ``await``) and ``trace_id`` (when tracing is on). Extra fields passed as
``log.info("stored", extra={"readings": 120})`` become JSON keys.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ghgwatch.kit.ids import request_id
from ghgwatch.observability.tracing import current_trace_id

REQUEST_ID_HEADER = "x-request-id"
_request_id: ContextVar[str | None] = ContextVar("ghgwatch_request_id", default=None)
# A sender-chosen id is echoed into logs and headers, so accept only a short, plain token.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_HANDLER_NAME = "ghgwatch"
#: Libraries that log every request or state change at INFO (httpx: each request of the demo simulator and
#: of webhooks; amqtt and its state machine): shown from WARNING up unless the level is DEBUG.
CHATTY_LOGGERS = ("httpx", "httpcore", "amqtt", "transitions")
#: One line per HTTP request, written by :class:`RequestIdMiddleware` (uvicorn's own access log is off).
access_log = logging.getLogger("ghgwatch.access")
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    """Set the request id for the current context (for consumers handling one message, CLI jobs)."""
    _request_id.set(value)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``trace_id`` to every record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ids, extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "trace_id": getattr(record, "trace_id", None),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and key not in doc and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    """``12:00:01.123 INFO  ghgwatch.pipeline  stored 120 readings  [req=… trace=…]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s  %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name, value in (
                ("req", getattr(record, "request_id", None)),
                ("trace", getattr(record, "trace_id", None)),
            )
            if value
        ]
        return f"{line}  [{' '.join(ids)}]" if ids else line


def configure_logging(
    *, mode: str, level: int | str = "INFO", json_lines: bool | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Install one handler on the root logger (replacing a previous one of ours); return it.

    ``json_lines`` defaults to ``mode == "cluster"``. Call from the entry point, never at import.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    use_json = mode == "cluster" if json_lines is None else json_lines
    handler.setFormatter(JsonFormatter() if use_json else ReadableFormatter())
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    debug = root.getEffectiveLevel() <= logging.DEBUG
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)
    return handler


def _valid_or_new(raw: bytes | None) -> str:
    if raw is not None:
        text = raw.decode("latin-1")
        if _VALID_REQUEST_ID.match(text):
            return text
    return request_id()


class RequestIdMiddleware:
    """ASGI middleware: take ``X-Request-ID`` (if well-formed) or make one, bind it, echo it back.

    It also writes the access log (logger ``ghgwatch.access``, with the request id): server errors as
    warnings, client errors as info, the rest at debug level so that a busy ingest does not flood the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = next((v for k, v in scope.get("headers", []) if k == REQUEST_ID_HEADER.encode()), None)
        request_id = _valid_or_new(raw)
        token = _request_id.set(request_id)
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER.encode()]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                _log_access(scope, status, time.perf_counter() - started)
            _request_id.reset(token)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    level = logging.WARNING if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
    if access_log.isEnabledFor(level):
        access_log.log(level, "%s %s %d %.1f ms", scope.get("method", "-"), scope.get("path", "-"), status,
                       seconds * 1000, extra={"status": status, "duration_ms": round(seconds * 1000, 1)})

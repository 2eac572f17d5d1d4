"""Request ids and logs of the real app and of the process set-up done by ``ghgwatch up`` / ``serve``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from ghgwatch.cli.server import Role, _observe
from ghgwatch.observability.logging import JsonFormatter, ReadableFormatter, configure_logging
from ghgwatch.observability.tracing import tracing_enabled
from ghgwatch.settings import Mode, Settings


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def our_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.get_name() == "ghgwatch")


async def test_request_id_is_echoed_and_logged(client: httpx.AsyncClient, restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(mode="cluster", stream=stream)
    answer = await client.get("/api/v1/no-such-thing", headers={"X-Request-ID": "trace-me-42"})
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "trace-me-42"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [d for d in lines if d["logger"] == "ghgwatch.access"]
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-me-42"
    assert access[0]["status"] == 404
    assert access[0]["msg"].startswith("GET /api/v1/no-such-thing 404")


async def test_a_request_without_an_id_gets_a_fresh_one(client: httpx.AsyncClient) -> None:
    first, second = (await client.get("/healthz"), await client.get("/healthz"))
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2
    assert all(len(i) == 32 for i in ids)


async def test_successful_requests_are_logged_at_debug_level_only(client: httpx.AsyncClient,
                                                                  restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(mode="embedded", level="INFO", stream=stream)
    await client.get("/healthz")
    assert "ghgwatch.access" not in stream.getvalue()
    configure_logging(mode="embedded", level="DEBUG", stream=stream)
    await client.get("/healthz", headers={"X-Request-ID": "dbg-1"})
    line = next(x for x in stream.getvalue().splitlines() if "ghgwatch.access" in x)
    assert "GET /healthz 200" in line
    assert "[req=dbg-1]" in line


def settings(mode: Mode, **observability: object) -> Settings:
    return Settings(mode=mode, db={"url": "sqlite+aiosqlite:///x.db"}, security={"jwt_secret": "k" * 40},  # type: ignore[arg-type]
                    observability=observability)  # type: ignore[arg-type]


def test_cluster_mode_logs_json_and_embedded_mode_readable_lines(restore_logging: None) -> None:
    _observe(settings(Mode.CLUSTER), Role.API)
    assert isinstance(our_handler().formatter, JsonFormatter)
    _observe(settings(Mode.EMBEDDED), Role.ALL)
    assert isinstance(our_handler().formatter, ReadableFormatter)
    # an explicit setting wins over the mode's default
    _observe(settings(Mode.EMBEDDED, json_logs=True, log_level="warning"), Role.ALL)
    assert isinstance(our_handler().formatter, JsonFormatter)
    assert logging.getLogger().level == logging.WARNING


def test_tracing_follows_the_setting(restore_logging: None) -> None:
    _observe(settings(Mode.EMBEDDED, tracing=False), Role.ALL)
    assert not tracing_enabled()
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        _observe(settings(Mode.EMBEDDED, tracing=True), Role.ALL)
        assert not tracing_enabled()  # asked for, but not installed: stays off with a warning
    else:
        _observe(settings(Mode.EMBEDDED, tracing=True), Role.ALL)
        assert tracing_enabled()
        _observe(settings(Mode.EMBEDDED, tracing=False), Role.ALL)
        assert not tracing_enabled()


def test_chatty_libraries_are_quiet_unless_debugging(restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(mode="embedded", level="INFO", stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/api/v1/readings")
    logging.getLogger("httpx").warning("retrying")
    assert "HTTP Request" not in stream.getvalue()
    assert "retrying" in stream.getvalue()
    configure_logging(mode="embedded", level="DEBUG", stream=stream)
    logging.getLogger("httpx").info("HTTP Request: GET")
    assert "HTTP Request: GET" in stream.getvalue()
    configure_logging(mode="embedded", level="INFO", stream=io.StringIO())  # leave them quiet

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from ghgwatch.observability.logging import (
    RequestIdMiddleware,
    configure_logging,
    get_request_id,
    set_request_id,
)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_cluster_mode_writes_json_lines_with_ids_and_extras(stream: io.StringIO) -> None:
    configure_logging(mode="cluster", stream=stream)
    set_request_id("req-1")
    try:
        logging.getLogger("ghgwatch.test").info("stored %d readings", 3, extra={"table": "readings"})
    finally:
        set_request_id(None)
    doc = json.loads(stream.getvalue().strip())
    assert doc["msg"] == "stored 3 readings"
    assert doc["level"] == "info"
    assert doc["logger"] == "ghgwatch.test"
    assert doc["request_id"] == "req-1"
    assert doc["table"] == "readings"
    assert "trace_id" in doc
    assert doc["ts"].endswith("+00:00")


def test_exceptions_are_one_json_line(stream: io.StringIO) -> None:
    configure_logging(mode="cluster", stream=stream)
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("x").exception("failed")
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 1
    assert "ValueError: bad" in json.loads(lines[0])["exc"]


def test_embedded_mode_is_readable_and_reconfiguring_replaces_the_handler(stream: io.StringIO) -> None:
    configure_logging(mode="cluster", stream=io.StringIO())
    configure_logging(mode="embedded", stream=stream)
    assert sum(h.get_name() == "ghgwatch" for h in logging.getLogger().handlers) == 1
    set_request_id("abc")
    try:
        logging.getLogger("ghgwatch.pipeline").warning("lagging")
    finally:
        set_request_id(None)
    line = stream.getvalue().strip()
    assert "WARNING" in line
    assert "ghgwatch.pipeline  lagging" in line
    assert "[req=abc]" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


async def _echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    body = (get_request_id() or "").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"inner")]})
    await send({"type": "http.response.body", "body": body})


def _get(headers: dict[str, str]) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=RequestIdMiddleware(_echo_app))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/", headers=headers)

    return asyncio.run(run())


def test_middleware_keeps_a_well_formed_request_id() -> None:
    response = _get({"X-Request-ID": "client-42"})
    assert response.text == "client-42"
    assert response.headers.get_list("x-request-id") == ["client-42"]
    assert get_request_id() is None


@pytest.mark.parametrize("header", [None, "bad id with spaces", "x" * 200, "a<b>;c"])
def test_middleware_generates_an_id_for_missing_or_malformed_headers(header: str | None) -> None:
    response = _get({} if header is None else {"X-Request-ID": header})
    generated = response.headers["x-request-id"]
    assert generated == response.text
    assert len(generated) == 32
    assert generated != header

"""A lean HTTP/1.1 keep-alive client for the load generators: one connection, one request at a time.

Why not httpx: the load generator shares the machine's two cores with the system under test, and under
``ingest.py``'s saturating load httpx took about 0.4 of a core (py-spy: 59 % of the generator's samples in httpx
and httpcore, 14 % of them in an import-system lookup made on every request to find the async library) for about
155 requests a second. This client writes the request in one buffer and parses only the status line and the
headers it needs, so the generator takes a small share and the system under test gets the rest
(docs/benchmarks.md, issue 16). It speaks only what ``ghgwatch``'s server (uvicorn) answers: a body with
``Content-Length`` or ``Transfer-Encoding: chunked``.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """The server answered something this client does not understand, or closed the connection mid-answer."""


class Answer:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class RawClient:
    """``await client.post(path, body, headers)`` over one kept-alive connection (opened again when closed)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http:// URLs: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return self._streams

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        reader, writer = await self._connect()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
                     f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
        try:
            answer = await self._read(reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(f"connection closed before the answer was read: {exc}") from exc
        if answer.headers.get("connection", "").lower() == "close":
            await self.close()
        return answer

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Answer:
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
            raise HttpError(f"not an HTTP/1.x status line: {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # the empty trailer
            body = b"".join(chunks)
        else:
            raise HttpError(f"an answer without Content-Length or chunked encoding: {headers}")
        return Answer(int(status_line[1]), headers, body)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

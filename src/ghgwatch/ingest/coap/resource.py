"""``POST /readings`` over CoAP: the HTTP ingest's JSON body, the device token and signature as URI queries.

Request: Content-Format absent or 50 (``application/json``), the body of ``POST /api/v1/readings``, and
``Uri-Query`` options ``token=<device token>`` plus, for a signed request, ``ts=<unix seconds>`` and
``sig=sha256=<hex>`` (HMAC-SHA256 of ``"<ts>.<payload>"`` with the device's secret, exactly as the HTTP
``X-Timestamp``/``X-Signature`` headers; stale and replayed signatures are refused the same way).

Bodies larger than one datagram come block-wise (Block1, RFC 7959): aiocoap reassembles them, this resource
refuses a body over :data:`MAX_BODY` as soon as a block crosses it (4.13 with Size1), and renders only the
last block. The answer, 2.04 Changed with ``{"accepted": N, "rejected": [{"index", "error"}]}``, is sent
only after the accepted readings are durable on the bus; a large answer goes back block-wise (Block2).
Errors are problem details (JSON) under the CoAP code nearest to the HTTP status; 5.03 carries Max-Age, CoAP's
Retry-After: 1 s when the bus could not make the readings durable, the admission's ``retry_after_s`` while storage
is behind (``ingest/admission.py``, checked before the body is parsed, as over HTTP).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from aiocoap import Code, Message, resource
from aiocoap.numbers.contentformat import ContentFormat
from aiocoap.pipe import Pipe

from ghgwatch.bus import PublishError
from ghgwatch.ingest.admission import Admission
from ghgwatch.ingest.auth import DeviceAuthenticator
from ghgwatch.ingest.parse import parse_json
from ghgwatch.ingest.service import Ingestor
from ghgwatch.kit.problems import Problem, too_large, unauthorized
from ghgwatch.observability import metrics

log = logging.getLogger(__name__)
MAX_BODY = 8 * 1024 * 1024
"""The HTTP ingest's limit (``ingest/endpoints.py``): 10,000 readings fit well within it."""
JSON = ContentFormat.JSON

_CODES: dict[int, Code] = {
    400: Code.BAD_REQUEST,
    401: Code.UNAUTHORIZED,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    409: Code.CONFLICT,
    413: Code.REQUEST_ENTITY_TOO_LARGE,
    415: Code.UNSUPPORTED_CONTENT_FORMAT,
    422: Code.UNPROCESSABLE_ENTITY,
    429: Code.TOO_MANY_REQUESTS,
    503: Code.SERVICE_UNAVAILABLE,
}


def problem_message(problem: Problem, *, max_age: int | None = None) -> Message:
    """A problem as a CoAP answer: the nearest code, the RFC 9457 body as JSON; its ``Retry-After`` (or ``max_age``)
    as Max-Age, CoAP's Retry-After."""
    retry = (problem.headers or {}).get("Retry-After", "")
    if max_age is None and retry.isdigit():
        max_age = int(retry)
    fallback = Code.BAD_REQUEST if 400 <= problem.status < 500 else Code.INTERNAL_SERVER_ERROR
    code = _CODES.get(problem.status, fallback)
    message = Message(code=code, payload=msgspec.json.encode(problem.body("/readings")), content_format=JSON)
    if max_age is not None:
        message.opt.max_age = max_age
    return message


def _query(options: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for option in options:
        key, _, value = option.partition("=")
        out[key] = value
    return out


class ReadingsResource(resource.Resource):  # type: ignore[misc]  # aiocoap ships no type information
    """Shares the :class:`Ingestor` and :class:`DeviceAuthenticator` of the process with HTTP and MQTT."""

    def __init__(self, ingestor: Ingestor, auth: DeviceAuthenticator, admission: Admission | None = None) -> None:
        super().__init__()
        self.ingestor = ingestor
        self.auth = auth
        self.admission = admission

    async def render_to_pipe(self, pipe: Pipe) -> None:
        """Refuse an oversized block-wise body before aiocoap spools it (RFC 7959 §2.9.3: 4.13 with Size1)."""
        request = pipe.request
        block1 = request.opt.block1
        announced = request.opt.size1
        if (block1 is not None and block1.start + len(request.payload) > MAX_BODY) or (
                announced is not None and announced > MAX_BODY):
            metrics.observe_rejected("too_large", "coap")
            answer = problem_message(too_large(MAX_BODY, "Body too large"))
            answer.opt.size1 = MAX_BODY
            pipe.add_response(answer, is_last=True)
            return
        await super().render_to_pipe(pipe)

    async def render_post(self, request: Message) -> Message:
        started = time.perf_counter()
        try:
            body = await self._accept(request)
        except Problem as exc:
            return problem_message(exc)
        except PublishError as exc:
            return problem_message(Problem(503, "Not stored", "the readings could not be made durable, retry: {error}",
                                           type_="unavailable", values={"error": str(exc)}), max_age=1)
        except Exception:  # never let a request take the server down; the device gets a 5.00 it can retry
            log.exception("CoAP ingest request failed")
            return problem_message(Problem(500, "Internal error", "the request could not be handled; retry"))
        metrics.observe_ingest_request("coap", time.perf_counter() - started)
        return Message(code=Code.CHANGED, payload=msgspec.json.encode(body), content_format=JSON)

    async def _accept(self, request: Message) -> dict[str, Any]:
        query = _query(request.opt.uri_query)
        token = query.get("token", "")
        if not token:
            metrics.observe_rejected("auth", "coap")
            raise unauthorized("a device token is required: Uri-Query token=<token>")
        device = await self.auth.device(token)
        if self.admission is not None:
            self.admission.check("coap")  # storage behind: 5.03 + Max-Age, before the body is parsed
        payload = bytes(request.payload)
        await self.auth.verify_signature(device, query.get("ts"), query.get("sig"), payload)
        content_format = request.opt.content_format
        if content_format is not None and content_format != JSON:
            raise Problem(415, "Unsupported content format",
                          "Content-Format {format}: send application/json (50)",
                          type_="unsupported-media-type", values={"format": int(content_format)})
        parsed = parse_json(payload)
        result = await self.ingestor.accept(parsed, organization_id=device.organization_id, device_id=device.id,
                                            transport="coap")
        return result.body()

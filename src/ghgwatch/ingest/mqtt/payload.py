"""MQTT message bodies: the HTTP JSON body, or a signed envelope around it.

Signed envelope: ``{"timestamp": <unix s>, "signature": "sha256=<hex HMAC of "<timestamp>.<payload>">",
"payload": "<the JSON body as a string>"}`` with the device's HMAC secret, as for HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from ghgwatch.ingest.auth import DeviceAuthenticator, DeviceInfo
from ghgwatch.ingest.parse import Parsed, parse_json
from ghgwatch.kit.problems import Problem

TOPIC = re.compile(r"^ghgwatch/(\d+)/(\d+)/readings$")
SUBSCRIPTION = "ghgwatch/+/+/readings"


class _Envelope(msgspec.Struct):
    timestamp: float | int | str
    signature: str
    payload: str


_envelope = msgspec.json.Decoder(_Envelope)


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str
    organization_id: int | None = None
    """The organisation of the device that sent it, when the device is known: its dead letter goes there
    (never to the organisation named in the topic, which the sender chose)."""


def topic_ids(topic: str) -> tuple[int, int] | None:
    match = TOPIC.match(topic)
    return None if match is None else (int(match.group(1)), int(match.group(2)))


async def read_message(auth: DeviceAuthenticator, topic: str, payload: bytes) -> tuple[DeviceInfo, Parsed] | Rejected:
    """Authenticate and parse one message; a :class:`Rejected` says why it cannot be taken."""
    ids = topic_ids(topic)
    if ids is None:
        return Rejected("schema", f"topic {topic!r} is not ghgwatch/<organisation>/<device>/readings")
    organization_id, device_id = ids
    device = await auth.device_by_id(device_id)
    if device is None:
        return Rejected("auth", f"device {device_id} is unknown or revoked")
    if device.organization_id != organization_id:
        return Rejected("auth", f"device {device_id} does not belong to organisation {organization_id}",
                        device.organization_id)
    parsed = await _read_body(auth, device, payload)
    if isinstance(parsed, Rejected):
        return Rejected(parsed.reason, parsed.detail, device.organization_id)
    return device, parsed


async def _read_body(auth: DeviceAuthenticator, device: DeviceInfo, payload: bytes) -> Parsed | Rejected:
    body = payload
    if payload.lstrip().startswith(b'{"timestamp"') or b'"signature"' in payload[:200]:
        try:
            envelope = _envelope.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return Rejected("schema", f"bad signed envelope: {exc}")
        body = envelope.payload.encode()
        try:
            await auth.verify_signature(device, str(envelope.timestamp), envelope.signature, body)
        except Problem as exc:
            return Rejected("replay" if exc.status == 409 else "signature", exc.detail)
    elif device.require_signature:
        return Rejected("signature", "this device must sign its messages (signed envelope)")
    try:
        return parse_json(body)
    except Problem as exc:
        return Rejected("too_large" if exc.status == 413 else "schema", exc.detail or exc.title)

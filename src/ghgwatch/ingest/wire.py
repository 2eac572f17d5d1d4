"""The payload of ``readings.raw.v1``: the readings of one sensor from one request, as MessagePack.

One record per (sensor, unit) of a request keeps per-sensor order on the bus (the key is the sensor id)
while amortising framing and publishing over many readings.
"""

from __future__ import annotations

import msgspec

from ghgwatch.bus import Record


class SensorBatch(msgspec.Struct, array_like=True, gc=False, frozen=True):
    sensor: int
    unit: str | None
    """As sent; ``None`` means the sensor's own unit."""
    ts: list[int]
    """Microseconds since the Unix epoch, UTC."""
    values: list[float]
    organization: int
    device: int
    transport: str
    accepted_us: int
    """When the sender was answered (for the accept-to-stored latency)."""
    ref: str
    """Request id; with the bus position it names a reading in dead letters."""
    flags: int = 0


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SensorBatch)


def encode(batch: SensorBatch) -> Record:
    return Record(key=str(batch.sensor).encode(), value=_encoder.encode(batch))


def decode(value: bytes) -> SensorBatch:
    return _decoder.decode(value)

"""On-disk frame format of the embedded log (all integers little-endian).

A segment file is a sequence of batch frames, one per (publish call, partition)::

    frame   = magic "GHB1" | u32 payload length | u32 CRC32(payload) | payload
    payload = i64 base offset | u32 record count | i64 append time (ms since epoch) | record * count
    record  = u32 key length | u32 value length | u16 header count | key | value | header * count
    header  = u16 name length | u32 value length | name (UTF-8) | value

Offsets are consecutive inside a partition: a frame's base offset is the previous frame's base + count.
A frame whose magic, length, CRC or base offset does not check out ends the valid part of the log.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from zlib import crc32

from .._types import Headers, Message, Record

MAGIC = b"GHB1"
PREFIX = struct.Struct("<4sII")
BATCH = struct.Struct("<qIq")
HEADER_SIZE = PREFIX.size + BATCH.size
MAX_PAYLOAD = 256 * 1024 * 1024
"""Larger lengths are taken as corruption (a torn length field), not as data."""

_REC = struct.Struct("<IIH")
_HDR = struct.Struct("<HI")


def encode_frame(base_offset: int, timestamp_ms: int, records: Sequence[Record]) -> bytes:
    """One frame holding ``records`` with offsets ``base_offset ...``."""
    pack = _REC.pack
    parts: list[bytes] = [BATCH.pack(base_offset, len(records), timestamp_ms)]
    append = parts.append
    for record in records:
        key, value, headers = record.key, record.value, record.headers
        append(pack(len(key), len(value), len(headers)))
        append(key)
        append(value)
        for name, header_value in headers:
            encoded = name.encode()
            append(_HDR.pack(len(encoded), len(header_value)))
            append(encoded)
            append(header_value)
    payload = b"".join(parts)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a publish call to one partition is limited to {MAX_PAYLOAD} bytes")
    return PREFIX.pack(MAGIC, len(payload), crc32(payload)) + payload


def parse_prefix(data: bytes) -> tuple[int, int, int, int, int] | None:
    """``(payload length, crc, base offset, count, timestamp ms)`` of a frame start, or None if not one."""
    if len(data) < HEADER_SIZE:
        return None
    magic, length, crc = PREFIX.unpack_from(data)
    if magic != MAGIC or length < BATCH.size or length > MAX_PAYLOAD:
        return None
    base, count, ts_ms = BATCH.unpack_from(data, PREFIX.size)
    return length, crc, base, count, ts_ms


def decode_records(payload: bytes, topic: str, partition: int, first: int, max_records: int) -> list[Message]:
    """Messages of a checked payload with offset >= ``first``, at most ``max_records`` of them."""
    base, count, ts_ms = BATCH.unpack_from(payload)
    timestamp = ts_ms / 1000.0
    unpack = _REC.unpack_from
    out: list[Message] = []
    pos = BATCH.size
    for offset in range(base, base + count):
        key_len, value_len, n_headers = unpack(payload, pos)
        pos += _REC.size
        key_end = pos + key_len
        value_end = key_end + value_len
        headers: Headers = ()
        end = value_end
        if n_headers:
            headers, end = _decode_headers(payload, value_end, n_headers)
        if offset >= first:
            out.append(
                Message(
                    topic,
                    partition,
                    offset,
                    payload[pos:key_end],
                    payload[key_end:value_end],
                    headers,
                    timestamp,
                )
            )
            if len(out) >= max_records:
                break
        pos = end
    return out


def _decode_headers(payload: bytes, pos: int, count: int) -> tuple[Headers, int]:
    items: list[tuple[str, bytes]] = []
    for _ in range(count):
        name_len, value_len = _HDR.unpack_from(payload, pos)
        pos += _HDR.size
        name = payload[pos : pos + name_len].decode()
        pos += name_len
        items.append((name, payload[pos : pos + value_len]))
        pos += value_len
    return tuple(items), pos


def payload_ok(payload: bytes, crc: int) -> bool:
    return crc32(payload) == crc

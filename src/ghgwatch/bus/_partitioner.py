"""Key to partition: CRC32 of the key modulo the partition count.

This is librdkafka's ``consistent`` hash, so the embedded log and the Kafka producer (default
``consistent_random`` partitioner) place a keyed record on the same partition number.
"""

from __future__ import annotations

from zlib import crc32


def partition_for(key: bytes, partitions: int) -> int:
    return crc32(key) % partitions

"""The bus contract: records in, messages out, a publisher and a consumer group, both narrow.

Delivery is at-least-once. :meth:`Bus.publish` returns only when every record is durable, and a consumer
sees a message again after a restart unless its offset was committed, so consumers must be idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

Headers = tuple[tuple[str, bytes], ...]


class TopicPartition(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Record:
    """One record to publish. Records with the same key go to the same partition, in order."""

    key: bytes
    value: bytes
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Message:
    """One consumed record with its position. ``timestamp`` is Unix seconds of the append (or create) time."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: Headers
    timestamp: float

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


class BusError(RuntimeError):
    """The bus cannot do what was asked (closed, broken, misconfigured)."""


class BusLockedError(BusError):
    """The embedded log is already open in another process (or another bus in this one)."""


class PublishError(BusError):
    """At least one record of a publish call is not known to be durable; the caller should retry the call."""


class CommitError(BusError):
    """Offsets were not committed. Safe to carry on: the uncommitted messages will be delivered again."""


class RebalanceListener(Protocol):
    """Told which partitions a consumer-group member owns, so that state kept per partition can be handed over.

    Kafka calls it synchronously from the thread that polls (inside ``poll``, in a worker thread, while the group
    waits for the member; also from ``stop``): the group moves on when the call returns. It must not call the
    consumer. The embedded log never calls it: its group has one member, which owns every partition while it runs.
    """

    def assigned(self, partitions: frozenset[TopicPartition], counts: Mapping[str, int]) -> None:
        """The member now owns ``partitions`` (the whole assignment, not only what was added); ``counts``: how
        many partitions each subscribed topic has (to map a key to its partition)."""

    def revoked(self, partitions: frozenset[TopicPartition], *, lost: bool) -> None:
        """The member no longer owns ``partitions``. ``lost``: taken away without a revocation (the member was
        out of the group too long): another member may own them already."""


class Consumer(Protocol):
    """One member of a consumer group, subscribed to a fixed set of topics."""

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Leave the group without committing; uncommitted messages go to the next member or restart."""

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Message]:
        """Up to ``max_records`` messages, waiting at most ``timeout_s`` for the first; ``[]`` on timeout.

        Each call continues after the last message returned (the in-memory position), whether or not it
        was committed. Per partition the messages are in offset order.
        """
        ...

    async def commit(self, offsets: Iterable[Message] | Mapping[TopicPartition, int]) -> None:
        """Durably commit processed messages (per partition: highest offset + 1), or next offsets as given.

        Raises :class:`CommitError` when the commit failed (e.g. after a rebalance).
        """
        ...

    async def lag(self) -> dict[TopicPartition, int]:
        """Messages not yet committed, per partition of the subscription (the pipeline-lag metric)."""
        ...


class Bus(Protocol):
    """A publish/subscribe log chosen by URL (see :func:`ghgwatch.bus.open_bus`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int | None = None) -> None:
        """Create missing topics (``partitions`` or the bus default); existing topics are left as they are."""
        ...

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        """Append records; return when all are durable, else raise :class:`PublishError`.

        Durable means fsync'd (embedded) or acknowledged by all in-sync replicas (Kafka, ``acks=all``).
        A failed call may have stored some of its records: retrying gives duplicates, never losses.
        """
        ...

    def consumer(self, group: str, topics: Sequence[str], *, listener: RebalanceListener | None = None) -> Consumer:
        """A consumer of ``topics`` in ``group``, not yet started; it starts after the last committed offsets
        of the group (or at the earliest retained message for partitions the group never committed).
        ``listener`` hears which partitions the member owns as they move between members."""
        ...


def next_offsets(offsets: Iterable[Message] | Mapping[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Per partition, the offset to commit: highest message offset + 1, or the mapping as given."""
    if isinstance(offsets, Mapping):
        return {TopicPartition(*tp): int(o) for tp, o in offsets.items()}
    highest: dict[tuple[str, int], int] = {}  # plain tuples: a TopicPartition per message cost more than the rest
    for message in offsets:
        key = (message.topic, message.partition)
        if message.offset > highest.get(key, -1):
            highest[key] = message.offset
    return {TopicPartition(topic, partition): offset + 1 for (topic, partition), offset in highest.items()}

"""A Kafka consumer-group member: batches via ``consume`` in a thread, synchronous manual commits."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import KafkaException
from confluent_kafka import TopicPartition as RdTopicPartition

from .._types import BusError, CommitError, Message, RebalanceListener, TopicPartition, next_offsets
from ._config import CONSUMER_DEFAULTS, client_config

log = logging.getLogger(__name__)


def _to_message(raw: Any) -> Message:
    headers = raw.headers()
    return Message(
        raw.topic(),
        raw.partition(),
        raw.offset(),
        raw.key() or b"",
        raw.value() or b"",
        tuple((name, value or b"") for name, value in headers) if headers else (),
        raw.timestamp()[1] / 1000.0,
    )


def _names(partitions: frozenset[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(partitions)) or "nothing"


class KafkaConsumer:
    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: Sequence[str],
        *,
        client_id: str,
        extra: Mapping[str, Any],
        listener: RebalanceListener | None = None,
    ) -> None:
        self.group = group
        self.topics = list(topics)
        self._config = client_config(bootstrap, client_id, CONSUMER_DEFAULTS, {"group.id": group, **extra})
        self._consumer: Any = None
        self._lock = asyncio.Lock()  # librdkafka calls are serialised, and never run after close()
        self._stash: list[Message] = []  # fetched by a cancelled poll: handed out by the next one
        self._listener = listener
        self._owned: frozenset[TopicPartition] = frozenset()  # the whole assignment (callbacks: poll thread)
        self._counts: dict[str, int] = {}
        self._owned_lock = threading.Lock()

    async def start(self) -> None:
        if self._consumer is not None:
            raise BusError("consumer already started")
        consumer = RdConsumer(self._config)
        if self._listener is not None:
            self._counts = await asyncio.to_thread(self._partition_counts, consumer)
        consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        self._consumer = consumer

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this member owns (as last told by the group; empty before the first assignment)."""
        with self._owned_lock:
            return self._owned

    def _partition_counts(self, consumer: Any) -> dict[str, int]:
        counts: dict[str, int] = {}
        for topic in self.topics:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            counts[topic] = len(meta.partitions) if meta is not None and meta.error is None else 0
        return counts

    # Rebalance callbacks: librdkafka calls them inside ``consume`` (the poll thread). With the eager protocol an
    # assignment is whole and every partition is revoked first; with the cooperative one both are increments: the
    # listener always hears the whole assignment.
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        added = {TopicPartition(p.topic, p.partition) for p in partitions}
        with self._owned_lock:
            self._owned = owned = self._owned | added
        log.info("consumer group %s: this member owns %s", self.group, _names(owned))
        if self._listener is None:
            return
        if any(tp.partition >= self._counts.get(tp.topic, 0) for tp in added):  # partitions were added to a topic
            self._counts = self._partition_counts(consumer)
        self._listener.assigned(owned, dict(self._counts))

    def _on_revoke(self, consumer: Any, partitions: list[Any], *, lost: bool = False) -> None:
        gone = frozenset(TopicPartition(p.topic, p.partition) for p in partitions)
        with self._owned_lock:
            self._owned = self._owned - gone
        if gone:
            log.info("consumer group %s: %s %s", self.group, _names(gone), "lost" if lost else "revoked")
            if self._listener is not None:
                self._listener.revoked(gone, lost=lost)
        del consumer

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        self._on_revoke(consumer, partitions, lost=True)

    async def stop(self) -> None:
        async with self._lock:
            consumer, self._consumer = self._consumer, None
            if consumer is not None:
                await asyncio.to_thread(consumer.close)

    def _running(self) -> Any:
        if self._consumer is None:
            raise BusError("the consumer is not running")
        return self._consumer

    async def poll(self, max_records: int = 1000, timeout_s: float = 1.0) -> list[Message]:
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        async with self._lock:
            if self._stash:
                out, self._stash = self._stash[:max_records], self._stash[max_records:]
                return out
            consumer = self._running()
            task = asyncio.ensure_future(asyncio.to_thread(self._consume, consumer, max_records, timeout_s))
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                task.add_done_callback(self._keep)
                raise

    def _keep(self, task: asyncio.Future[list[Message]]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._stash = task.result() + self._stash

    @staticmethod
    def _consume(consumer: Any, max_records: int, timeout_s: float) -> list[Message]:
        out: list[Message] = []
        for raw in consumer.consume(max_records, timeout_s):
            error = raw.error()
            if error is None:
                out.append(_to_message(raw))
            elif error.fatal():
                raise BusError(f"kafka consumer failed: {error}")
            else:  # e.g. a topic not created yet; librdkafka retries by itself
                log.warning("kafka consumer: %s", error)
        return out

    async def commit(self, offsets: Iterable[Message] | Mapping[TopicPartition, int]) -> None:
        wanted = next_offsets(offsets)
        if not wanted:
            return
        rd = [RdTopicPartition(tp.topic, tp.partition, offset) for tp, offset in wanted.items()]
        async with self._lock:
            consumer = self._running()
            try:
                result = await asyncio.to_thread(consumer.commit, offsets=rd, asynchronous=False)
            except KafkaException as exc:
                raise CommitError(f"commit of group {self.group!r} failed: {exc}") from exc
        failed = [f"{tp.topic}[{tp.partition}]: {tp.error}" for tp in result or () if tp.error is not None]
        if failed:
            raise CommitError(f"commit of group {self.group!r} failed for {', '.join(failed)}")

    async def lag(self) -> dict[TopicPartition, int]:
        """Lag of the partitions assigned to this member (other members report theirs).

        The end offsets are the high watermarks of the latest fetch responses (no extra request); only
        partitions not fetched yet ask the broker. (tansu 0.6 answers ListOffsets with a wrong end offset.)
        """
        async with self._lock:
            consumer = self._running()
            return await asyncio.to_thread(self._lag, consumer)

    @staticmethod
    def _lag(consumer: Any) -> dict[TopicPartition, int]:
        assignment = consumer.assignment()
        if not assignment:
            return {}
        result: dict[TopicPartition, int] = {}
        for tp in consumer.committed(assignment, timeout=10):
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:
                low, high = consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            base = tp.offset if tp.offset >= 0 else low
            result[TopicPartition(tp.topic, tp.partition)] = max(high - base, 0)
        return result

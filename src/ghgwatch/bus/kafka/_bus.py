"""Kafka through confluent-kafka: an idempotent producer whose delivery reports are awaited per call."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from .._types import BusError, PublishError, RebalanceListener, Record
from ..topics import check_name
from ._config import PRODUCER_DEFAULTS, client_config, split_options
from ._consumer import KafkaConsumer

if TYPE_CHECKING:
    from .._registry import BusUrl

log = logging.getLogger(__name__)


class _Delivery:
    """Counts the delivery reports of one publish call (poll thread) and resolves its future (loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None], expected: int) -> None:
        self._loop, self._future = loop, future
        self._lock = threading.Lock()
        self._pending = expected
        self._errors = 0
        self._first_error: str | None = None

    def report(self, err: KafkaError | None, _msg: object) -> None:
        with self._lock:
            if err is not None:
                self._errors += 1
                self._first_error = self._first_error or str(err)
            self._pending -= 1
            done = self._pending == 0
        if done:
            self._loop.call_soon_threadsafe(self._finish)

    def not_produced(self, count: int, reason: str) -> None:
        """``count`` records never reached the producer queue: they will not report."""
        with self._lock:
            self._errors += count
            self._first_error = self._first_error or reason
            self._pending -= count
            done = self._pending == 0
        if done:
            self._loop.call_soon_threadsafe(self._finish)

    def fail_rest(self, reason: str) -> None:
        """The producer died: the records still pending will never report."""
        with self._lock:
            left = self._pending
        if left > 0:
            self.not_produced(left, reason)

    def _finish(self) -> None:
        if self._future.done():
            return
        if self._errors:
            self._future.set_exception(PublishError(f"{self._errors} record(s) not delivered: {self._first_error}"))
        else:
            self._future.set_result(None)


class KafkaBus:
    def __init__(
        self,
        bootstrap: str,
        *,
        partitions: int = 4,
        replication: int = -1,
        client_id: str = "ghgwatch",
        producer_config: dict[str, Any] | None = None,
        consumer_config: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.replication = replication
        self.client_id = client_id
        self._producer_config = producer_config or {}
        self._consumer_config = consumer_config or {}
        self._producer: Any = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._pending: set[_Delivery] = set()
        self._fatal: str | None = None
        """Set when the producer hit a fatal error (e.g. a broker that lost the idempotent producer's state):
        the next publish builds a new producer, so the bus recovers by itself."""

    @classmethod
    def from_url(cls, url: BusUrl, *, data_dir: Path) -> KafkaBus:
        if not url.location:
            raise BusError("kafka bus URL needs host:port, e.g. kafka://127.0.0.1:9092")
        own, producer, consumer = split_options(url.options)
        unknown = set(own) - {"partitions", "replication", "client_id"}
        if unknown:
            raise BusError(f"unknown option(s) for the kafka bus: {', '.join(sorted(unknown))}")
        return cls(
            url.location,
            partitions=int(own.get("partitions", 4)),
            replication=int(own.get("replication", -1)),
            client_id=own.get("client_id", "ghgwatch"),
            producer_config=dict(producer),
            consumer_config=dict(consumer),
        )

    async def start(self) -> None:
        if self._producer is not None:
            raise BusError("bus already started")
        self._stopping.clear()
        self._new_producer()

    def _new_producer(self) -> None:
        config = client_config(self.bootstrap, self.client_id, PRODUCER_DEFAULTS, self._producer_config)
        self._producer = Producer(config)
        self._fatal = None
        self._poller = threading.Thread(target=self._poll_loop, args=(self._producer,), name="ghgwatch-kafka-poll",
                                        daemon=True)
        self._poller.start()

    def _poll_loop(self, producer: Any) -> None:
        while not self._stopping.is_set() and producer is self._producer:
            try:
                producer.poll(0.05)  # delivery callbacks run here
            except KafkaException as exc:
                error = exc.args[0]
                if not error.fatal():
                    log.warning("kafka producer: %s", error)
                    continue
                log.error("kafka producer failed for good (%s); a new one is built at the next publish", error)
                self._fatal = str(error)
                for delivery in list(self._pending):
                    delivery.fail_rest(f"producer failed: {error}")
                return

    async def stop(self) -> None:
        producer, poller = self._producer, self._poller
        self._producer = self._poller = None
        if producer is None:
            return
        try:
            self._stopping.set()
            if poller is not None:
                await asyncio.to_thread(poller.join)
        finally:
            left = await asyncio.to_thread(producer.flush, 10.0)
            if left:
                log.warning("kafka bus: %d record(s) still undelivered at stop", left)

    async def ensure_topics(self, topics: Sequence[str], *, partitions: int | None = None) -> None:
        count = partitions or self.partitions
        new = [NewTopic(check_name(t), num_partitions=count, replication_factor=self.replication) for t in topics]
        if new:
            await asyncio.to_thread(self._create_topics, new)

    def _create_topics(self, new: list[NewTopic]) -> None:
        admin = AdminClient(client_config(self.bootstrap, self.client_id, {}, self._consumer_config))
        for topic, future in admin.create_topics(new, request_timeout=15).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise BusError(f"creating topic {topic!r} failed: {exc}") from exc

    async def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        producer = self._producer
        if producer is None:
            raise BusError("the bus is not started")
        check_name(topic)
        if self._fatal is not None:
            log.warning("kafka bus: replacing the failed producer (%s)", self._fatal)
            self._new_producer()
            producer = self._producer
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        delivery = _Delivery(loop, future, len(records))
        self._pending.add(delivery)
        try:
            await asyncio.to_thread(self._produce_all, producer, topic, records, delivery)
            await future
        finally:
            self._pending.discard(delivery)

    def _produce_all(self, producer: Any, topic: str, records: Sequence[Record], delivery: _Delivery) -> None:
        produce, report = producer.produce, delivery.report
        deadline = time.monotonic() + 30.0
        for i, record in enumerate(records):
            while True:
                try:
                    produce(
                        topic,
                        record.value,
                        record.key,
                        headers=list(record.headers) or None,
                        on_delivery=report,
                    )
                    break
                except BufferError:  # local queue full: the poll thread drains it
                    if time.monotonic() > deadline or self._stopping.is_set():
                        delivery.not_produced(len(records) - i, "producer queue full")
                        return
                    time.sleep(0.002)
                except KafkaException as exc:
                    if exc.args[0].fatal() or exc.args[0].code() == KafkaError._FATAL:
                        self._fatal = str(exc)
                    delivery.not_produced(len(records) - i, str(exc))
                    return

    def consumer(self, group: str, topics: Sequence[str], *,
                 listener: RebalanceListener | None = None) -> KafkaConsumer:
        return KafkaConsumer(
            self.bootstrap,
            check_name(group, "group"),
            [check_name(t) for t in topics],
            client_id=self.client_id,
            extra=self._consumer_config,
            listener=listener,
        )

"""The MQTT bridge (role ``mqtt``): device messages → bus, acknowledged only once durable.

It subscribes to ``ghgwatch/+/+/readings`` with QoS 1 in a persistent session and turns off the client
library's automatic PUBACK: a message is acknowledged to the broker only after its readings are durable on
the bus (or after it was dead-lettered), so a bridge killed mid-batch gets the unacknowledged messages again
from the broker. Messages that arrive together are handled as one batch with one durable publish.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec

from ghgwatch.bus import Bus, Record, topics
from ghgwatch.ingest.auth import DeviceAuthenticator
from ghgwatch.ingest.mqtt.payload import SUBSCRIPTION, Rejected, read_message
from ghgwatch.ingest.service import Ingestor
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.observability import metrics
from ghgwatch.readings.writer import DeadLetterRow, store_dead_letters
from ghgwatch.store import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    ca_file: str | None = None
    """PEM certificates to trust over TLS instead of the system's (``GHGWATCH_MQTT__CA_FILE``)."""

    @classmethod
    def parse(cls, url: str, ca_file: str | Path | None = None) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"MQTT URL must be mqtt://[user:pass@]host:port or mqtts://..., got {url!r}")
        return cls(parts.hostname or "127.0.0.1", parts.port or (8883 if parts.scheme == "mqtts" else 1883),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None, parts.scheme == "mqtts",
                   None if ca_file is None else str(ca_file))

    def tls_context(self) -> ssl.SSLContext | None:
        """Certificate and host name checked (``ssl.create_default_context``); ``None`` for plain MQTT."""
        return ssl.create_default_context(cafile=self.ca_file) if self.tls else None


class MqttBridge:
    def __init__(self, address: BrokerAddress, ingestor: Ingestor, auth: DeviceAuthenticator, db: Database | None,
                 bus: Bus, *, client_id: str = "ghgwatch-bridge", batch_max: int = 500) -> None:
        """``db`` None (the edge gateway): dead letters go to the bus topic only."""
        self.address = address
        self.ingestor = ingestor
        self.auth = auth
        self.db = db
        self.bus = bus
        self.client_id = client_id
        self.batch_max = batch_max
        self.accepted = 0
        self.rejected = 0
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="mqtt-bridge")

    async def stop(self) -> None:
        # aiomqtt's context exit waits for the broker to confirm DISCONNECT, which never comes when the
        # connection was cancelled half set up (seen when stopping right after a start): cancel that wait too.
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=5.0)
        await cancel_and_wait([task])

    async def _run_forever(self) -> None:
        import aiomqtt

        delay = 0.5
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("MQTT broker %s:%s unavailable (%s); retrying in %.1f s", self.address.host,
                            self.address.port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _session(self) -> None:
        import aiomqtt

        a = self.address
        client = aiomqtt.Client(a.host, a.port, username=a.username, password=a.password,
                                identifier=self.client_id, clean_session=False,
                                tls_context=a.tls_context(),
                                max_queued_incoming_messages=100_000)
        # aiomqtt has no switch for it: the underlying paho client must not PUBACK before we are done.
        client._client.manual_ack_set(True)
        async with client:
            await client.subscribe(SUBSCRIPTION, qos=1)
            self.connected.set()
            queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()

            async def read() -> None:
                async for message in client.messages:
                    queue.put_nowait(message)

            reader = asyncio.create_task(read())
            try:
                while True:
                    batch = [await queue.get()]
                    while len(batch) < self.batch_max and not queue.empty():
                        batch.append(queue.get_nowait())
                    await self._handle(batch)
                    for message in batch:
                        client._client.ack(message.mid, message.qos)
            finally:
                reader.cancel()

    async def _handle(self, batch: Sequence[object]) -> None:
        started = time.perf_counter()
        records: list[Record] = []
        dead: list[DeadLetterRow] = []
        for message in batch:
            topic = str(getattr(message, "topic", ""))
            payload = bytes(getattr(message, "payload", b"") or b"")
            read = await read_message(self.auth, topic, payload)
            if isinstance(read, Rejected):
                preview = payload[:500].decode(errors="replace")
                # Shown to the sending device's organisation, never to the one its topic names (the sender
                # chose the topic); a message of no known device is seen by platform administrators only.
                dead.append(DeadLetterRow(f"mqtt/{topic}/{time.time_ns()}", read.organization_id, None, "mqtt",
                                          read.reason, read.detail, {"topic": topic, "payload": preview}))
                continue
            device, parsed = read
            built, result = await self.ingestor.prepare(parsed, organization_id=device.organization_id,
                                                        device_id=device.id, transport="mqtt")
            records.extend(built)
            self.accepted += result.accepted
            dead.extend(
                DeadLetterRow(f"mqtt/{result.ref}/{r['index']}", device.organization_id, None, "mqtt",
                              "unknown_sensor" if "unknown sensor" in str(r["error"]) else "schema",
                              str(r["error"]), {"topic": topic, "index": r["index"]})
                for r in result.rejected)
        await self.ingestor.publish(records)
        if dead:
            self.rejected += len(dead)
            for d in dead:
                metrics.observe_rejected(d.reason, "mqtt")
            if self.db is not None:
                await store_dead_letters(self.db, dead)
            await self.bus.publish(topics.READINGS_DEADLETTER, [
                Record(key=str(d.sensor_id or 0).encode(), value=msgspec.json.encode(asdict(d)),
                       headers=(("reason", d.reason.encode()),)) for d in dead])
        metrics.observe_ingest_request("mqtt", time.perf_counter() - started)

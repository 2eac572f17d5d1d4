"""Cluster mode: an api/ui replica relays the alert events of ``alerts.v1`` to its own SSE hub.

The rule engine runs in the pipeline replicas (``alerts.service``), which publish every announced event to
``alerts.v1``; an SSE client connected to an api replica would otherwise hear only of what that replica did
itself. Each replica reads the whole topic in a consumer group of its own (fan-out: every replica sees every
event) and hands each event to the hub, which serves the SSE streams of the event's organisation.

A new group starts at the oldest retained event, so events appended before the relay started (minus
``REPLAY_S``, for an event published while the replica was starting) are skipped, not replayed to the
clients. Nothing is committed: a restarted replica has new SSE clients, which load the current state from
``GET /api/v1/alerts``. Where the alert service runs in the same process (``ghgwatch up``, role ``all``) it
publishes to the hub itself, and no relay is started, unless the bus is shared with other replicas (several
replicas of role ``all`` on Kafka): then each relays the others' events, and skips its own (``origin``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any

import msgspec

from ghgwatch.alerts.accept_lane import origin_of
from ghgwatch.alerts.handover import shared
from ghgwatch.alerts.hub import AlertHub, hub_of
from ghgwatch.bus import topics
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
REPLAY_S = 5.0
EXTRA_KEY = "alerts_relay"


def relay_group() -> str:
    """A consumer group of this replica alone (every replica gets every event)."""
    return f"alerts-relay-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class AlertRelay:
    def __init__(self, bus: Any, hub: AlertHub, *, group: str | None = None, replay_s: float = REPLAY_S,
                 origin: str | None = None) -> None:
        self.bus, self.hub = bus, hub
        self.origin = origin
        """This process's name in the events it published itself (alerts/accept_lane.py): already on its hub."""
        self.group = group or relay_group()
        self.replay_s = replay_s
        self.relayed = 0
        self.skipped = 0
        self.started_at = 0.0
        self.ready = asyncio.Event()
        """Set once the consumer has joined and polled (events published from then on are relayed)."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.started_at = time.time()
        self._task = asyncio.create_task(self._run(), name="alerts-relay")

    async def stop(self) -> None:
        await cancel_and_wait([self._task])
        self._task = None

    async def _run(self) -> None:
        while True:  # an unexpected failure restarts the consumer (a new member of the same group)
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relaying alert events failed; restarting in 1 s")
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        consumer = self.bus.consumer(self.group, [topics.ALERTS])
        await consumer.start()
        try:
            while True:
                messages = await consumer.poll(1000, timeout_s=0.5)
                self.ready.set()
                for m in messages:
                    if m.timestamp < self.started_at - self.replay_s:
                        self.skipped += 1
                        continue
                    try:
                        event = msgspec.json.decode(m.value)
                        if self.origin is not None and event.get("origin") == self.origin:
                            self.skipped += 1
                            continue
                        self.hub.publish(event)
                    except Exception:  # one bad record must not stop the relay
                        log.exception("alert event at %s/%d offset %d not relayed", m.topic, m.partition, m.offset)
                        continue
                    self.relayed += 1
        finally:
            await consumer.stop()


async def start_relay(ctx: AppContext) -> None:
    """The ``alerts-relay`` service of the api and ui roles; where the alert service runs itself, only on a bus shared
    with other replicas (the alert service's own events carry this process's ``origin`` then)."""
    bus = ctx.extras.get("bus")
    if bus is None or ("alerts" in ctx.extras and not shared(bus)):
        return
    relay = AlertRelay(bus, hub_of(ctx.extras), origin=origin_of(ctx.extras))
    relay.start()
    ctx.extras[EXTRA_KEY] = relay


async def stop_relay(ctx: AppContext) -> None:
    relay: AlertRelay | None = ctx.extras.pop(EXTRA_KEY, None)
    if relay is not None:
        await relay.stop()

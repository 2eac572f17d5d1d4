"""Which services run in a process.

Every role serves ``/healthz`` and ``/metrics`` (and the REST API); ``api`` also accepts readings over
HTTP; ``pipeline`` consumes the bus and stores readings; ``all`` (``ghgwatch up``) runs everything. A
service is a pair of ``start(ctx)``/``stop(ctx)`` coroutines named as ``"module:function"``; services start
in the order of :data:`SERVICES` and stop in reverse. ``mqtt`` and ``coap`` accept readings over MQTT and CoAP
(UDP). Every ingestor of a process (HTTP, MQTT, CoAP) hands the readings it accepted, once durable, to the same
hooks (``ingest.service.accepted_hooks``): the alert service's live lane where it runs in the process, else the
accept lane (``alerts-accept``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from fastapi import FastAPI

from ghgwatch.settings import Settings
from ghgwatch.web.app import Hook, create_app
from ghgwatch.web.context import AppContext

log = logging.getLogger(__name__)
ROLES = ("all", "api", "pipeline", "mqtt", "analytics", "ui", "coap")
EVERY_ROLE = frozenset(ROLES)


@dataclass(frozen=True)
class Service:
    name: str
    roles: frozenset[str]
    start: str
    stop: str | None = None
    demo_only: bool = False


SERVICES: tuple[Service, ...] = (
    Service("bus", EVERY_ROLE, "ghgwatch.roles:start_bus", "ghgwatch.roles:stop_bus"),
    Service("lake", EVERY_ROLE, "ghgwatch.lifecycle.service:start_lake", "ghgwatch.lifecycle.service:stop_lake"),
    Service("ingest", frozenset({"api"}), "ghgwatch.roles:start_ingest"),
    Service("observability", frozenset({"pipeline"}), "ghgwatch.observability.service:start_observability",
            "ghgwatch.observability.service:stop_observability"),
    Service("alerts", frozenset({"pipeline"}), "ghgwatch.alerts.service:start_alerts",
            "ghgwatch.alerts.service:stop_alerts"),
    # replicas that accept readings judge their safety limits at once (skipped where "alerts" runs itself)
    Service("alerts-accept", frozenset({"api", "mqtt", "coap"}), "ghgwatch.alerts.accept_lane:start_accept_lane",
            "ghgwatch.alerts.accept_lane:stop_accept_lane"),
    # api/ui replicas serve SSE: they relay alerts.v1 to their hub (skipped where "alerts" runs itself)
    Service("alerts-relay", frozenset({"api", "ui"}), "ghgwatch.alerts.relay:start_relay",
            "ghgwatch.alerts.relay:stop_relay"),
    Service("pipeline", frozenset({"pipeline"}), "ghgwatch.roles:start_pipeline", "ghgwatch.roles:stop_pipeline"),
    Service("lifecycle", frozenset({"pipeline"}), "ghgwatch.lifecycle.service:start_lifecycle",
            "ghgwatch.lifecycle.service:stop_lifecycle"),
    Service("mqtt", frozenset({"mqtt"}), "ghgwatch.roles:start_mqtt", "ghgwatch.roles:stop_mqtt"),
    Service("coap", frozenset({"coap"}), "ghgwatch.ingest.coap.server:start_coap",
            "ghgwatch.ingest.coap.server:stop_coap"),
    Service("analytics", frozenset({"analytics"}), "ghgwatch.analytics.service:start_analytics",
            "ghgwatch.analytics.service:stop_analytics"),
    Service("demo", EVERY_ROLE, "ghgwatch.demo.service:start_demo", "ghgwatch.demo.service:stop_demo",
            demo_only=True),
)


def _load(target: str) -> Hook:
    module, _, name = target.partition(":")
    return cast(Callable[[AppContext], Awaitable[None]], getattr(importlib.import_module(module), name))


async def start_bus(ctx: AppContext) -> None:
    from ghgwatch.bus import open_bus, topics
    from ghgwatch.registry.cache import SensorCache

    bus = open_bus(ctx.settings.bus.url, data_dir=ctx.settings.data_dir)
    await bus.start()
    await bus.ensure_topics(list(topics.ALL_TOPICS))
    ctx.extras["bus"] = bus
    ctx.extras["sensors"] = SensorCache(ctx.db)


async def stop_bus(ctx: AppContext) -> None:
    bus = ctx.extras.pop("bus", None)
    if bus is not None:
        await bus.stop()


async def start_ingest(ctx: AppContext) -> None:
    from ghgwatch.ingest.admission import Admission
    from ghgwatch.ingest.auth import DeviceAuthenticator
    from ghgwatch.ingest.service import Ingestor, accepted_hooks

    # the alert service's live lane or the accept lane, whichever runs here
    ctx.extras["ingestor"] = Ingestor(ctx.extras["bus"], ctx.extras["sensors"], accepted_hooks(ctx.extras))
    admission = ctx.extras["admission"] = Admission(ctx.extras["bus"], ctx.settings.admission)
    if admission.probes:  # it learns the readings per record and per request from what is accepted
        accepted_hooks(ctx.extras).append(admission.on_accepted)
    ctx.extras["device_auth"] = DeviceAuthenticator(ctx.db, max_age_s=float(ctx.settings.security.signature_max_age_s))


async def start_pipeline(ctx: AppContext) -> None:
    from ghgwatch.pipeline.runner import Pipeline
    from ghgwatch.pipeline.store_process import StoreProcess

    store = StoreProcess(ctx.settings.database_url) if ctx.settings.pipeline.store_process else None
    pipeline = Pipeline(ctx.extras["bus"], ctx.db, ctx.extras["sensors"], hooks=ctx.extras.get("stored_hooks"),
                        raw_retention_days=ctx.settings.retention.raw_days,
                        listener=getattr(ctx.extras.get("alerts"), "handover", None),  # alerts/handover.py
                        store_process=store)
    ctx.extras["pipeline"] = pipeline
    pipeline.start()


async def stop_pipeline(ctx: AppContext) -> None:
    pipeline = ctx.extras.pop("pipeline", None)
    if pipeline is not None:
        await pipeline.stop()


def build_role_app(settings: Settings, role: str, *, demo: bool = False,
                   services: tuple[Service, ...] | None = None) -> FastAPI:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
    candidates = SERVICES if services is None else services
    chosen = [s for s in candidates if (role == "all" or role in s.roles) and (demo or not s.demo_only)]
    on_start = [_load(s.start) for s in chosen]
    on_stop = [_load(s.stop) for s in chosen if s.stop is not None]
    settings_with_demo = settings.model_copy(update={"demo": demo})
    return create_app(settings_with_demo, on_start=on_start, on_stop=on_stop, role=role)


async def start_mqtt(ctx: AppContext) -> None:
    """The MQTT bridge; with no broker configured (embedded mode), an embedded broker is started first."""
    from ghgwatch.ingest.auth import DeviceAuthenticator
    from ghgwatch.ingest.mqtt.bridge import BrokerAddress, MqttBridge
    from ghgwatch.ingest.service import ingestor_of
    from ghgwatch.security import service
    from ghgwatch.security.models import Device

    settings = ctx.settings
    try:
        import aiomqtt  # noqa: F401
    except ImportError:
        log.warning("MQTT is off: install the 'mqtt' extra (pip install 'ghgwatch[mqtt]') to accept MQTT readings")
        return
    url = settings.mqtt.url
    if not url:
        from ghgwatch.ingest.mqtt.broker import start_embedded_broker

        async def check(username: str, password: str) -> bool:
            async with ctx.db.sessions() as session:
                device = await service.authenticate_device(session, password)
            return device is not None and str(device.id) == username

        async def org_of(device_id: int) -> int | None:
            async with ctx.db.sessions() as session:
                device = await session.get(Device, device_id)
            return None if device is None or device.revoked_at is not None else device.organization_id

        port = _bindable_port(settings.api.host, settings.mqtt.embedded_port)
        if port != settings.mqtt.embedded_port:
            log.warning("MQTT port %s is taken; the embedded broker uses %s", settings.mqtt.embedded_port, port)
        broker = await start_embedded_broker(settings.api.host, port, check, org_of)
        ctx.extras["mqtt_broker"] = broker
        url = broker.url
        log.warning("embedded MQTT broker on %s (devices: username = <organisation id>/<device id>, "
                    "password = device token)", broker.public_url)
    auth = ctx.extras.get("device_auth") or DeviceAuthenticator(
        ctx.db, max_age_s=float(settings.security.signature_max_age_s))
    ingestor = ingestor_of(ctx.extras)  # its readings reach the accept lane (or live lane) like HTTP ones
    bridge = MqttBridge(BrokerAddress.parse(url, settings.mqtt.ca_file), ingestor, auth, ctx.db, ctx.extras["bus"])
    bridge.start()
    ctx.extras["mqtt_bridge"] = bridge


def _bindable_port(host: str, wanted: int) -> int:
    """``wanted`` if it can be bound on ``host`` now, else a free port (another ghgwatch may hold it)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, wanted))
        except OSError:
            probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def stop_mqtt(ctx: AppContext) -> None:
    bridge = ctx.extras.pop("mqtt_bridge", None)
    if bridge is not None:
        await bridge.stop()
    broker = ctx.extras.pop("mqtt_broker", None)
    if broker is not None:
        await broker.stop()

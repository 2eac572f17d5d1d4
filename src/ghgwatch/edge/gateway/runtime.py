"""Everything a gateway runs, started and stopped in order: its log, the ingest paths devices use (HTTP,
MQTT, CoAP, the platform's own code), local alarms, summaries, the forwarder and the configuration refresh."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from ghgwatch.alerts.hub import AlertHub
from ghgwatch.bus import Bus, open_bus, topics
from ghgwatch.edge.gateway._supervise import supervise
from ghgwatch.edge.gateway.alarms import ALARMS_TOPIC, EdgeAlarms
from ghgwatch.edge.gateway.forward import Forwarder
from ghgwatch.edge.gateway.registry import EdgeAuthenticator, EdgeSensors
from ghgwatch.edge.gateway.state import EdgeState, write_atomically
from ghgwatch.edge.gateway.summarize import SUMMARIES_TOPIC, Summarizer
from ghgwatch.edge.gateway.upstream import Upstream
from ghgwatch.edge.schemas import EdgeConfig
from ghgwatch.ingest.service import Ingestor
from ghgwatch.kit.aio import cancel_and_wait
from ghgwatch.settings import ConfigurationError, Settings
from ghgwatch.store import Database

log = logging.getLogger(__name__)


@dataclass
class EdgeContext:
    """What the platform's ingest router reads from ``app.state.ctx``
    (:class:`~ghgwatch.web.context.ServingContext`)."""

    settings: Settings
    extras: dict[str, Any] = field(default_factory=dict)
    db: Database | None = None
    """The gateway has no database: its rate limits stay in memory (``security.accounts.admit_ingest``)."""


def view_token(settings: Settings) -> str:
    """The bearer token of the gateway's own API: configured, or generated once into the data folder."""
    if settings.edge.view_token is not None:
        return settings.edge.view_token.get_secret_value()
    path = settings.data_dir / "view.token"
    if path.exists():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    write_atomically(path, token.encode())
    return token


class EdgeRuntime:
    def __init__(self, settings: Settings) -> None:
        edge = settings.edge
        if not edge.upstream or edge.token is None or edge.hmac_secret is None:
            raise ConfigurationError("an edge gateway needs --upstream, --token and --hmac-secret "
                                     "(GHGWATCH_EDGE__UPSTREAM, GHGWATCH_EDGE__TOKEN, GHGWATCH_EDGE__HMAC_SECRET)")
        self.settings = settings
        self.data_dir = settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.view_token = view_token(settings)
        self.state = EdgeState.open(self.data_dir)
        self.upstream = Upstream(edge.upstream, edge.token.get_secret_value(), edge.hmac_secret.get_secret_value(),
                                 timeout_s=edge.request_timeout_s, retry_max_s=edge.retry_max_s)
        self.hub = AlertHub()
        self.ctx = EdgeContext(settings)
        self.bus: Bus | None = None
        self.alarms: EdgeAlarms | None = None
        self.summarizer: Summarizer | None = None
        self.forwarder: Forwarder | None = None
        self.endpoints: dict[str, str] = {}
        self._mqtt: tuple[Any, Any] | None = None
        self._coap: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        settings, edge = self.settings, self.settings.edge
        bus = self.bus = open_bus("embedded:", data_dir=self.data_dir)
        await bus.start()
        await bus.ensure_topics([topics.READINGS_RAW, topics.READINGS_DEADLETTER])
        await bus.ensure_topics([ALARMS_TOPIC, SUMMARIES_TOPIC], partitions=1)  # one order for each stream
        auth = EdgeAuthenticator(self.state, max_age_s=float(settings.security.signature_max_age_s))
        ingestor = Ingestor(bus, EdgeSensors(self.state))
        self.ctx.extras.update(ingestor=ingestor, device_auth=auth, bus=bus)
        self.alarms = EdgeAlarms(bus, self.state, self.hub)
        await self.alarms.start()
        if edge.forward == "summary":
            self.summarizer = Summarizer(bus, self.state, self.data_dir, grace_s=edge.summary_grace_s)
            self.summarizer.start()
        self.forwarder = Forwarder(bus, self.upstream, edge.forward, self.data_dir, batch_max=edge.batch_max)
        self.forwarder.start()
        self._tasks.append(asyncio.create_task(supervise("config", self._keep_config), name="edge-config"))
        await self._start_mqtt(ingestor, auth)
        await self._start_coap(ingestor, auth)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        if self._coap is not None:
            await self._coap.stop()
        if self._mqtt is not None:
            bridge, broker = self._mqtt
            await bridge.stop()
            if broker is not None:
                await broker.stop()
        for part in (self.forwarder, self.summarizer, self.alarms):
            if part is not None:
                await part.stop()
        if self.bus is not None:
            await self.bus.stop()
        await self.upstream.close()

    # ------------------------------------------------------------------ configuration
    async def refresh_config(self) -> bool:
        """Fetch the configuration; True when it was fetched (changed or not)."""
        try:
            answer = await self.upstream.request("GET", "/api/v1/edge/config")
        except httpx.TransportError:
            return False
        if answer.status_code != 200:
            log.warning("the platform refused the configuration request: %s %s", answer.status_code,
                        answer.text[:300])
            return False
        try:
            config = msgspec.json.decode(answer.content, type=EdgeConfig)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("the platform's configuration could not be read: %s", exc)
            return False
        if await asyncio.to_thread(self.state.update, config):
            log.warning("configuration from %s: organisation %s, %d sensors, %d devices", self.upstream.base_url,
                        config.organization_id, len(config.sensors), len(config.devices))
        return True

    async def _keep_config(self) -> None:
        if self.state.config is None:
            log.warning("no configuration cached yet: devices are refused until the platform is reached")
        else:
            log.warning("configuration from the cache (%s): %d sensors", self.state.config.generated_at,
                        len(self.state.config.sensors))
        while True:
            fetched = await self.refresh_config()
            await asyncio.sleep(self.settings.edge.config_refresh_s if fetched and self.state.config else 1.0)

    # ------------------------------------------------------------------ device transports
    async def _start_mqtt(self, ingestor: Ingestor, auth: EdgeAuthenticator) -> None:
        try:
            import aiomqtt  # noqa: F401

            from ghgwatch.ingest.mqtt.bridge import BrokerAddress, MqttBridge
            from ghgwatch.ingest.mqtt.broker import start_embedded_broker
        except ImportError:
            log.warning("MQTT is off at the gateway: install the 'mqtt' extra")
            return
        assert self.bus is not None
        settings = self.settings
        broker = None
        url = settings.mqtt.url
        if not url:
            from ghgwatch.roles import _bindable_port  # a taken port falls back to a free one, as in ``up``

            # Devices log in as on the platform: username ``<organisation id>/<device id>`` (checked against
            # the gateway's one organisation by ``org_of``), or the bare device id, unambiguous here: the
            # gateway knows only its own organisation's devices, and device ids are unique on the platform.
            async def check(device_id: str, token: str) -> bool:
                try:
                    device = await auth.device(token)
                except Exception:  # unknown token, or no configuration yet
                    return False
                return str(device.id) == device_id

            host = settings.api.host
            port = _bindable_port(host, settings.mqtt.embedded_port)
            async def org_of(device_id: int) -> int | None:
                device = await auth.device_by_id(device_id)
                return None if device is None else device.organization_id

            broker = await start_embedded_broker(host, port, check, org_of)
            url = broker.url
            self.endpoints["mqtt"] = broker.public_url
        bridge = MqttBridge(BrokerAddress.parse(url, settings.mqtt.ca_file), ingestor, auth, None, self.bus,
                            client_id="ghgwatch-edge-bridge")
        bridge.start()
        self._mqtt = (bridge, broker)
        self.ctx.extras["mqtt_bridge"] = bridge  # as on the platform

    async def _start_coap(self, ingestor: Ingestor, auth: EdgeAuthenticator) -> None:
        try:
            import aiocoap  # noqa: F401
        except ImportError:
            log.warning("CoAP is off at the gateway: install the 'coap' extra")
            return
        from ghgwatch.ingest.coap.server import open_coap_server

        settings = self.settings
        self._coap = await open_coap_server(settings.coap.host or settings.api.host, settings.coap.port, ingestor,
                                            auth, fall_back=True)
        self.endpoints["coap"] = self._coap.url

    # ------------------------------------------------------------------ status
    async def status(self) -> dict[str, Any]:
        link = self.upstream.status
        config = self.state.config
        return {
            "organization_id": self.state.organization_id,
            "upstream": self.upstream.base_url,
            "forward": self.settings.edge.forward,
            "link": {"up": link.up, "since": link.since or None, "last_error": link.last_error or None},
            "config": {"source": self.state.source, "generated_at": config.generated_at.isoformat() if config else None,
                       "sensors": len(self.state.metas), "devices": len(self.state.devices)},
            "backlog": None if self.forwarder is None else await self.forwarder.backlog(),
            "sent": None if self.forwarder is None else dict(self.forwarder.sent),
            "rejected_upstream": None if self.forwarder is None else self.forwarder.rejected,
            "alarms_open": 0 if self.alarms is None else len(self.alarms.open),
            "evaluated": 0 if self.alarms is None else self.alarms.evaluated,
            "summaries": None if self.summarizer is None else {
                "sent_to_log": self.summarizer.summaries, "open_minutes": self.summarizer.open_minutes,
                "late": self.summarizer.late},
            "endpoints": self.endpoints,
        }

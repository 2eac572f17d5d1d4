"""An embedded MQTT broker (amqtt) for ``ghgwatch up`` when no broker is configured.

Devices log in with their device id as username and their device token as password; each may publish
only to its own topic ``ghgwatch/<organisation>/<device id>/readings``, where the organisation must be the
device's own (``org_of``; the bridge checks it again and takes the organisation from the device, never from
the topic). The bridge logs in with a random
password made at start-up. Production deployments use mosquitto (see docs/operations.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from ghgwatch.ingest.mqtt.payload import topic_ids

Checker = Callable[[str, str], Awaitable[bool]]
OrgOf = Callable[[int], Awaitable["int | None"]]
BRIDGE_USER = "ghgwatch-bridge"


class DeviceAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type information
    """Accepts the bridge (its start-up password) and devices (id + token, checked by ``checker``)."""

    @dataclass
    class Config:
        checker: Any = None
        bridge_password: str = ""

    async def authenticate(self, *, session: Session) -> bool:
        config: DeviceAuthPlugin.Config = self.config
        username, password = session.username or "", session.password or ""
        if username == BRIDGE_USER:
            return bool(config.bridge_password) and secrets.compare_digest(password, config.bridge_password)
        if not (username.isascii() and username.isdigit()) or not password or config.checker is None:
            return False
        return bool(await config.checker(username, password))


class DeviceTopicPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """Devices may only publish to their own readings topic; only the bridge may subscribe."""

    @dataclass
    class Config:
        org_of: Any = None
        extra: dict[str, Any] = field(default_factory=dict)

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool:
        username = session.username if session else None
        if username == BRIDGE_USER:
            return True
        if action is Action.PUBLISH and topic and username:
            ids = topic_ids(topic)
            if ids is None or str(ids[1]) != username:
                return False
            org_of = self.config.org_of
            return org_of is None or await org_of(ids[1]) == ids[0]
        return False


@dataclass
class EmbeddedBroker:
    host: str
    port: int
    bridge_password: str
    broker: Broker

    @property
    def url(self) -> str:
        return f"mqtt://{BRIDGE_USER}:{self.bridge_password}@{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.broker.shutdown()


async def start_embedded_broker(host: str, port: int, checker: Checker, org_of: OrgOf | None = None) -> EmbeddedBroker:
    """``org_of(device id)``: the device's organisation (``None``: unknown), checked against the topic."""
    password = secrets.token_urlsafe(24)
    config: dict[str, Any] = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            f"{__name__}.DeviceAuthPlugin": {"checker": checker, "bridge_password": password},
            f"{__name__}.DeviceTopicPlugin": {"org_of": org_of},
        },
    }
    broker = Broker(config)
    await broker.start()
    return EmbeddedBroker(host, port, password, broker)



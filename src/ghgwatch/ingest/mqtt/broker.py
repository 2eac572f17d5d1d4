"""An embedded MQTT broker (amqtt) for ``ghgwatch up`` when no broker is configured.

Devices log in with ``<organisation id>/<device id>`` as username (as at the compose mosquitto, whose ACL
``pattern write ghgwatch/%u/readings`` needs both) and their device token as password; a bare device id is
still accepted here, because this broker looks the organisation up itself. Each device may publish only to
its own topic ``ghgwatch/<organisation>/<device id>/readings``, where the organisation must be the device's own
(``org_of``) and, when the username names one, that one; a username naming another organisation than the
device's is refused at login. The bridge checks the organisation again and takes it from the device, never
from the topic. The bridge logs in with a random password made at start-up. Production deployments use
mosquitto (see docs/security.md).
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

from ghgwatch.ingest.mqtt.accounts import parse_account
from ghgwatch.ingest.mqtt.payload import topic_ids

Checker = Callable[[str, str], Awaitable[bool]]
"""``checker(device id, token)``: whether the token is that device's."""
OrgOf = Callable[[int], Awaitable["int | None"]]
BRIDGE_USER = "ghgwatch-bridge"


class DeviceAuthPlugin(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type information
    """Accepts the bridge (its start-up password) and devices (id + token, checked by ``checker``; the
    organisation of a username ``<organisation>/<device>`` checked by ``org_of``)."""

    @dataclass
    class Config:
        checker: Any = None
        bridge_password: str = ""
        org_of: Any = None

    async def authenticate(self, *, session: Session) -> bool:
        config: DeviceAuthPlugin.Config = self.config
        username, password = session.username or "", session.password or ""
        if username == BRIDGE_USER:
            return bool(config.bridge_password) and secrets.compare_digest(password, config.bridge_password)
        ids = parse_account(username)
        if ids is None or not password or config.checker is None:
            return False
        organization_id, device_id = ids
        if not await config.checker(str(device_id), password):
            return False
        if organization_id is None:
            return True
        return config.org_of is None or await config.org_of(device_id) == organization_id


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
            ids, own = topic_ids(topic), parse_account(username)
            if ids is None or own is None or ids[1] != own[1] or own[0] not in (None, ids[0]):
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
            f"{__name__}.DeviceAuthPlugin": {"checker": checker, "bridge_password": password, "org_of": org_of},
            f"{__name__}.DeviceTopicPlugin": {"org_of": org_of},
        },
    }
    broker = Broker(config)
    await broker.start()
    return EmbeddedBroker(host, port, password, broker)



"""The platform's sensor cache and device authenticator, answered from the gateway's configuration, so that the
ingest paths (HTTP router, MQTT bridge, CoAP resource, :class:`~ghgwatch.ingest.service.Ingestor`) run unchanged
at the edge."""

from __future__ import annotations

from typing import Any

from ghgwatch.edge.gateway.state import EdgeState
from ghgwatch.ingest.auth import DeviceAuthenticator, DeviceInfo
from ghgwatch.kit.problems import Problem, unauthorized
from ghgwatch.registry.cache import SensorCache, SensorMeta
from ghgwatch.security.tokens import parse_device_token, secret_matches


def _not_configured() -> Problem:
    return Problem(503, "Gateway not configured", "this edge gateway has not reached the platform yet, so it "
                   "knows no devices or sensors; retry once its link is up", type_="unavailable",
                   headers={"Retry-After": "5"})


class EdgeSensors(SensorCache):
    """Sensors of the gateway's organisation, from its configuration (no database)."""

    def __init__(self, state: EdgeState) -> None:  # the database cache's state is not used
        self._state = state

    async def refresh(self) -> None:
        return None

    async def current(self) -> dict[int, SensorMeta]:
        return self._state.metas

    async def lookup(self, ids: set[int]) -> dict[int, SensorMeta]:
        if self._state.config is None:
            raise _not_configured()
        return self._state.metas

    def invalidate(self) -> None:
        return None


class EdgeAuthenticator(DeviceAuthenticator):
    """Device tokens checked against the token hashes of the configuration; signatures as on the platform."""

    def __init__(self, state: EdgeState, *, max_age_s: float = 300.0) -> None:
        db: Any = None  # no database at the edge: ``device`` and ``device_by_id`` are answered from ``state``
        super().__init__(db, max_age_s=max_age_s)
        self._state = state

    async def device(self, token: str) -> DeviceInfo:
        if self._state.config is None:
            raise _not_configured()
        parsed = parse_device_token(token)
        key = None if parsed is None else self._state.devices.get(parsed.device_id)
        if parsed is None or key is None or not secret_matches(parsed.secret, key.token_hash):
            raise unauthorized("unknown or revoked device token")
        return DeviceInfo(key.id, self._state.config.organization_id, key.hmac_secret, key.require_signature)

    async def device_by_id(self, device_id: int) -> DeviceInfo | None:
        key = self._state.devices.get(device_id)
        if key is None or self._state.config is None:
            return None
        return DeviceInfo(key.id, self._state.config.organization_id, key.hmac_secret, key.require_signature)

"""JWT access tokens for users and opaque bearer tokens for devices."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt

from ghgwatch.kit.timeutil import utcnow

ALGORITHM = "HS256"
DEVICE_PREFIX = "gwd"


@dataclass(frozen=True)
class Claims:
    user_id: int
    username: str
    role: str
    organization_id: int | None
    token_version: int = 0
    """The user's ``token_version`` when the token was issued; a bumped version refuses the token."""


def issue_jwt(claims: Claims, key: str, ttl_s: int) -> str:
    now = utcnow()
    payload = {
        "sub": str(claims.user_id),
        "name": claims.username,
        "role": claims.role,
        "org": claims.organization_id,
        "tv": claims.token_version,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(payload, key, algorithm=ALGORITHM)


def decode_jwt(token: str, key: str) -> Claims | None:
    try:
        data = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    try:
        version = data.get("tv", 0)
        org = data.get("org")
        if not isinstance(version, int) or (org is not None and not isinstance(org, int)):
            return None
        return Claims(int(data["sub"]), str(data.get("name", "")), str(data["role"]), org, version)
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class DeviceToken:
    device_id: int
    secret: str

    def __str__(self) -> str:
        return f"{DEVICE_PREFIX}_{self.device_id}_{self.secret}"


def new_device_secret() -> str:
    return secrets.token_urlsafe(32)


MAX_ID = 2**31 - 1
"""Largest row id (an INTEGER column on PostgreSQL): a larger id in a token can match no device."""


def _is_id(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` accepts ``²`` and other Unicode digits) and within :data:`MAX_ID`."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def parse_device_token(token: str) -> DeviceToken | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != DEVICE_PREFIX or not _is_id(parts[1]):
        return None
    return DeviceToken(int(parts[1]), parts[2])


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), expected_hash)

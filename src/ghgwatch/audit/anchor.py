"""Anchoring of the audit chain to a key held outside the database.

The hash chain alone proves that nothing changed only against someone who cannot write to the database:
with write access one can alter an entry and recompute every later hash and the head. So every entry also
carries ``mac`` = HMAC-SHA256(audit key, entry hash), and the head carries an HMAC of its sequence number and
hash. The key is ``GHGWATCH_SECURITY__AUDIT_KEY``; without it, cluster mode derives one from the JWT secret
(also outside the database) and embedded mode keeps a random one in the data folder (``audit.key``, 0600).
A chain rebuilt without the key fails :func:`ghgwatch.audit.verify` at the first rebuilt entry.

The key is installed once per process (:func:`install_key`, by the app's lifespan and the CLI), like the
secrets cipher. With no key installed, entries are written without a MAC and verification checks the hash
chain only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghgwatch.settings import Settings

_key: bytes | None = None


def install_key(key: bytes | None) -> None:
    """Make ``key`` the audit key of this process (``None``: write and check no MACs)."""
    global _key
    _key = key


def current_key() -> bytes | None:
    return _key


def entry_mac(key: bytes, entry_hash: str) -> str:
    return hmac.new(key, b"entry|" + entry_hash.encode(), hashlib.sha256).hexdigest()


def head_mac(key: bytes, last_seq: int, last_hash: str) -> str:
    return hmac.new(key, f"head|{last_seq}|{last_hash}".encode(), hashlib.sha256).hexdigest()


def macs_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given, expected)


def key_from_settings(settings: Settings) -> bytes:
    from ghgwatch.settings import ConfigurationError, Mode

    configured = settings.security.audit_key
    if configured is not None:
        return hashlib.sha256(b"ghgwatch-audit:" + configured.get_secret_value().encode()).digest()
    if settings.mode is not Mode.EMBEDDED:
        if settings.security.jwt_secret is None:
            raise ConfigurationError("GHGWATCH_SECURITY__AUDIT_KEY must be set in cluster mode")
        # A separate key is better (the JWT secret can then be rotated without re-anchoring the chain).
        return hashlib.sha256(b"ghgwatch-audit-from-jwt:" + settings.security.jwt_secret.get_secret_value()
                              .encode()).digest()
    path = settings.data_dir / "audit.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    path.chmod(0o600)
    return hashlib.sha256(b"ghgwatch-audit:" + path.read_text().strip().encode()).digest()

"""Secrets at rest: values the platform must read back (device HMAC keys, webhook secrets) are encrypted.

The key is held outside the database: ``GHGWATCH_SECURITY__SECRETS_KEY`` (required in cluster mode), or in
embedded mode a random key kept in the data folder (``secrets.key``, mode 0600). Several keys may be given,
separated by commas: the first encrypts, all decrypt (key rotation). Encryption is Fernet (AES-128-CBC with an
HMAC-SHA256 tag, from the ``cryptography`` package); stored values look like ``enc:v1:<token>``.

Columns use :class:`EncryptedString`, which encrypts on write and decrypts on read with the process's cipher,
installed once at start-up by :func:`install_cipher` (the app's lifespan and the CLI do it). A value written
before encryption existed (no prefix) is read back as it is, so old rows keep working until re-saved.
"""

from __future__ import annotations

import base64
import secrets as _secrets
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from ghgwatch.settings import Settings

PREFIX = "enc:v1:"


class SecretKeyError(RuntimeError):
    """No usable key, or a stored value that this key cannot decrypt."""


class SecretCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise SecretKeyError("at least one secrets key is needed")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise SecretKeyError("a secrets key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())") \
                from exc

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption: read as it is
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError("a stored secret cannot be decrypted with the configured key(s)") from exc

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)


def generate_key() -> str:
    return Fernet.generate_key().decode()


def derive_key(material: str) -> bytes:
    """A Fernet key from arbitrary text (a passphrase given as setting): SHA-256, base64."""
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


def cipher_from_settings(settings: Settings) -> SecretCipher:
    from ghgwatch.settings import ConfigurationError, Mode

    configured = settings.security.secrets_key
    if configured is not None:
        raw = [k.strip() for k in configured.get_secret_value().split(",") if k.strip()]
        keys = [k.encode() if _is_fernet_key(k) else derive_key(k) for k in raw]
        return SecretCipher(keys)
    if settings.mode is not Mode.EMBEDDED:
        # Until every deployment sets its own key, fall back to one derived from the JWT secret (also held outside
        # the database); a separate key is better, because it lets the two be rotated apart.
        if settings.security.jwt_secret is None:
            raise ConfigurationError("GHGWATCH_SECURITY__SECRETS_KEY must be set in cluster mode")
        return SecretCipher([derive_key("ghgwatch-secrets:" + settings.security.jwt_secret.get_secret_value())])
    path = settings.data_dir / "secrets.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(generate_key())
    path.chmod(0o600)
    return SecretCipher([path.read_text().strip().encode()])


def _is_fernet_key(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text.encode())) == 32
    except ValueError:
        return False


_installed: SecretCipher | None = None


def install_cipher(cipher: SecretCipher) -> None:
    """Make ``cipher`` the one :class:`EncryptedString` columns use in this process."""
    global _installed
    _installed = cipher


def current_cipher() -> SecretCipher:
    if _installed is None:
        raise SecretKeyError("no secrets cipher installed (call install_cipher at start-up)")
    return _installed


def random_secret(nbytes: int = 32) -> str:
    return _secrets.token_urlsafe(nbytes)


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted (see the module docstring). Mark it ``info={"secret": True}`` too, so
    that audit snapshots redact it."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or SecretCipher.is_sealed(value):
            return value
        return current_cipher().seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_cipher().unseal(str(value))

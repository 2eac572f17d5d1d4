"""Password hashing: argon2id, at a cost the operator sets (``GHGWATCH_SECURITY__ARGON2_*``).

The default cost is the second recommended option of RFC 9106 §4 (argon2id, t = 3 passes, m = 64 MiB,
p = 4 lanes; argon2-cffi's ``profiles.RFC_9106_LOW_MEMORY``). A hash made at another cost still verifies (the
parameters are stored in it) and is re-hashed at the configured cost on the user's next sign-in.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from ghgwatch.settings import SecuritySettings

_hasher = PasswordHasher()


def install_cost_from_settings(settings: SecuritySettings) -> None:
    install_cost(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                 parallelism=settings.argon2_parallelism)


def install_cost(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Hash new passwords at this cost from now on (the app and the CLI install the configured one at start)."""
    global _hasher
    if (time_cost, memory_kib, parallelism) == (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a (verified) hash was made at another cost than the installed one."""
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash of a random password with the same parameters, verified for unknown users (even timing)."""
    return _hasher.hash(secrets.token_urlsafe(16))

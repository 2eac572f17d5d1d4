"""The password hashing cost: RFC 9106's by default, the operator's when set, and hashes of another cost
upgraded at the user's next sign-in (tests run at argon2's least cost: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import extract_parameters
from pydantic import ValidationError
from sqlalchemy import select

from ghgwatch.security import passwords
from ghgwatch.security.models import Role, User
from ghgwatch.security.principal import SYSTEM
from ghgwatch.security.service import authenticate_user, create_user
from ghgwatch.settings import SecuritySettings, build_settings
from ghgwatch.store import Database


@pytest.fixture
def restore_cost() -> Iterator[None]:
    yield
    passwords.install_cost_from_settings(build_settings().security)


def test_the_default_cost_is_rfc_9106_low_memory_option() -> None:
    # RFC 9106 §4, second recommended option: argon2id, t = 3, p = 4, m = 2^16 KiB.
    security = SecuritySettings()
    assert (security.argon2_time_cost, security.argon2_memory_kib, security.argon2_parallelism) == (3, 65536, 4)


def test_the_cost_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHGWATCH_SECURITY__ARGON2_TIME_COST", "2")
    monkeypatch.setenv("GHGWATCH_SECURITY__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("GHGWATCH_SECURITY__ARGON2_PARALLELISM", "2")
    security = build_settings().security
    assert (security.argon2_time_cost, security.argon2_memory_kib, security.argon2_parallelism) == (2, 1024, 2)


def test_memory_below_eight_kib_a_lane_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValidationError, match="argon2_memory_kib"):
        SecuritySettings(argon2_memory_kib=16, argon2_parallelism=4)


def test_hashes_carry_the_installed_cost(restore_cost: None) -> None:
    passwords.install_cost(time_cost=2, memory_kib=64, parallelism=2)
    made = extract_parameters(passwords.hash_password("password-123"))
    assert (made.time_cost, made.memory_cost, made.parallelism) == (2, 64, 2)
    assert made.type.name == "ID"
    dummy = extract_parameters(passwords.dummy_hash())  # unknown users: the same work as known ones
    assert (dummy.time_cost, dummy.memory_cost, dummy.parallelism) == (2, 64, 2)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_hash_of_another_cost_verifies_and_is_upgraded_at_sign_in(db: Database, restore_cost: None) -> None:
    passwords.install_cost(time_cost=1, memory_kib=16, parallelism=1)
    async with db.transaction() as s:
        await create_user(s, SYSTEM, username="old-hash", password="password-123", role=Role.ADMIN,
                          organization_id=None)
    passwords.install_cost(time_cost=2, memory_kib=32, parallelism=2)  # the operator raised the cost
    async with db.transaction() as s:
        assert await authenticate_user(s, "old-hash", "wrong-password") is None
    async with db.transaction() as s:
        kept = (await s.execute(select(User.password_hash).where(User.username == "old-hash"))).scalar_one()
    assert extract_parameters(kept).time_cost == 1  # a wrong password changes nothing
    async with db.transaction() as s:
        assert await authenticate_user(s, "old-hash", "password-123") is not None
    async with db.transaction() as s:
        upgraded = (await s.execute(select(User.password_hash).where(User.username == "old-hash"))).scalar_one()
    made = extract_parameters(upgraded)
    assert (made.time_cost, made.memory_cost, made.parallelism) == (2, 32, 2)
    async with db.transaction() as s:
        assert await authenticate_user(s, "old-hash", "password-123") is not None

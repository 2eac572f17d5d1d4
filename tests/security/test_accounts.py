"""Accounts and tokens: unknown or deactivated users and revoked tokens are refused; sign-in is rate limited,
evenly timed and audited (issue 12, holes 8 and 9)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from ghgwatch.audit.models import AuditEntry
from ghgwatch.security.models import Role, User
from ghgwatch.security.ratelimit import SlidingWindow, TokenBucket
from ghgwatch.security.tokens import Claims, issue_jwt
from ghgwatch.settings import SecuritySettings
from tests.conftest import World

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


async def test_token_of_a_user_that_does_not_exist_is_refused(world: World) -> None:
    forged = issue_jwt(Claims(987654, "ghost", "admin", None), SECRET, 600)
    answer = await world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert "does not exist" in answer.text


async def _user_id(world: World, headers: dict[str, str]) -> int:
    me = await world.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return int(me.json()["id"])


async def test_deactivation_and_role_change_revoke_tokens(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    uid = await _user_id(world, engineer)
    changed = await world.client.patch(f"/api/v1/users/{uid}", headers=admin, json={"role": "operator"})
    assert changed.status_code == 200 and changed.json()["role"] == "operator"
    assert (await world.client.get("/api/v1/me", headers=engineer)).status_code == 401
    gone = await world.client.delete(f"/api/v1/users/{uid}", headers=admin)
    assert gone.status_code == 204
    listing = await world.client.get("/api/v1/users", headers=admin)
    assert [u["active"] for u in listing.json() if u["id"] == uid] == [False]


async def test_another_organisations_admin_cannot_manage_users(world: World) -> None:
    engineer = await world.login(Role.ENGINEER, world.org_a)
    uid = await _user_id(world, engineer)
    other_admin = await world.login(Role.ADMIN, world.org_b)
    for call in (world.client.patch(f"/api/v1/users/{uid}", headers=other_admin, json={"active": False}),
                 world.client.delete(f"/api/v1/users/{uid}", headers=other_admin),
                 world.client.post(f"/api/v1/users/{uid}/revoke-tokens", headers=other_admin)):
        assert (await call).status_code == 404
    assert (await world.client.get("/api/v1/me", headers=engineer)).status_code == 200


async def test_admin_cannot_demote_or_deactivate_self(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    uid = await _user_id(world, admin)
    answer = await world.client.patch(f"/api/v1/users/{uid}", headers=admin, json={"active": False})
    assert answer.status_code == 409


async def test_own_password_change_returns_a_new_token_and_revokes_the_old(world: World) -> None:
    old = await world.login(Role.OPERATOR, world.org_a)
    wrong = await world.client.post("/api/v1/me/password", headers=old,
                                    json={"current_password": "nope-nope", "new_password": "another-pass-1"})
    assert wrong.status_code == 403
    answer = await world.client.post("/api/v1/me/password", headers=old,
                                     json={"current_password": "password-123", "new_password": "another-pass-1"})
    assert answer.status_code == 200, answer.text
    new = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    assert (await world.client.get("/api/v1/me", headers=old)).status_code == 401
    assert (await world.client.get("/api/v1/me", headers=new)).status_code == 200


async def test_failed_logins_are_limited_per_user_and_audited(world: World) -> None:
    await world.login(Role.ENGINEER, world.org_a)
    async with world.db.transaction() as s:
        username = (await s.execute(select(AuditEntry.actor).where(AuditEntry.action == "login"))).scalars().first()
    assert username is not None
    codes = []
    for _ in range(12):
        answer = await world.client.post("/api/v1/auth/token", data={"username": username, "password": "wrong-1"})
        codes.append(answer.status_code)
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    assert int(answer.headers["Retry-After"]) >= 1
    async with world.db.transaction() as s:
        failed = (await s.execute(select(AuditEntry).where(AuditEntry.action == "login_failed"))).scalars().all()
    assert len(failed) == 10 and all(e.actor == username for e in failed)
    metrics = await world.client.get("/metrics")
    assert 'ghgwatch_rate_limited_total{limit="login_user"}' in metrics.text


def test_sliding_window_and_token_bucket() -> None:
    now = [0.0]
    window = SlidingWindow(2, 10.0, clock=lambda: now[0])
    window.hit("a")
    window.hit("a")
    assert window.retry_after("a") == 10.0
    assert window.retry_after("b") is None
    now[0] = 10.5
    assert window.retry_after("a") is None
    bucket = TokenBucket(1.0, 2, clock=lambda: now[0])
    assert bucket.take("d") is None and bucket.take("d") is None
    wait = bucket.take("d")
    assert wait is not None and 0 < wait <= 1.0
    now[0] += 1.0
    assert bucket.take("d") is None


async def test_deactivation_refuses_the_token_and_the_sign_in(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    engineer = await world.login(Role.ENGINEER, world.org_a)
    uid = await _user_id(world, engineer)
    username = (await world.client.get("/api/v1/me", headers=engineer)).json()["username"]
    assert (await world.client.delete(f"/api/v1/users/{uid}", headers=admin)).status_code == 204
    refused = await world.client.get("/api/v1/me", headers=engineer)
    assert refused.status_code == 401 and "deactivated" in refused.text
    again = await world.client.post("/api/v1/auth/token", data={"username": username, "password": "password-123"})
    assert again.status_code == 401
    back = await world.client.patch(f"/api/v1/users/{uid}", headers=admin, json={"active": True})
    assert back.status_code == 200 and back.json()["active"] is True
    assert (await world.client.get("/api/v1/me", headers=engineer)).status_code == 401  # the old token stays dead
    fresh = await world.client.post("/api/v1/auth/token", data={"username": username, "password": "password-123"})
    assert fresh.status_code == 200


async def test_revocation_and_admin_password_reset_refuse_earlier_tokens(world: World) -> None:
    admin = await world.login(Role.ADMIN, world.org_a)
    operator = await world.login(Role.OPERATOR, world.org_a)
    uid = await _user_id(world, operator)
    username = (await world.client.get("/api/v1/me", headers=operator)).json()["username"]
    revoked = await world.client.post(f"/api/v1/users/{uid}/revoke-tokens", headers=admin)
    assert revoked.status_code == 200, revoked.text
    answer = await world.client.get("/api/v1/me", headers=operator)
    assert answer.status_code == 401 and "revoked" in answer.text
    login = await world.client.post("/api/v1/auth/token", data={"username": username, "password": "password-123"})
    assert login.status_code == 200
    second = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await world.client.get("/api/v1/me", headers=second)).status_code == 200
    reset = await world.client.patch(f"/api/v1/users/{uid}", headers=admin, json={"password": "reset-by-admin-1"})
    assert reset.status_code == 200, reset.text
    assert (await world.client.get("/api/v1/me", headers=second)).status_code == 401
    old_password = await world.client.post("/api/v1/auth/token",
                                           data={"username": username, "password": "password-123"})
    assert old_password.status_code == 401
    new_password = await world.client.post("/api/v1/auth/token",
                                           data={"username": username, "password": "reset-by-admin-1"})
    assert new_password.status_code == 200
    async with world.db.transaction() as s:
        changes = (await s.execute(select(AuditEntry).where(AuditEntry.entity == "user",
                                                            AuditEntry.entity_id == str(uid),
                                                            AuditEntry.action.in_(["update", "revoke_tokens"]))
                                   )).scalars().all()
    assert {e.action for e in changes} == {"update", "revoke_tokens"}
    assert all("password_hash" not in (e.after or {}) and "password_hash" not in (e.before or {}) for e in changes)


async def test_only_admins_manage_users(world: World) -> None:
    engineer = await world.login(Role.ENGINEER, world.org_a)
    auditor = await world.login(Role.AUDITOR, world.org_a)
    uid = await _user_id(world, auditor)
    answer = await world.client.patch(f"/api/v1/users/{uid}", headers=engineer, json={"role": "admin"})
    assert answer.status_code == 403
    assert (await world.client.get("/api/v1/me", headers=auditor)).json()["role"] == "auditor"
    unknown = await world.client.patch("/api/v1/users/99999999999999999999", headers=engineer, json={})
    assert unknown.status_code in (404, 422)


async def test_sign_in_is_limited_per_address(app: FastAPI, world: World) -> None:
    from ghgwatch.security.accounts import LoginGuard

    app.state.ctx.extras["login_guard"] = LoginGuard(SecuritySettings(login_attempts_per_address=3))
    codes = []
    for i in range(4):  # distinct usernames: only the address limit can apply
        answer = await world.client.post("/api/v1/auth/token", data={"username": f"nobody-{i}", "password": "x"})
        codes.append(answer.status_code)
    assert codes == [401, 401, 401, 429]
    assert int(answer.headers["Retry-After"]) >= 1
    assert "address" in answer.json()["detail"]
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.9.8.7", 4000)),
                              base_url="http://test")
    async with other:
        elsewhere = await other.post("/api/v1/auth/token", data={"username": "nobody-0", "password": "x"})
    assert elsewhere.status_code == 401
    metrics = await world.client.get("/metrics")
    assert 'ghgwatch_rate_limited_total{limit="login_address"}' in metrics.text


async def test_an_unknown_user_costs_one_password_verification_like_a_known_one(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """No timing assert: both paths verify exactly one argon2 hash with the same parameters."""
    from ghgwatch.security import passwords, service

    await world.login(Role.ENGINEER, world.org_a)
    verified: list[str] = []
    real = service.verify_password

    def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(service, "verify_password", spy)
    async with world.db.transaction() as s:
        known = (await s.execute(select(User).where(User.role == Role.ENGINEER))).scalars().first()
        assert known is not None
        assert await service.authenticate_user(s, known.username, "wrong-password") is None
        assert await service.authenticate_user(s, "no-such-user-anywhere", "wrong-password") is None
    assert verified == [known.password_hash, passwords.dummy_hash()]

    def parameters(h: str) -> str:
        return "$".join(h.split("$")[:4])  # $argon2id$v=19$m=...,t=...,p=...

    assert parameters(passwords.dummy_hash()) == parameters(known.password_hash)


async def test_user_state_cached_briefly_then_reread(world: World) -> None:
    """A change made by another process (here: directly in the database) is seen once the cache entry expires."""
    from ghgwatch.security.accounts import UserCache

    engineer = await world.login(Role.ENGINEER, world.org_a)
    uid = await _user_id(world, engineer)
    cache = UserCache(world.db, ttl_s=3600)
    assert (state := await cache.get(uid)) is not None and state.active
    async with world.db.transaction() as s:
        user = await s.get(User, uid)
        assert user is not None
        user.active = False
    assert (await cache.get(uid)).active  # type: ignore[union-attr]
    cache.forget(uid)
    assert (await cache.get(uid)).active is False  # type: ignore[union-attr]
    assert (await UserCache(world.db, ttl_s=0).get(uid)).active is False  # type: ignore[union-attr]


async def test_usernames_no_user_can_have_are_refused_like_unknown_ones(world: World) -> None:
    """A NUL character made PostgreSQL fail (500); an overlong name is no name either. Both: 401, audited."""
    for name in ("a\x00b", "x" * 5000, "line\nbreak"):
        answer = await world.client.post("/api/v1/auth/token", data={"username": name, "password": "p\x00w"})
        assert answer.status_code == 401, (name[:10], answer.text)
    async with world.db.transaction() as s:
        actors = (await s.execute(select(AuditEntry.actor).where(AuditEntry.action == "login_failed")
                                  .order_by(AuditEntry.id))).scalars().all()
    assert actors == ["a\N{REPLACEMENT CHARACTER}b", "x" * 120, "line\N{REPLACEMENT CHARACTER}break"]


async def test_guessing_the_current_password_counts_as_failed_sign_ins(app: FastAPI, world: World) -> None:
    from ghgwatch.security.accounts import LoginGuard

    app.state.ctx.extras["login_guard"] = LoginGuard(SecuritySettings(login_failures_per_user=2))
    holder = await world.login(Role.OPERATOR, world.org_a)
    codes = []
    for current in ("guess-one", "guess-two", "password-123"):
        answer = await world.client.post("/api/v1/me/password", headers=holder,
                                         json={"current_password": current, "new_password": "another-pass-1"})
        codes.append(answer.status_code)
    assert codes == [403, 403, 429]
    assert int(answer.headers["Retry-After"]) >= 1
    assert (await world.client.get("/api/v1/me", headers=holder)).status_code == 200  # unchanged, still valid

"""Login, logout, /me and expiry through the public API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import func, select

from flowpilot.auth.passwords import HASH_LIMITER, HASH_THREADS
from flowpilot.models import LoginFailure, LoginSession
from tests.factories import PASSWORD

ME_KEYS = {"id", "email", "name", "role", "account_id"}


async def login(client, email, password=PASSWORD):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_returns_token_user_and_httponly_cookie(client, factory):
    user = await factory.user(role="engineer")
    r = await login(client, user.email)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] and body["csrf_token"]
    assert body["user"]["id"] == user.id
    assert body["user"]["role"] == "engineer"
    assert body["user"].keys() >= ME_KEYS
    assert "password_hash" not in body["user"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("flowpilot_session=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user.id


async def test_login_email_is_case_and_space_insensitive(client, factory):
    user = await factory.user()
    r = await login(client, f"  {user.email.upper()} ")
    assert r.status_code == 200, r.text


async def test_token_is_stored_hashed(client, factory, db):
    user = await factory.user()
    token = (await login(client, user.email)).json()["token"]
    async with db() as s:
        hashes = (await s.execute(select(LoginSession.token_hash))).scalars().all()
    assert token not in hashes
    assert len(hashes) == 2  # the factory's session and this login


async def test_wrong_password_and_unknown_email_answer_the_same_401(client, factory, db):
    user = await factory.user()
    wrong = await login(client, user.email, "not-the-password")
    unknown = await login(client, "nobody@example.test", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "invalid email or password"}
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
    async with db() as s:
        keys = (await s.execute(select(LoginFailure.key))).scalars().all()
    # Both failures are recorded per email and per IP, though the answer was a 401.
    assert sorted(k for k in keys if k.startswith("email:")) == [
        "email:nobody@example.test",
        f"email:{user.email}",
    ]
    assert len([k for k in keys if k.startswith("ip:")]) == 2


async def test_unknown_email_verifies_a_dummy_argon2_hash(client, monkeypatch):
    # Behaviour, not time: an unknown email still runs a real Argon2 verification.
    from flowpilot.auth import passwords

    seen: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            seen.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_hasher", Spy())
    r = await login(client, "ghost@example.test", "whatever-password")
    assert r.status_code == 401
    assert seen == [passwords.dummy_hash()]
    assert seen[0].startswith("$argon2id$")


async def test_inactive_user_cannot_log_in(client, factory):
    user = await factory.user(active=False)
    r = await login(client, user.email)
    assert r.status_code == 401
    assert r.json() == {"detail": "invalid email or password"}


async def test_me_has_the_contract_shape(client, factory):
    user = await factory.user(role="admin", name="Ada Admin")
    r = await client.get("/api/v1/me", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body.keys() >= ME_KEYS
    assert {k: body[k] for k in ME_KEYS} == {
        "id": user.id,
        "email": user.email,
        "name": "Ada Admin",
        "role": "admin",
        "account_id": user.account_id,
    }
    assert "password_hash" not in body


async def test_no_or_bad_credentials_are_401(client, factory):
    await factory.user()
    assert (await client.get("/api/v1/me")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/api/v1/me", headers=bad)).status_code == 401
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert (await client.get("/api/v1/me", headers=basic)).status_code == 401
    client.cookies.set("flowpilot_session", "forged")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_logout_ends_the_token(client, factory, db):
    user = await factory.user()
    token = (await login(client, user.email)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = await client.post("/api/v1/auth/logout", headers=headers)
    assert r.status_code == 204
    assert "flowpilot_session" in r.headers.get("set-cookie", "")  # the cookie is cleared
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    # Only that login ended: the factory's other login session still works.
    assert (await client.get("/api/v1/me", headers=user.headers)).status_code == 200
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(LoginSession))).scalar() == 1


async def test_logout_without_credentials_is_401(client):
    assert (await client.post("/api/v1/auth/logout")).status_code == 401


async def test_login_session_expires(client, factory, clock, settings):
    user = await factory.user()
    token = (await login(client, user.email)).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(hours=settings.session_ttl_hours, seconds=-1)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    clock.advance(seconds=1)
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"detail": "not authenticated"}


async def test_login_bad_input_is_422_naming_the_field(client, db):
    cases = [
        ({"email": "a@example.test"}, "password"),
        ({"password": "x"}, "email"),
        ({"email": "a@example.test", "password": "x", "remember": True}, "remember"),
        ({"email": 5, "password": "x"}, "email"),
        ({"email": "a@example.test", "password": "x" * 201}, "password"),
    ]
    for body, field in cases:
        r = await client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["detail"]], (body, r.text)
    async with db() as s:
        assert (await s.execute(select(func.count()).select_from(LoginFailure))).scalar() == 0


async def test_successful_login_forgets_old_failures_and_expired_logins(client, factory, db, clock):
    user = await factory.user()  # its factory login expires in 12 hours
    assert (await login(client, user.email, "wrong-password")).status_code == 401
    clock.advance(hours=13)
    assert (await login(client, "other@example.test", "wrong-password")).status_code == 401
    assert (await login(client, user.email)).status_code == 200
    async with db() as s:
        keys = (await s.execute(select(LoginFailure.key))).scalars().all()
        logins = (await s.execute(select(LoginSession.expires_at))).scalars().all()
    # Only the failure inside the window is kept; only the fresh login session is left.
    assert sorted(k.split(":")[0] for k in keys) == ["email", "ip", "pair"]
    assert "email:other@example.test" in keys and "ip:127.0.0.1" in keys
    assert logins == [clock.now() + timedelta(hours=12)]


async def test_password_checks_wait_for_a_hashing_thread_not_the_event_loop(client, factory):
    """While every hashing thread is taken, a login waits for one and other requests answer."""
    user = await factory.user()
    tokens = [object() for _ in range(HASH_THREADS)]
    for token in tokens:
        await HASH_LIMITER.acquire_on_behalf_of(token)
    try:
        login_task = asyncio.create_task(login(client, user.email))
        for _ in range(1000):  # until the login waits for a thread
            if HASH_LIMITER.statistics().tasks_waiting:
                break
            await asyncio.sleep(0.01)
        assert HASH_LIMITER.statistics().tasks_waiting == 1
        assert (await client.get("/healthz")).status_code == 200
        assert not login_task.done()
    finally:
        for token in tokens:
            HASH_LIMITER.release_on_behalf_of(token)
    assert (await login_task).status_code == 200

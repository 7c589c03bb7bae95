"""Browsers authenticate with the HttpOnly cookie; unsafe cookie requests need the CSRF token."""

from __future__ import annotations

from sqlalchemy import func, select

from flowpilot.models import AiSession
from tests.factories import PASSWORD

SESSION = {"title": "Printer offline", "problem": "Queue shows offline"}


async def browser_login(client, user) -> str:
    r = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert client.cookies.get("flowpilot_session")
    return str(r.json()["csrf_token"])


async def count_sessions(db) -> int:
    async with db() as s:
        return int((await s.execute(select(func.count()).select_from(AiSession))).scalar_one())


async def test_cookie_authenticates_safe_requests(client, factory):
    user = await factory.user()
    await browser_login(client, user)
    r = await client.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["id"] == user.id


async def test_cookie_post_without_csrf_is_403_and_writes_nothing(client, factory, db):
    user = await factory.user()
    await browser_login(client, user)
    r = await client.post("/api/v1/sessions", json=SESSION)
    assert r.status_code == 403
    assert "CSRF" in r.json()["detail"]
    wrong = await client.post("/api/v1/sessions", json=SESSION, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    assert await count_sessions(db) == 0


async def test_cookie_post_with_the_right_csrf_token_works(client, factory, db):
    user = await factory.user()
    csrf = await browser_login(client, user)
    r = await client.post("/api/v1/sessions", json=SESSION, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    assert r.json()["owner_id"] == user.id
    assert await count_sessions(db) == 1


async def test_csrf_token_of_another_login_is_refused(client, factory):
    user = await factory.user()
    await browser_login(client, user)
    # The factory's login session for the same user has its own CSRF token.
    r = await client.post(
        "/api/v1/sessions", json=SESSION, headers={"X-CSRF-Token": user.csrf_token}
    )
    assert r.status_code == 403


async def test_bearer_requests_need_no_csrf(client, factory):
    user = await factory.user()
    r = await client.post("/api/v1/sessions", json=SESSION, headers=user.headers)
    assert r.status_code == 201, r.text


async def test_cookie_logout_needs_csrf_and_then_ends_the_cookie(client, factory):
    user = await factory.user()
    csrf = await browser_login(client, user)
    assert (await client.post("/api/v1/auth/logout")).status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 200
    r = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert not client.cookies.get("flowpilot_session")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_old_cookie_is_refused_after_logout(client, factory):
    user = await factory.user()
    csrf = await browser_login(client, user)
    cookie = client.cookies.get("flowpilot_session")
    assert (
        await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    ).status_code == 204
    client.cookies.set("flowpilot_session", cookie)  # a copy kept by an attacker
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_non_ascii_csrf_header_is_403_not_a_crash(client, factory):
    user = await factory.user()
    await browser_login(client, user)
    headers = {"X-CSRF-Token": "t\xe9st".encode("latin-1")}
    r = await client.post("/api/v1/sessions", json=SESSION, headers=headers)
    assert r.status_code == 403


async def test_csrf_token_may_come_as_a_form_field(client, factory):
    # Plain HTML forms cannot set headers: the pages post the token as a form field.
    user = await factory.user()
    csrf = await browser_login(client, user)
    bad = await client.post("/api/v1/auth/logout", data={"csrf_token": "wrong"})
    assert bad.status_code == 403
    r = await client.post("/api/v1/auth/logout", data={"csrf_token": csrf})
    assert r.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401

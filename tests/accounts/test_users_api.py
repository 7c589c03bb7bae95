"""User administration (admins only): list, create, change role, deactivate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flowpilot.models import User

NEW = {"email": "new.tech@example.test", "name": "New Tech", "role": "technician"}
NEW_PASSWORD = "a-long-enough-password"


async def count_users(db) -> int:
    async with db() as s:
        return int((await s.execute(select(func.count()).select_from(User))).scalar_one())


async def test_admin_lists_the_accounts_users_only(client, factory):
    team = await factory.team()
    await factory.user(role="admin")  # another account
    r = await client.get("/api/v1/users", headers=team["admin"].headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert sorted(u["id"] for u in items) == sorted(u.id for u in team.values())
    assert {u["account_id"] for u in items} == {team["admin"].account_id}
    assert all("password_hash" not in u for u in items)


async def test_admin_creates_a_user_who_can_log_in(client, factory):
    admin = await factory.user(role="admin")
    body = {**NEW, "email": "  New.Tech@Example.TEST ", "password": NEW_PASSWORD}
    r = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == "new.tech@example.test"
    assert created["role"] == "technician"
    assert created["active"] is True
    assert created["account_id"] == admin.account_id
    login = await client.post(
        "/api/v1/auth/login", json={"email": "new.tech@example.test", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200
    assert login.json()["user"]["id"] == created["id"]


async def test_duplicate_email_is_409_even_across_accounts(client, factory, db):
    admin = await factory.user(role="admin")
    other = await factory.user()  # a user of another account
    for email in (admin.email, other.email.upper()):
        body = {**NEW, "email": email, "password": NEW_PASSWORD}
        r = await client.post("/api/v1/users", json=body, headers=admin.headers)
        assert r.status_code == 409, r.text
        assert "already exists" in r.json()["detail"]
    assert await count_users(db) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": None}, "role"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 201}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@localhost"}, "email"),
        ({"email": "x" * 320 + "@example.test"}, "email"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"active": False}, "active"),  # not a create field
    ],
)
async def test_create_bad_input_is_422_naming_the_field(client, factory, db, change, field):
    admin = await factory.user(role="admin")
    body = {**NEW, "password": NEW_PASSWORD, **change}
    r = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]
    assert await count_users(db) == 1


async def test_create_missing_fields_are_named(client, factory, db):
    admin = await factory.user(role="admin")
    r = await client.post("/api/v1/users", json={}, headers=admin.headers)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["detail"]}
    assert fields == {"email", "name", "role", "password"}
    assert await count_users(db) == 1


async def test_admin_changes_role(client, factory):
    team = await factory.team()
    url = f"/api/v1/users/{team['tech'].id}"
    r = await client.patch(url, json={"role": "engineer"}, headers=team["admin"].headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "engineer"
    # The new role applies to the user's very next request (the queue is seniors only).
    me = await client.get("/api/v1/me", headers=team["tech"].headers)
    assert me.json()["role"] == "engineer"


async def test_deactivation_ends_existing_tokens_at_once(client, factory):
    team = await factory.team()
    eng = team["eng"]
    assert (await client.get("/api/v1/me", headers=eng.headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{eng.id}", json={"active": False}, headers=team["admin"].headers
    )
    assert r.status_code == 200
    assert r.json()["active"] is False
    assert (await client.get("/api/v1/me", headers=eng.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": eng.email, "password": "correct-horse-battery"}
    )
    assert login.status_code == 401
    # Reactivating lets them log in again (old tokens stay dead).
    r = await client.patch(
        f"/api/v1/users/{eng.id}", json={"active": True}, headers=team["admin"].headers
    )
    assert r.json()["active"] is True
    assert (await client.get("/api/v1/me", headers=eng.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": eng.email, "password": "correct-horse-battery"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize("change", [{"active": False}, {"role": "engineer"}])
async def test_admin_cannot_deactivate_or_demote_themselves(client, factory, change):
    admin = await factory.user(role="admin")
    r = await client.patch(f"/api/v1/users/{admin.id}", json=change, headers=admin.headers)
    assert r.status_code == 409
    me = await client.get("/api/v1/me", headers=admin.headers)
    assert me.status_code == 200
    assert me.json()["role"] == "admin"


async def test_admin_may_demote_another_admin(client, factory):
    team = await factory.team()
    other_admin = await factory.user(team["admin"].account_id, role="admin")
    r = await client.patch(
        f"/api/v1/users/{other_admin.id}", json={"role": "engineer"}, headers=team["admin"].headers
    )
    assert r.status_code == 200
    assert r.json()["role"] == "engineer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "boss"}, "role"),
        ({"active": "no"}, "active"),
        ({"active": 0}, "active"),
        ({"name": ""}, "name"),
        ({"email": "x@example.test"}, "email"),
    ],
)
async def test_patch_bad_input_is_422_and_changes_nothing(client, factory, db, body, field):
    team = await factory.team()
    r = await client.patch(
        f"/api/v1/users/{team['tech'].id}", json=body, headers=team["admin"].headers
    )
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]
    async with db() as s:
        user = await s.get(User, team["tech"].id)
        assert user is not None
        assert (user.role, user.active, user.email) == ("technician", True, team["tech"].email)


@pytest.mark.parametrize("role", ["technician", "engineer"])
async def test_non_admins_get_403(client, factory, db, role):
    team = await factory.team()
    caller = team["tech"] if role == "technician" else team["eng"]
    assert (await client.get("/api/v1/users", headers=caller.headers)).status_code == 403
    body = {**NEW, "password": NEW_PASSWORD}
    assert (
        await client.post("/api/v1/users", json=body, headers=caller.headers)
    ).status_code == 403
    r = await client.patch(
        f"/api/v1/users/{team['eng2'].id}", json={"active": False}, headers=caller.headers
    )
    assert r.status_code == 403
    assert await count_users(db) == 4


async def test_another_accounts_user_is_404(client, factory):
    admin = await factory.user(role="admin")
    stranger = await factory.user(role="engineer")
    r = await client.patch(
        f"/api/v1/users/{stranger.id}", json={"active": False}, headers=admin.headers
    )
    assert r.status_code == 404
    assert r.json() == {"detail": "user not found"}
    assert (await client.get("/api/v1/me", headers=stranger.headers)).status_code == 200
    r = await client.patch(
        "/api/v1/users/no-such-id", json={"active": False}, headers=admin.headers
    )
    assert r.status_code == 404


async def test_preferences_are_the_callers_own(client, factory):
    tech = await factory.user()
    r = await client.patch(
        "/api/v1/me/preferences",
        json={"notify_email": False, "notify_min_urgency": "high"},
        headers=tech.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["notify_email"], r.json()["notify_min_urgency"]) == (False, "high")
    bad = await client.patch(
        "/api/v1/me/preferences", json={"notify_min_urgency": "urgent"}, headers=tech.headers
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "notify_min_urgency"


async def test_password_is_kept_exactly_as_typed(client, factory):
    admin = await factory.user(role="admin")
    password = "  spaced out pass  "
    body = {**NEW, "password": password}
    assert (await client.post("/api/v1/users", json=body, headers=admin.headers)).status_code == 201
    ok = await client.post("/api/v1/auth/login", json={"email": NEW["email"], "password": password})
    assert ok.status_code == 200
    stripped = await client.post(
        "/api/v1/auth/login", json={"email": NEW["email"], "password": password.strip()}
    )
    assert stripped.status_code == 401

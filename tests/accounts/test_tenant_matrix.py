"""Tenant scoping of the foundation endpoints: 404 across accounts, 403 wrong role, 401."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from flowpilot.accounts.endpoints import router as accounts_router
from flowpilot.ai_sessions.endpoints import router as sessions_router
from flowpilot.auth.endpoints import router as auth_router
from flowpilot.models import AiSession, Step, User
from tests.factories import add_step, open_session

PUBLIC = {("POST", "/api/v1/auth/login")}


def owned_routes() -> list[tuple[str, str]]:
    routes = []
    for router in (auth_router, accounts_router, sessions_router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                if (method, route.path) not in PUBLIC:
                    routes.append((method, route.path))
    return routes


# Requests on account A's objects, as (method, path, body); {sid} and {uid} are A's ids.
ON_A_SESSION = [
    ("GET", "/api/v1/sessions/{sid}", None),
    ("POST", "/api/v1/sessions/{sid}/steps", {"kind": "note", "content": "x"}),
    ("POST", "/api/v1/sessions/{sid}/resolve", {"resolution": "done"}),
]
ON_A_USER = [("PATCH", "/api/v1/users/{uid}", {"active": False})]
ADMIN_ONLY = [
    ("GET", "/api/v1/users", None),
    (
        "POST",
        "/api/v1/users",
        {"email": "x@example.test", "name": "X", "role": "admin", "password": "long-enough-1"},
    ),
    ("PATCH", "/api/v1/users/{uid}", {"role": "admin"}),
]


async def snapshot(db) -> tuple[int, ...]:
    async with db() as s:
        counts = [
            (await s.execute(select(func.count()).select_from(m))).scalar_one()
            for m in (AiSession, Step, User)
        ]
        resolved = (
            await s.execute(select(func.count()).where(AiSession.status == "resolved"))
        ).scalar_one()
        active = (await s.execute(select(func.count()).where(User.active.is_(True)))).scalar_one()
        roles = (await s.execute(select(func.count()).where(User.role == "admin"))).scalar_one()
    return (*counts, resolved, active, roles)


@pytest.fixture
async def world(client, factory):
    """Account A (a team with a session and a step) and account B (a team)."""
    a = await factory.team()
    b = await factory.team()
    s = await open_session(client, a["tech"])
    await add_step(client, a["tech"], s["id"])
    return {"a": a, "b": b, "sid": s["id"], "uid": a["eng"].id}


@pytest.mark.parametrize("request_", ON_A_SESSION + ON_A_USER, ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("b_role", ["tech", "eng", "admin"])
async def test_other_accounts_objects_are_404(client, db, world, request_, b_role):
    method, path, body = request_
    caller = world["b"][b_role]
    before = await snapshot(db)
    url = path.format(sid=world["sid"], uid=world["uid"])
    r = await client.request(method, url, json=body, headers=caller.headers)
    if "/users/" in path and b_role != "admin":
        assert r.status_code == 403  # the role gate answers first, revealing nothing
    else:
        assert r.status_code == 404, r.text
        assert r.json()["detail"] in ("session not found", "user not found")
    assert await snapshot(db) == before


async def test_other_accounts_sessions_are_not_listed(client, world):
    for caller in world["b"].values():
        r = await client.get("/api/v1/sessions", headers=caller.headers)
        assert r.json()["items"] == []
    r = await client.get("/api/v1/users", headers=world["b"]["admin"].headers)
    assert world["uid"] not in {u["id"] for u in r.json()["items"]}


@pytest.mark.parametrize("request_", ADMIN_ONLY, ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("role", ["tech", "eng"])
async def test_non_admins_get_403_on_admin_endpoints(client, db, world, request_, role):
    method, path, body = request_
    before = await snapshot(db)
    url = path.format(uid=world["uid"])
    r = await client.request(method, url, json=body, headers=world["a"][role].headers)
    assert r.status_code == 403
    assert r.json() == {"detail": "requires role admin"}
    assert await snapshot(db) == before


@pytest.mark.parametrize(("method", "path"), owned_routes())
@pytest.mark.parametrize("creds", ["none", "bad-bearer", "bad-cookie"])
async def test_no_valid_credentials_is_401(client, db, world, method, path, creds):
    before = await snapshot(db)
    url = path.format(session_id=world["sid"], user_id=world["uid"])
    headers = {"Authorization": "Bearer nope"} if creds == "bad-bearer" else {}
    if creds == "bad-cookie":
        client.cookies.set("flowpilot_session", "nope")
    body = None if method == "GET" else {}
    r = await client.request(method, url, json=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json() == {"detail": "not authenticated"}
    assert await snapshot(db) == before


def test_the_matrix_covers_every_owned_route():
    covered = {(m, p) for m, p, _ in ON_A_SESSION + ON_A_USER + ADMIN_ONLY}
    routes = set(owned_routes())
    by_id = {
        (m, p.replace("{session_id}", "{sid}").replace("{user_id}", "{uid}")) for m, p in routes
    }
    # Every route that takes an object id is in the 404 matrix.
    assert {r for r in by_id if "{" in r[1]} <= covered
    assert len(routes) >= 9

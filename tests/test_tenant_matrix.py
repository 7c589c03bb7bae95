"""The tenant matrix over every route of the app (rule 2), API and pages alike.

The routes come from the app itself, so a new route is in the matrix the day it is added:
- no credentials: 401 (a page: a redirect to the login page), nothing changed;
- a role its gate (``auth.deps.require_role``) refuses: 403, nothing changed;
- another account's object in any path parameter, with a role the gate allows: 404 (not 403:
  existence is never revealed), nothing changed.
A route whose path parameter names an object this file cannot make, or whose body it has no
example of, fails the matrix until it is taught here (``OBJECTS``, ``BODIES``).
"""

from __future__ import annotations

import string
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.auth.deps import current_actor
from flowpilot.models import AiSession, BaselineObservation, Delivery, Event, Handoff, Step, User
from flowpilot.runtime.app import create_app
from tests.factories import Factory, TestUser, add_step, open_session

ROLES = {"tech": "technician", "eng": "engineer", "admin": "admin"}

# An example body for every route that takes one: valid, so the request reaches the handler.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/users"): {
        "email": "new@example.test",
        "name": "New",
        "role": "engineer",
        "password": "long-enough-1",
    },
    ("PATCH", "/api/v1/users/{user_id}"): {"active": False},
    ("PATCH", "/api/v1/me/preferences"): {"notify_email": False},
    ("POST", "/api/v1/sessions"): {"title": "t", "problem": "p"},
    ("POST", "/api/v1/sessions/{session_id}/steps"): {"kind": "note", "content": "x"},
    ("POST", "/api/v1/sessions/{session_id}/resolve"): {"resolution": "done"},
    ("POST", "/api/v1/sessions/{session_id}/handoff"): {"reason": "stuck", "urgency": "high"},
    ("POST", "/api/v1/handoffs/{handoff_id}/resolve"): {"resolution": "done"},
    ("POST", "/api/v1/handoffs/{handoff_id}/assign"): {"user_id": "someone"},
    ("PATCH", "/api/v1/account/notifications"): {"renotify_after_minutes": 5},
    ("POST", "/api/v1/analytics/baseline"): {"seconds": 90},
    ("PATCH", "/api/v1/analytics/baseline/{observation_id}"): {"seconds": 90},
    ("POST", "/api/v1/sessions/{session_id}/assistant"): {"question": "what next?"},
    # The token is checked after the session is found: another account's session is a 404.
    ("POST", "/api/v1/sessions/{session_id}/assistant/keep"): {"answer": "x", "token": "t"},
}
# The form fields of page POSTs that need them to reach the handler.
FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/metrics-dashboard/baseline/{observation_id}"): {"duration": "90"},
}
# Routes anyone may call (no login needed).
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/login"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    # Claim from the email: the link is the credential (tests/handoffs/test_email_claim.py).
    ("GET", "/claim/{token}"),
    ("POST", "/claim/{token}"),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    roles: frozenset[str] | None  # None: any logged-in user
    params: tuple[str, ...]
    page: bool
    takes_body: bool

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _gate(dependant: Dependant) -> tuple[bool, frozenset[str] | None]:
    """(needs a login, the roles allowed) from the route's dependency tree."""
    login, roles = False, None
    for dep in dependant.dependencies:
        if dep.call is current_actor:
            login = True
        gate = getattr(dep.call, "roles", None)
        if gate is not None:
            login, roles = True, frozenset(gate) if roles is None else roles & gate
        sub_login, sub_roles = _gate(dep)
        login = login or sub_login
        if sub_roles is not None:
            roles = sub_roles if roles is None else roles & sub_roles
    return login, roles


def _routes() -> Iterator[Route]:
    for context in iter_route_contexts(create_app().routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        login, roles = _gate(route.dependant)
        params = tuple(p for _, p, _, _ in string.Formatter().parse(context.path) if p)
        for method in sorted(route.methods - {"HEAD"}):
            if (method, context.path) in PUBLIC:
                assert not login, f"{method} {context.path} is listed public but needs a login"
                continue
            assert login, f"{method} {context.path} needs no login: add it to PUBLIC or gate it"
            page = not context.path.startswith("/api/")
            yield Route(method, context.path, roles, params, page, route.body_field is not None)


ROUTES = list(_routes())


def test_every_route_is_in_the_matrix() -> None:
    for route in ROUTES:
        if route.takes_body and not route.page and route.key not in BODIES:
            pytest.fail(f"{route}: add an example body to BODIES")
        for param in route.params:
            assert param in OBJECTS, f"{route}: teach OBJECTS how to make a {param!r}"


Make = Callable[[httpx.AsyncClient, Factory, dict[str, TestUser]], Awaitable[str]]


async def _session(client: httpx.AsyncClient, _f: Factory, team: dict[str, TestUser]) -> str:
    s = await open_session(client, team["tech"])
    await add_step(client, team["tech"], s["id"])
    return str(s["id"])


async def _handoff(client: httpx.AsyncClient, f: Factory, team: dict[str, TestUser]) -> str:
    session_id = await _session(client, f, team)
    r = await client.post(
        f"/api/v1/sessions/{session_id}/handoff",
        json={"reason": "stuck", "urgency": "high"},
        headers=team["tech"].headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _user(_c: httpx.AsyncClient, _f: Factory, team: dict[str, TestUser]) -> str:
    return team["eng"].id


async def _observation(client: httpx.AsyncClient, _f: Factory, team: dict[str, TestUser]) -> str:
    r = await client.post(
        "/api/v1/analytics/baseline", json={"seconds": 120}, headers=team["eng"].headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


OBJECTS: dict[str, Make] = {
    "session_id": _session,
    "handoff_id": _handoff,
    "user_id": _user,
    "observation_id": _observation,
}


async def _snapshot(db: async_sessionmaker[AsyncSession]) -> tuple[Any, ...]:
    async with db() as s:
        counts = [
            (await s.execute(select(func.count()).select_from(m))).scalar_one()
            for m in (AiSession, Step, Handoff, Event, Delivery, User, BaselineObservation)
        ]
        states = [
            (await s.execute(select(func.count()).where(column == "open"))).scalar_one()
            for column in (Handoff.status, AiSession.status)
        ]
        users = (await s.execute(select(User.id, User.role, User.active).order_by(User.id))).all()
    return (*counts, *states, tuple(users))


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> dict[str, Any]:
    """Account A with one object of each kind; account B's team asks for them."""
    a = await factory.team()
    b = await factory.team()
    objects = {name: await make(client, factory, a) for name, make in OBJECTS.items()}
    return {"a": a, "b": b, "objects": objects}


async def _call(client: httpx.AsyncClient, route: Route, world: dict[str, Any], **kw: Any) -> Any:
    url = route.path.format(**world["objects"])
    body = BODIES.get(route.key)
    if route.page and route.method == "POST":
        return await client.request(route.method, url, data=FORMS.get(route.key, {}), **kw)
    return await client.request(route.method, url, json=body, **kw)


def _ids(route: Route) -> str:
    return str(route)


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
async def test_no_credentials_is_401(client, db, world, route: Route) -> None:  # type: ignore[no-untyped-def]
    before = await _snapshot(db)
    r = await _call(client, route, world, headers={"accept": "application/json"})
    if route.page and r.status_code == 303:
        assert r.headers["location"].startswith("/login")
    else:
        assert r.status_code == 401, r.text
    assert await _snapshot(db) == before


WRONG_ROLE = [
    (route, who)
    for route in ROUTES
    if route.roles is not None
    for who, role in ROLES.items()
    if role not in route.roles
]


@pytest.mark.parametrize(("route", "who"), WRONG_ROLE, ids=lambda v: str(v))
async def test_a_role_the_gate_refuses_is_403(client, db, world, route: Route, who: str) -> None:  # type: ignore[no-untyped-def]
    before = await _snapshot(db)
    r = await _call(client, route, world, headers=world["a"][who].headers)
    assert r.status_code == 403, r.text
    assert await _snapshot(db) == before


def _askers(route: Route) -> list[str]:
    """Who of account B asks: the technician and the admin where the gate lets them in (own-
    object paths and the widest view), else the engineer."""
    allowed = [w for w, role in ROLES.items() if route.roles is None or role in route.roles]
    return [w for w in allowed if w != "eng"] or allowed


OTHER_ACCOUNT = [(route, who) for route in ROUTES if route.params for who in _askers(route)]


@pytest.mark.parametrize(("route", "who"), OTHER_ACCOUNT, ids=lambda v: str(v))
async def test_another_accounts_object_is_404(client, db, world, route: Route, who: str) -> None:  # type: ignore[no-untyped-def]
    before = await _snapshot(db)
    r = await _call(client, route, world, headers=world["b"][who].headers)
    assert r.status_code == 404, f"{route} as B's {who}: {r.status_code} {r.text[:200]}"
    assert await _snapshot(db) == before

"""Bad input answers 422 naming the field, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flowpilot.models import AiSession, Step
from tests.factories import open_session

GOOD = {"title": "Printer offline", "problem": "Queue shows offline"}


async def counts(db) -> tuple[int, int]:
    async with db() as s:
        sessions = (await s.execute(select(func.count()).select_from(AiSession))).scalar_one()
        steps = (await s.execute(select(func.count()).select_from(Step))).scalar_one()
    return int(sessions), int(steps)


def fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert all({"loc", "field", "msg", "type"} <= e.keys() for e in detail)
    return [e["field"] for e in detail]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"problem": "p"}, "title"),
        ({"title": "t"}, "problem"),
        ({**GOOD, "title": ""}, "title"),
        ({**GOOD, "title": "   "}, "title"),
        ({**GOOD, "title": "t" * 201}, "title"),
        ({**GOOD, "problem": "p" * 20_001}, "problem"),
        ({**GOOD, "customer": "c" * 201}, "customer"),
        ({**GOOD, "asset": "a" * 201}, "asset"),
        ({**GOOD, "title": 123}, "title"),
        ({**GOOD, "title": None}, "title"),
        ({**GOOD, "customer": ["Acme"]}, "customer"),
        ({**GOOD, "environment": ["os", "linux"]}, "environment"),
        ({**GOOD, "environment": "os=linux"}, "environment"),
        ({**GOOD, "environment": {"os": {"name": "linux"}}}, "environment.os"),
        ({**GOOD, "environment": {"os": None}}, "environment.os"),
        ({**GOOD, "environment": {"os": "v" * 1001}}, "environment.os"),
        ({**GOOD, "environment": {f"k{n}": "v" for n in range(51)}}, "environment"),
        ({**GOOD, "owner_id": "someone-else"}, "owner_id"),
        ({**GOOD, "status": "resolved"}, "status"),
    ],
)
async def test_open_session_bad_input(client, factory, db, body, field):
    tech = await factory.user()
    r = await client.post("/api/v1/sessions", json=body, headers=tech.headers)
    assert field in fields(r)
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x"}, "kind"),
        ({"kind": "note"}, "content"),
        ({"kind": "banana", "content": "x"}, "kind"),
        ({"kind": "assistant", "content": "x"}, "kind"),  # only the assistant writes those
        ({"kind": "NOTE", "content": "x"}, "kind"),
        ({"kind": "note", "content": ""}, "content"),
        ({"kind": "note", "content": "c" * 20_001}, "content"),
        ({"kind": "note", "content": 7}, "content"),
        ({"kind": "note", "content": "x", "actor_id": "someone-else"}, "actor_id"),
    ],
)
async def test_add_step_bad_input(client, factory, db, body, field):
    tech = await factory.user()
    s = await open_session(client, tech)
    r = await client.post(f"/api/v1/sessions/{s['id']}/steps", json=body, headers=tech.headers)
    assert field in fields(r)
    assert await counts(db) == (1, 0)


async def test_limits_are_inclusive(client, factory, db):
    tech = await factory.user()
    body = {"title": "t" * 200, "problem": "p" * 20_000, "customer": "c" * 200}
    s = await open_session(client, tech, **body)
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/steps",
        json={"kind": "result", "content": "c" * 20_000},
        headers=tech.headers,
    )
    assert r.status_code == 201
    assert await counts(db) == (1, 1)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": "t", "problem": ', "application/json"),
        (b"{'title': 't'}", "application/json"),
        (b"not json at all", "application/json"),
    ],
)
async def test_bad_json_is_422_naming_the_body(client, factory, db, content, content_type):
    tech = await factory.user()
    r = await client.post(
        "/api/v1/sessions",
        content=content,
        headers={**tech.headers, "Content-Type": content_type},
    )
    assert fields(r) == ["body"]
    assert r.json()["detail"][0]["type"] == "json_invalid"
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize("payload", [[GOOD], "a string", 42, None, True])
async def test_non_object_body_is_422(client, factory, db, payload):
    tech = await factory.user()
    r = await client.post("/api/v1/sessions", json=payload, headers=tech.headers)
    assert fields(r) == ["body"]
    assert await counts(db) == (0, 0)


async def test_empty_and_non_json_bodies_are_422(client, factory, db):
    tech = await factory.user()
    r = await client.post("/api/v1/sessions", headers=tech.headers)
    assert fields(r) == ["body"]
    r = await client.post(
        "/api/v1/sessions",
        content=b"title=t&problem=p",
        headers={**tech.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert fields(r) == ["body"]
    assert await counts(db) == (0, 0)

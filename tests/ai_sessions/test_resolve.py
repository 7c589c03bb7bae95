"""Resolving a session: who may, what it records, and what it closes."""

from __future__ import annotations

import pytest

from flowpilot.ai_sessions import service
from flowpilot.models import AiSession, Step
from tests.factories import add_step, open_session


async def resolve(client, user, session_id, resolution="Replaced the fuser"):
    return await client.post(
        f"/api/v1/sessions/{session_id}/resolve",
        json={"resolution": resolution},
        headers=user.headers,
    )


async def test_owner_resolves_and_it_is_recorded(client, factory, clock, db):
    tech = await factory.user()
    s = await open_session(client, tech)
    clock.advance(minutes=30)
    r = await resolve(client, tech, s["id"], "  Cleared the stuck job  ")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "resolved"
    assert body["resolution"] == "Cleared the stuck job"
    assert body["resolved_by_id"] == tech.id
    assert body["resolved_at"] == body["updated_at"]
    async with db() as session:
        row = await session.get(AiSession, s["id"])
        assert row is not None
        assert row.resolved_at == clock.now()
        assert (row.status, row.resolved_by_id) == ("resolved", tech.id)


@pytest.mark.parametrize("who", ["assignee", "admin"])
async def test_current_assignee_and_admin_may_resolve(client, factory, db, clock, who):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    async with db() as session:
        row = await session.get(AiSession, s["id"])
        assert row is not None
        await service.assign(session, ai_session=row, assignee_id=team["eng"].id, now=clock.now())
        await session.commit()
    caller = team["eng"] if who == "assignee" else team["admin"]
    r = await resolve(client, caller, s["id"])
    assert r.status_code == 200
    assert r.json()["resolved_by_id"] == caller.id


async def test_others_may_not_resolve(client, factory):
    team = await factory.team()
    peer = await factory.user(team["tech"].account_id)
    s = await open_session(client, team["tech"])
    for caller in (team["eng"], peer):  # a senior who is not the assignee; a peer technician
        r = await resolve(client, caller, s["id"])
        assert r.status_code == 403
    got = await client.get(f"/api/v1/sessions/{s['id']}", headers=team["tech"].headers)
    assert got.json()["status"] == "open"


async def test_resolving_twice_is_409_and_keeps_the_first(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    assert (await resolve(client, team["tech"], s["id"], "first")).status_code == 200
    r = await resolve(client, team["admin"], s["id"], "second")
    assert r.status_code == 409
    assert r.json()["status"] == "resolved"
    got = await client.get(f"/api/v1/sessions/{s['id']}", headers=team["tech"].headers)
    assert (got.json()["resolution"], got.json()["resolved_by_id"]) == ("first", team["tech"].id)


async def test_steps_on_a_resolved_session_are_409_and_not_written(client, factory, db):
    tech = await factory.user()
    s = await open_session(client, tech)
    await add_step(client, tech, s["id"])
    assert (await resolve(client, tech, s["id"])).status_code == 200
    r = await client.post(
        f"/api/v1/sessions/{s['id']}/steps",
        json={"kind": "note", "content": "late"},
        headers=tech.headers,
    )
    assert r.status_code == 409
    assert r.json() == {"detail": "session is resolved", "status": "resolved"}
    async with db() as session:
        from sqlalchemy import func, select

        assert (await session.execute(select(func.count()).select_from(Step))).scalar() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "resolution"),
        ({"resolution": ""}, "resolution"),
        ({"resolution": "   "}, "resolution"),
        ({"resolution": "x" * 20_001}, "resolution"),
        ({"resolution": ["a"]}, "resolution"),
        ({"resolution": "ok", "status": "open"}, "status"),
    ],
)
async def test_resolve_bad_input_is_422_and_leaves_it_open(client, factory, body, field):
    tech = await factory.user()
    s = await open_session(client, tech)
    r = await client.post(f"/api/v1/sessions/{s['id']}/resolve", json=body, headers=tech.headers)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["detail"]]
    got = await client.get(f"/api/v1/sessions/{s['id']}", headers=tech.headers)
    assert got.json()["status"] == "open"


async def test_list_filters_by_status(client, factory):
    admin = await factory.user(role="admin")
    open_one = await open_session(client, admin, title="open one")
    done = await open_session(client, admin, title="done")
    assert (await resolve(client, admin, done["id"])).status_code == 200

    async def ids(query: str) -> set[str]:
        r = await client.get(f"/api/v1/sessions{query}", headers=admin.headers)
        assert r.status_code == 200, r.text
        return {s["id"] for s in r.json()["items"]}

    assert await ids("?status=open") == {open_one["id"]}
    assert await ids("?status=resolved") == {done["id"]}
    assert await ids("?status=all") == await ids("") == {open_one["id"], done["id"]}
    bad = await client.get("/api/v1/sessions?status=closed", headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "status"


async def test_a_live_escalation_must_be_resolved_through_the_escalation(client, factory):
    tech = await factory.user()
    s = await open_session(client, tech)
    h = await client.post(
        f"/api/v1/sessions/{s['id']}/handoff",
        json={"reason": "stuck", "urgency": "high"},
        headers=tech.headers,
    )
    assert h.status_code == 201, h.text
    r = await resolve(client, tech, s["id"])
    assert r.status_code == 409
    assert r.json()["handoff_id"] == h.json()["id"]
    cancel = await client.post(f"/api/v1/handoffs/{h.json()['id']}/cancel", headers=tech.headers)
    assert cancel.status_code == 200, cancel.text
    assert (await resolve(client, tech, s["id"])).status_code == 200

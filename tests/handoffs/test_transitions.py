"""Claim, release, resolve, cancel: who may, from which status, and what changes with it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import add_step, open_session
from tests.handoffs.helpers import (
    escalate,
    escalated,
    events_of,
    handoff_row,
    post,
    session_row,
    snapshot,
)


async def test_claim_assigns_session_and_records_event(client, factory, db, clock):
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(client, tech)
    clock.advance(seconds=90)
    response = await post(client, eng, f"/api/v1/handoffs/{h['id']}/claim")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "claimed"
    assert body["claimed_by_id"] == eng.id and body["claimed_by_name"] == eng.name
    row = await handoff_row(db, h["id"])
    assert row.claimed_at == clock.now() and row.status == "claimed"
    assert (await session_row(db, h["session_id"])).assignee_id == eng.id
    events = await events_of(db, h["id"])
    assert [e.type for e in events] == ["handoff.created", "handoff.claimed"]
    assert events[1].actor_id == eng.id
    assert events[1].payload["claimed_by_id"] == eng.id
    assert events[1].payload["claimed_by_name"] == eng.name
    assert events[1].payload["status"] == "claimed"
    # The claimer now adds steps (their actions); the technician at the device still may
    # (co-working), each step naming its author; another engineer may not.
    claimer_step = await add_step(client, eng, h["session_id"], content="Checked spooler")
    assert (claimer_step["actor_id"], claimer_step["actor_name"]) == (eng.id, eng.name)
    own = await add_step(client, tech, h["session_id"], kind="note", content="me too")
    assert (own["actor_id"], own["actor_name"]) == (tech.id, tech.name)
    refused = await client.post(
        f"/api/v1/sessions/{h['session_id']}/steps",
        json={"kind": "note", "content": "not mine"},
        headers=team["eng2"].headers,
    )
    assert refused.status_code == 403
    detail = await client.get(f"/api/v1/sessions/{h['session_id']}", headers=tech.headers)
    assert [(s["actor_name"], s["content"]) for s in detail.json()["steps"]] == [
        (eng.name, "Checked spooler"),
        (tech.name, "me too"),
    ]


async def test_second_claim_is_409_naming_holder_and_a_repeat_is_200(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    assert (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).status_code == 200
    before = snapshot(await handoff_row(db, h["id"]))
    for user in (team["eng2"], team["admin"]):
        response = await post(client, user, f"/api/v1/handoffs/{h['id']}/claim")
        assert response.status_code == 409
        body = response.json()
        assert body["claimed_by_id"] == team["eng"].id
        assert body["status"] == "claimed"
        assert team["eng"].name in body["detail"]
    # Claiming what you already hold is idempotent: 200 with the handoff, nothing written.
    again = await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "claimed"
    assert again.json()["claimed_by_name"] == team["eng"].name
    assert snapshot(await handoff_row(db, h["id"])) == before
    assert (await session_row(db, h["session_id"])).assignee_id == team["eng"].id
    assert [e.type for e in await events_of(db, h["id"])] == ["handoff.created", "handoff.claimed"]


async def test_release_returns_to_queue_and_to_owner(client, factory, db, clock):
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(client, tech)
    await post(client, eng, f"/api/v1/handoffs/{h['id']}/claim")
    clock.advance(minutes=5)
    response = await post(client, eng, f"/api/v1/handoffs/{h['id']}/release")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "open"
    assert body["claimed_by_id"] is None and body["claimed_at"] is None
    assert body["claimed_by_name"] is None
    assert (await session_row(db, h["session_id"])).assignee_id == tech.id
    events = await events_of(db, h["id"])
    assert [e.type for e in events][-1] == "handoff.released"
    assert events[-1].actor_id == eng.id and events[-1].payload["status"] == "open"
    # Back in the queue: another senior can claim it now.
    again = await post(client, team["eng2"], f"/api/v1/handoffs/{h['id']}/claim")
    assert again.status_code == 200 and again.json()["claimed_by_id"] == team["eng2"].id
    assert (await session_row(db, h["session_id"])).assignee_id == team["eng2"].id


async def test_admin_may_release_and_resolve_anyones_claim(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    assert (
        await post(client, team["admin"], f"/api/v1/handoffs/{h['id']}/release")
    ).status_code == 200
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    done = await post(
        client,
        team["admin"],
        f"/api/v1/handoffs/{h['id']}/resolve",
        {"resolution": "Replaced fuser"},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    events = await events_of(db, h["id"])
    assert events[-1].type == "handoff.resolved" and events[-1].actor_id == team["admin"].id


async def test_other_engineer_may_not_release_or_resolve(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    before = snapshot(await handoff_row(db, h["id"]))
    r1 = await post(client, team["eng2"], f"/api/v1/handoffs/{h['id']}/release")
    r2 = await post(
        client, team["eng2"], f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "x"}
    )
    r3 = await post(client, team["tech"], f"/api/v1/handoffs/{h['id']}/release")
    r4 = await post(
        client, team["tech"], f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "x"}
    )
    assert [r.status_code for r in (r1, r2, r3, r4)] == [403, 403, 403, 403]
    assert snapshot(await handoff_row(db, h["id"])) == before
    assert (await session_row(db, h["session_id"])).assignee_id == team["eng"].id
    assert len(await events_of(db, h["id"])) == 2


async def test_resolve_resolves_handoff_and_session(client, factory, db, clock):
    team = await factory.team()
    eng = team["eng"]
    h = await escalated(client, team["tech"])
    await post(client, eng, f"/api/v1/handoffs/{h['id']}/claim")
    clock.advance(minutes=20)
    response = await post(
        client, eng, f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "Rolled back driver 4.2"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved"
    assert response.json()["resolved_at"] is not None
    row = await handoff_row(db, h["id"])
    assert row.resolution == "Rolled back driver 4.2" and row.resolved_by_id == eng.id
    assert row.resolved_at == clock.now()
    ai = await session_row(db, h["session_id"])
    assert ai.status == "resolved" and ai.resolution == "Rolled back driver 4.2"
    assert ai.resolved_by_id == eng.id
    events = await events_of(db, h["id"])
    assert [e.type for e in events] == ["handoff.created", "handoff.claimed", "handoff.resolved"]


async def test_resolve_requires_a_resolution(client, factory, db):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    for body in ({}, {"resolution": ""}, {"resolution": "x" * 20_001}):
        response = await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/resolve", body)
        assert response.status_code == 422
        assert "resolution" in [e["field"] for e in response.json()["detail"]]
    assert (await handoff_row(db, h["id"])).status == "claimed"


async def test_cancel_by_escalator_while_open(client, factory, db):
    team = await factory.team()
    tech = team["tech"]
    h = await escalated(client, tech)
    for user in (team["eng"], team["admin"]):
        assert (await post(client, user, f"/api/v1/handoffs/{h['id']}/cancel")).status_code == 403
    response = await post(client, tech, f"/api/v1/handoffs/{h['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    row = await handoff_row(db, h["id"])
    assert row.cancelled_at is not None
    events = await events_of(db, h["id"])
    assert [e.type for e in events] == ["handoff.created", "handoff.cancelled"]
    assert events[-1].actor_id == tech.id
    # A cancelled escalation cannot be claimed.
    claim = await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    assert claim.status_code == 409 and claim.json()["status"] == "cancelled"
    assert claim.json()["claimed_by_id"] is None


# (from-status setup, endpoint, actor key, body) -> expected 409 with the current status
REFUSED = [
    ("open", "release", "eng", None),
    ("open", "resolve", "eng", {"resolution": "x"}),
    ("claimed", "cancel", "tech", None),
    ("claimed", "claim", "eng2", None),
    ("resolved", "claim", "eng2", None),
    ("resolved", "release", "eng", None),
    ("resolved", "resolve", "eng", {"resolution": "again"}),
    ("resolved", "cancel", "tech", None),
    ("cancelled", "claim", "eng", None),
    ("cancelled", "release", "eng", None),
    ("cancelled", "resolve", "admin", {"resolution": "x"}),
    ("cancelled", "cancel", "tech", None),
]


@pytest.mark.parametrize(("status", "action", "who", "body"), REFUSED)
async def test_disallowed_transition_is_409_and_changes_nothing(
    client, factory, db, clock, status, action, who, body
):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    base = f"/api/v1/handoffs/{h['id']}"
    if status in ("claimed", "resolved"):
        assert (await post(client, team["eng"], f"{base}/claim")).status_code == 200
    if status == "resolved":
        assert (
            await post(client, team["eng"], f"{base}/resolve", {"resolution": "ok"})
        ).status_code == 200
    if status == "cancelled":
        assert (await post(client, team["tech"], f"{base}/cancel")).status_code == 200
    before = snapshot(await handoff_row(db, h["id"]))
    assignee = (await session_row(db, h["session_id"])).assignee_id
    n_events = len(await events_of(db, h["id"]))
    clock.advance(minutes=1)

    response = await post(client, team[who], f"{base}/{action}", body)

    assert response.status_code == 409, response.text
    assert response.json()["status"] == status
    assert snapshot(await handoff_row(db, h["id"])) == before
    assert (await session_row(db, h["session_id"])).assignee_id == assignee
    assert len(await events_of(db, h["id"])) == n_events


async def test_claimed_at_and_times_are_the_clocks(client, factory, db, clock):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    created = clock.now()
    h = (await escalate(client, team["tech"], s["id"])).json()
    clock.advance(seconds=42)
    body = (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).json()
    row = await handoff_row(db, h["id"])
    assert row.created_at == created
    assert row.claimed_at - row.created_at == timedelta(seconds=42)
    assert body["claimed_at"].startswith(row.claimed_at.isoformat()[:19])

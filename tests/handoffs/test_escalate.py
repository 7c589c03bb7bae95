"""Escalate: owner only, validated input, one live handoff per session (app and database)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from flowpilot.models import Event, Handoff
from tests.factories import open_session
from tests.handoffs.helpers import escalate, events_of, handoff_row, post

HANDOFF_KEYS = {
    "id",
    "session_id",
    "account_id",
    "status",
    "reason",
    "urgency",
    "escalated_by_id",
    "claimed_by_id",
    "created_at",
    "claimed_at",
    "resolved_at",
}


async def test_owner_escalates_and_event_is_written(client, factory, db, clock):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech, customer="ACME", asset="PRN-7")
    response = await escalate(client, tech, s["id"], reason="Driver keeps failing", urgency="high")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= HANDOFF_KEYS
    assert body["status"] == "open"
    assert body["session_id"] == s["id"]
    assert body["account_id"] == tech.account_id
    assert body["escalated_by_id"] == tech.id
    assert body["claimed_by_id"] is None and body["claimed_at"] is None
    assert body["urgency"] == "high" and body["reason"] == "Driver keeps failing"
    assert body["session_title"] == "Printer offline" and body["customer"] == "ACME"
    assert body["escalated_by_name"] == tech.name

    events = await events_of(db, body["id"])
    assert [e.type for e in events] == ["handoff.created"]
    event = events[0]
    assert event.actor_id == tech.id and event.session_id == s["id"]
    assert event.account_id == tech.account_id
    assert event.payload["id"] == body["id"] and event.payload["status"] == "open"
    assert event.payload["session_title"] == "Printer offline"
    assert event.payload["escalated_by_name"] == tech.name
    assert event.payload["claimed_by_name"] is None
    assert event.payload["created_at"] == body["created_at"]


async def test_only_owner_may_escalate(client, factory, db):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    other_tech = await factory.user(team["tech"].account_id, role="technician")
    for user in (team["eng"], team["admin"], other_tech):
        response = await escalate(client, user, s["id"])
        assert response.status_code == 403, (user.role, response.text)
    async with db() as session:
        assert (await session.scalar(select(func.count()).select_from(Handoff))) == 0
        assert (await session.scalar(select(func.count()).select_from(Event))) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"urgency": "high"}, "reason"),
        ({"reason": "", "urgency": "high"}, "reason"),
        ({"reason": "   ", "urgency": "high"}, "reason"),
        ({"reason": "x" * 2001, "urgency": "high"}, "reason"),
        ({"reason": "stuck", "urgency": "urgent"}, "urgency"),
        ({"reason": "stuck", "urgency": "high", "extra": 1}, "extra"),
    ],
)
async def test_bad_input_is_422_naming_the_field(client, factory, db, body, field):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await post(client, team["tech"], f"/api/v1/sessions/{s['id']}/handoff", body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["detail"]]
    async with db() as session:
        assert (await session.scalar(select(func.count()).select_from(Handoff))) == 0


async def test_reason_of_2000_chars_is_accepted(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await escalate(client, team["tech"], s["id"], reason="r" * 2000, urgency="low")
    assert response.status_code == 201


async def test_second_live_handoff_is_409_and_nothing_written(client, factory, db):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    first = (await escalate(client, tech, s["id"])).json()
    second = await escalate(client, tech, s["id"])
    assert second.status_code == 409
    assert second.json()["handoff_id"] == first["id"]
    assert second.json()["status"] == "open"
    # Still 409 while claimed.
    assert (
        await post(client, team["eng"], f"/api/v1/handoffs/{first['id']}/claim")
    ).status_code == 200
    third = await escalate(client, tech, s["id"])
    assert third.status_code == 409 and third.json()["status"] == "claimed"
    async with db() as session:
        assert (await session.scalar(select(func.count()).select_from(Handoff))) == 1
        types = (await session.execute(select(Event.type).order_by(Event.id))).scalars().all()
    assert types == ["handoff.created", "handoff.claimed"]


async def test_escalate_again_after_cancel(client, factory):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    first = (await escalate(client, tech, s["id"])).json()
    assert (await post(client, tech, f"/api/v1/handoffs/{first['id']}/cancel")).status_code == 200
    again = await escalate(client, tech, s["id"])
    assert again.status_code == 201 and again.json()["id"] != first["id"]


async def test_resolved_session_cannot_be_escalated(client, factory, db):
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    s = await open_session(client, tech)
    h = (await escalate(client, tech, s["id"])).json()
    await post(client, eng, f"/api/v1/handoffs/{h['id']}/claim")
    done = await post(client, eng, f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "Fixed"})
    assert done.status_code == 200
    response = await escalate(client, tech, s["id"])
    assert response.status_code == 409 and response.json()["status"] == "resolved"


async def test_unknown_and_foreign_sessions_are_404_and_no_credentials_401(client, factory):
    team = await factory.team()
    other = await factory.team()
    s = await open_session(client, other["tech"])
    assert (await escalate(client, team["tech"], s["id"])).status_code == 404
    assert (await escalate(client, team["tech"], "nope")).status_code == 404
    anonymous = await client.post(
        f"/api/v1/sessions/{s['id']}/handoff", json={"reason": "x", "urgency": "low"}
    )
    assert anonymous.status_code == 401


async def test_database_refuses_a_second_live_handoff(client, factory, db, clock):
    """The partial unique index itself, bypassing the service's read-then-write check."""
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    h = (await escalate(client, tech, s["id"])).json()

    def row(status: str) -> Handoff:
        now = clock.now()
        return Handoff(
            account_id=tech.account_id,
            session_id=s["id"],
            status=status,
            reason="direct insert",
            urgency="low",
            escalated_by_id=tech.id,
            created_at=now,
            updated_at=now,
        )

    for status in ("open", "claimed"):
        async with db() as session:
            session.add(row(status))
            with pytest.raises(IntegrityError):
                await session.commit()
    # Finished handoffs do not count as live: any number may exist.
    async with db() as session:
        session.add_all([row("resolved"), row("cancelled"), row("cancelled")])
        await session.commit()
    assert (await handoff_row(db, h["id"])).status == "open"


async def test_savepoint_turns_a_lost_race_into_a_clean_409(client, factory, db, clock):
    """A live handoff that appears after the service's check is caught by the index -> 409."""
    from flowpilot.handoffs import repository

    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    original = repository.live_for_session
    calls = {"n": 0}

    async def racing_check(session, tenant, session_id):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            # Someone else's escalation lands between our check and our insert. (SQLite
            # serialises writers, so it is written through this request's own connection.)
            now = clock.now()
            await session.execute(
                insert(Handoff).values(
                    id="racer",
                    account_id=tech.account_id,
                    session_id=session_id,
                    status="open",
                    reason="the other request",
                    urgency="low",
                    escalated_by_id=tech.id,
                    created_at=now,
                    updated_at=now,
                )
            )
            return None
        return await original(session, tenant, session_id)

    repository.live_for_session = racing_check  # type: ignore[assignment]
    try:
        response = await escalate(client, tech, s["id"])
    finally:
        repository.live_for_session = original  # type: ignore[assignment]
    assert response.status_code == 409, response.text
    # Answered by the service after the savepoint rolled back (the generic IntegrityError
    # handler would not know the live handoff).
    assert response.json()["handoff_id"] == "racer"
    assert response.json()["status"] == "open"
    async with db() as session:
        assert (await session.scalar(select(func.count()).select_from(Event))) == 0


async def test_concurrent_escalations_of_one_session_yield_one_handoff(client, factory, db):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    responses = await asyncio.gather(*(escalate(client, tech, s["id"]) for _ in range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9, [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    for r in responses:
        if r.status_code == 409:
            assert r.json()["detail"]
    async with db() as session:
        ids = (await session.execute(select(Handoff.id))).scalars().all()
        events = (await session.execute(select(Event.type))).scalars().all()
    assert ids == [winner["id"]]
    assert events == ["handoff.created"]

"""Audit events: written with the change, published only after commit, never for a rollback."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from flowpilot.handoffs import service
from flowpilot.handoffs.schemas import HandoffOut
from flowpilot.models import Event, Handoff
from tests.factories import open_session
from tests.handoffs.helpers import escalate, post


def _record_publishes(app, monkeypatch) -> list:  # type: ignore[no-untyped-def]
    published: list = []
    bus = app.state.ctx.bus
    original = bus.publish

    async def publish(event):  # type: ignore[no-untyped-def]
        published.append(event)
        await original(event)

    monkeypatch.setattr(bus, "publish", publish)
    return published


async def test_every_transition_publishes_its_committed_event(
    app, client, factory, db, monkeypatch
):
    published = _record_publishes(app, monkeypatch)
    team = await factory.team()
    s = await open_session(client, team["tech"])
    h = (await escalate(client, team["tech"], s["id"])).json()
    base = f"/api/v1/handoffs/{h['id']}"
    assert (await post(client, team["eng"], f"{base}/claim")).status_code == 200
    assert (await post(client, team["eng"], f"{base}/release")).status_code == 200
    assert (await post(client, team["eng2"], f"{base}/claim")).status_code == 200
    assert (
        await post(client, team["eng2"], f"{base}/resolve", {"resolution": "ok"})
    ).status_code == 200
    # Refused transitions publish nothing.
    assert (await post(client, team["eng"], f"{base}/claim")).status_code == 409
    assert (await post(client, team["tech"], f"{base}/cancel")).status_code == 409

    async with db() as session:
        rows = (await session.execute(select(Event).order_by(Event.id))).scalars().all()
    assert [e.type for e in rows] == [
        "handoff.created",
        "handoff.claimed",
        "handoff.released",
        "handoff.claimed",
        "handoff.resolved",
    ]
    assert [e.actor_id for e in rows] == [
        team["tech"].id,
        team["eng"].id,
        team["eng"].id,
        team["eng2"].id,
        team["eng2"].id,
    ]
    assert [p.id for p in published] == [e.id for e in rows]
    assert [p.data for p in published] == [e.payload for e in rows]
    assert all(p.account_id == team["tech"].account_id for p in published)
    assert [p.data["status"] for p in published] == [
        "open",
        "claimed",
        "open",
        "claimed",
        "resolved",
    ]


async def test_a_rolled_back_escalation_leaves_no_trace(app, factory, db, monkeypatch):
    """If anything fails after the event was appended, nothing is kept and nothing is sent."""
    from flowpilot.notifications import service as notifications_service

    published = _record_publishes(app, monkeypatch)
    team = await factory.team()

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("delivery planning failed")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        s = await open_session(client, team["tech"])
        monkeypatch.setattr(notifications_service, "plan_deliveries", broken)
        response = await escalate(client, team["tech"], s["id"])
    assert response.status_code == 500
    async with db() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 0
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
    assert published == []


@pytest.mark.parametrize("how", ["http", "outside a transaction", "in a transaction"])
async def test_the_claim_event_is_the_handoff_as_the_api_answers_it(
    client, factory, db, clock, how
):
    """The claimed event's payload (PostgreSQL writes it in the claim's own statement) is the
    answer's JSON to the character of each time: ``...Z``, ``.250000Z`` with a fraction."""
    team = await factory.team()
    s = await open_session(client, team["tech"])
    h = (await escalate(client, team["tech"], s["id"])).json()
    clock.advance(minutes=61, microseconds=250_000)  # past the 60 min target: a breach
    if how == "http":
        answer = (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).json()
    else:
        async with db() as session:
            if how == "in a transaction":
                await session.connection()
            row = await service.claim(
                session, actor=team["eng"].actor, handoff_id=h["id"], now=clock.now(), bus=None
            )
            await session.commit()
        answer = service.to_out(row).model_dump(mode="json")
    shown = (await client.get(f"/api/v1/handoffs/{h['id']}", headers=team["eng"].headers)).json()
    async with db() as session:
        claimed = (
            await session.execute(select(Event).where(Event.type == "handoff.claimed"))
        ).scalar_one()
    assert claimed.payload == answer == {k: shown[k] for k in answer}
    assert list(claimed.payload) == list(HandoffOut.model_fields)
    assert claimed.actor_id == team["eng"].id and claimed.handoff_id == h["id"]
    assert answer["claimed_by_name"] == team["eng"].name
    assert answer["session_title"] == s["title"]
    assert answer["claimed_at"] == answer["breached_at"]
    assert answer["claimed_at"].endswith(".250000Z")
    assert answer["created_at"].endswith("Z") and "." not in answer["created_at"]
    assert answer["first_action_at"] is None and answer["resolved_at"] is None

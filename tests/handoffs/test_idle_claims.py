"""Claimed but idle: nudge the holder, release to the queue, exactly once, never what moved on."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.handoffs.idle import run_idle_once
from flowpilot.kernel.clock import FrozenClock
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, add_step, two_workers
from tests.handoffs.helpers import (
    claimed,
    deliveries_of_event,
    escalated,
    events_of,
    handoff_row,
    post,
    session_row,
)

SETTINGS = "/api/v1/account/notifications"


@pytest.fixture
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


async def test_nudge_at_the_minute_then_release_at_the_minute(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await claimed(client, tech, eng)
    clock.advance(minutes=9, seconds=59)
    assert await run_idle_once(ctx) == 0
    clock.advance(seconds=1)  # exactly the default 10 minutes
    assert await run_idle_once(ctx) == 1
    assert await run_idle_once(ctx) == 0  # once
    events = await events_of(db, h["id"])
    nudged = events[-1]
    assert nudged.type == "handoff.idle_nudged" and nudged.actor_id is None
    assert nudged.payload["minutes_idle"] == 10
    assert [(d.channel, d.recipient_id) for d in await deliveries_of_event(db, nudged)] == [
        ("email", eng.id)
    ]
    listed = await client.get(f"/api/v1/handoffs/{h['id']}/deliveries", headers=eng.headers)
    assert [i["kind"] for i in listed.json()["items"]].count("idle_nudge") == 1
    assert (await handoff_row(db, h["id"])).status == "claimed"

    # The card and the context say so.
    client.cookies.set("flowpilot_session", eng.token)
    page = await client.get("/escalations?view=mine", headers={"accept": "text/html"})
    assert "claimed 10 min ago · no action yet" in page.text
    page = await client.get(f"/escalations/{h['id']}", headers={"accept": "text/html"})
    assert "claimed 10 min ago · no action yet" in page.text

    clock.advance(minutes=19, seconds=59)
    assert await run_idle_once(ctx) == 0
    clock.advance(seconds=1)  # exactly the default 30 minutes
    assert await run_idle_once(ctx) == 1
    assert await run_idle_once(ctx) == 0
    row = await handoff_row(db, h["id"])
    assert row.status == "open" and row.claimed_by_id is None and row.claimed_at is None
    assert (await session_row(db, h["session_id"])).assignee_id == tech.id
    released = (await events_of(db, h["id"]))[-1]
    assert released.type == "handoff.released" and released.actor_id is None
    assert released.payload["reason"] == "no_first_action"
    assert released.payload["escalation_reason"] == h["reason"]
    assert released.payload["status"] == "open"
    # The seniors are told again, except the one who sat on it (and the escalator).
    told = sorted(d.recipient_id for d in await deliveries_of_event(db, released))
    assert told == sorted([team["eng2"].id, team["admin"].id])
    listed = await client.get(f"/api/v1/handoffs/{h['id']}/deliveries", headers=eng.headers)
    assert [i["kind"] for i in listed.json()["items"]].count("released") == 2
    # The audit timeline says why, in words.
    client.cookies.set("flowpilot_session", team["eng2"].token)
    page = await client.get(f"/escalations/{h['id']}", headers={"accept": "text/html"})
    assert f"{eng.name} claimed it 30 min before and added no step" in page.text
    # It can be claimed again, and that claim gets its own clock.
    assert (
        await post(client, team["eng2"], f"/api/v1/handoffs/{h['id']}/claim")
    ).status_code == 200
    clock.advance(minutes=10)
    assert await run_idle_once(ctx) == 1
    assert (await events_of(db, h["id"]))[-1].type == "handoff.idle_nudged"


async def test_nothing_for_a_holder_who_acted_or_a_handoff_that_moved_on(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    acted = await claimed(client, tech, eng)
    await add_step(client, eng, acted["session_id"], content="Checked the spooler")
    resolved = await claimed(client, tech, eng)
    r = await post(client, eng, f"/api/v1/handoffs/{resolved['id']}/resolve", {"resolution": "ok"})
    assert r.status_code == 200
    withdrawn = await escalated(client, tech)
    assert (
        await post(client, tech, f"/api/v1/handoffs/{withdrawn['id']}/cancel")
    ).status_code == 200
    handed = await claimed(client, tech, eng)
    clock.advance(minutes=8)
    r = await post(
        client, eng, f"/api/v1/handoffs/{handed['id']}/assign", {"user_id": team["eng2"].id}
    )
    assert r.status_code == 200
    clock.advance(minutes=2)  # 10 minutes after the claim, 2 after the hand-over
    assert await run_idle_once(ctx) == 0
    clock.advance(minutes=8)  # 10 minutes after the hand-over: the new holder is nudged
    assert await run_idle_once(ctx) == 1
    nudged = (await events_of(db, handed["id"]))[-1]
    assert nudged.type == "handoff.idle_nudged"
    assert [d.recipient_id for d in await deliveries_of_event(db, nudged)] == [team["eng2"].id]
    clock.advance(hours=5)
    assert await run_idle_once(ctx) == 1  # only the handed one is released
    for h in (acted, resolved, withdrawn):
        types = [e.type for e in await events_of(db, h["id"])]
        assert "handoff.idle_nudged" not in types and types.count("handoff.released") == 0


async def test_release_off_nudges_only_and_settings_are_validated(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    admin = team["admin"]
    got = await client.get(SETTINGS, headers=admin.headers)
    assert got.json()["idle_claim_nudge_minutes"] == 10
    assert got.json()["idle_claim_release_minutes"] == 30
    for body, field in (
        ({"idle_claim_nudge_minutes": 0}, "idle_claim_nudge_minutes"),
        ({"idle_claim_nudge_minutes": 1441}, "idle_claim_nudge_minutes"),
        ({"idle_claim_nudge_minutes": None}, "idle_claim_nudge_minutes"),
        ({"idle_claim_nudge_minutes": "5"}, "idle_claim_nudge_minutes"),
        ({"idle_claim_release_minutes": 1441}, "idle_claim_release_minutes"),
        ({"idle_claim_release_minutes": True}, "idle_claim_release_minutes"),
        ({"idle_claim_release_minutes": 5}, "idle_claim_release_minutes"),  # not after the nudge
    ):
        r = await client.patch(SETTINGS, json=body, headers=admin.headers)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    r = await client.patch(
        SETTINGS, json={"idle_claim_nudge_minutes": 1}, headers=team["eng"].headers
    )
    assert r.status_code == 403
    r = await client.patch(
        SETTINGS,
        json={"idle_claim_nudge_minutes": 2, "idle_claim_release_minutes": None},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["idle_claim_nudge_minutes"] == 2
    assert r.json()["idle_claim_release_minutes"] is None
    h = await claimed(client, team["tech"], team["eng"])
    clock.advance(minutes=2)
    assert await run_idle_once(ctx) == 1
    clock.advance(days=1)
    assert await run_idle_once(ctx) == 0
    assert (await handoff_row(db, h["id"])).status == "claimed"


async def test_two_workers_nudge_and_release_each_exactly_once(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    database_url: str,
) -> None:
    team = await factory.team()
    handoffs = []
    for _ in range(8):
        tech = await factory.user(team["tech"].account_id, role="technician")
        handoffs.append(await claimed(client, tech, team["eng"]))
    async with two_workers(ctx, database_url) as workers:
        clock.advance(minutes=10)
        assert sum(await asyncio.gather(*(run_idle_once(w) for w in workers))) == 8
        clock.advance(minutes=20)
        assert sum(await asyncio.gather(*(run_idle_once(w) for w in workers))) == 8
    for h in handoffs:
        types = [e.type for e in await events_of(db, h["id"])]
        assert types == [
            "handoff.created",
            "handoff.claimed",
            "handoff.idle_nudged",
            "handoff.released",
        ]
        released = (await events_of(db, h["id"]))[-1]
        assert len(await deliveries_of_event(db, released)) == 2  # eng2 and the admin, once each


async def test_the_settings_form_saves_the_idle_minutes(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()
    admin = team["admin"]
    client.cookies.set("flowpilot_session", admin.token)
    page = await client.get("/settings", headers={"accept": "text/html"})
    assert 'id="idle_claim_nudge_minutes"' in page.text
    assert 'id="idle_claim_release_minutes"' in page.text
    form = {
        "csrf_token": admin.csrf_token,
        "renotify_after_minutes": "10",
        "admin_alert_after_minutes": "30",
        "idle_claim_nudge_minutes": "7",
        "idle_claim_release_minutes": "",
        "claim_target_critical": "5",
    }
    r = await client.post("/settings/account", data=form)
    assert r.status_code == 303, r.text
    got = (await client.get(SETTINGS, headers=admin.headers)).json()
    assert got["idle_claim_nudge_minutes"] == 7 and got["idle_claim_release_minutes"] is None
    r = await client.post("/settings/account", data=form | {"idle_claim_release_minutes": "3"})
    assert r.status_code == 422
    assert "Release to the queue after" in r.text

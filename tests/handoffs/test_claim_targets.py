"""Claim targets per urgency: due times, the account setting, and breaches recorded exactly once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.handoffs.breach import run_breach_once
from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import Delivery
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, two_workers
from tests.handoffs.helpers import escalated, events_of, handoff_row, post

SETTINGS = "/api/v1/account/notifications"


@pytest.fixture
def ctx(app: Any) -> AppContext:
    """What the background jobs get: the app's settings, clock and database paths."""
    context: AppContext = app.state.ctx
    return context


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _breached_deliveries(
    db: async_sessionmaker[AsyncSession], handoff_id: str
) -> list[Delivery]:
    events = [e for e in await events_of(db, handoff_id) if e.type == "handoff.breached"]
    async with db() as s:
        stmt = select(Delivery).where(Delivery.event_id.in_([e.id for e in events]))
        return list((await s.execute(stmt)).scalars().all())


async def test_due_time_per_urgency_from_the_account_targets(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    defaults = {"critical": 5, "high": 15, "normal": 60, "low": 240}
    for urgency, minutes in defaults.items():
        h = await escalated(client, team["tech"], urgency=urgency)
        assert _when(h["claim_due_at"]) == clock.now() + timedelta(minutes=minutes), urgency
        assert h["breached_at"] is None
    r = await client.patch(
        SETTINGS,
        json={"claim_target_minutes": {"critical": 2, "low": 10080}},
        headers=team["admin"].headers,
    )
    assert r.status_code == 200, r.text
    targets = {"critical": 2, "high": 15, "normal": 60, "low": 10080}
    assert r.json()["claim_target_minutes"] == targets
    got = await client.get(SETTINGS, headers=team["admin"].headers)
    assert got.json()["claim_target_minutes"] == targets
    clock.advance(minutes=3)
    for urgency, minutes in targets.items():
        h = await escalated(client, team["tech"], urgency=urgency)
        assert _when(h["claim_due_at"]) == clock.now() + timedelta(minutes=minutes), urgency
    # The queue and the handoff itself carry the same times.
    queue = await client.get(
        "/api/v1/handoffs/queue", params={"sort": "urgency"}, headers=team["eng"].headers
    )
    first = queue.json()["items"][0]
    assert first["urgency"] == "critical" and "claim_due_at" in first and "breached_at" in first
    detail = await client.get(f"/api/v1/handoffs/{first['id']}", headers=team["eng"].headers)
    assert detail.json()["claim_due_at"] == first["claim_due_at"]


async def test_claim_target_setting_is_validated_and_admin_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team()

    async def field_of(targets: Any) -> str:
        r = await client.patch(
            SETTINGS, json={"claim_target_minutes": targets}, headers=team["admin"].headers
        )
        assert r.status_code == 422, (targets, r.text)
        body = r.json()
        return str(body.get("field") or body["detail"][0]["field"])

    assert await field_of({"critical": 0}) == "claim_target_minutes.critical"
    assert await field_of({"high": 10081}) == "claim_target_minutes.high"
    assert await field_of({"normal": "60"}) == "claim_target_minutes.normal"
    assert await field_of({"low": True}) == "claim_target_minutes.low"
    assert await field_of({"low": 1.5}) == "claim_target_minutes.low"
    assert await field_of({"urgent": 5}) == "claim_target_minutes.urgent"
    assert await field_of({"critical": None}) == "claim_target_minutes.critical"
    assert await field_of(None) == "claim_target_minutes"
    assert await field_of(5) == "claim_target_minutes"
    unchanged = await client.get(SETTINGS, headers=team["admin"].headers)
    assert unchanged.json()["claim_target_minutes"]["critical"] == 5
    for who in ("tech", "eng"):
        r = await client.patch(
            SETTINGS, json={"claim_target_minutes": {"critical": 9}}, headers=team[who].headers
        )
        assert r.status_code == 403


async def test_breach_writes_one_event_and_one_delivery_per_admin(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    admin2 = await factory.user(team["tech"].account_id, role="admin")
    other = await factory.team()  # another account's admins are never told
    h = await escalated(client, team["tech"], urgency="critical")
    calm = await escalated(client, team["tech"], urgency="high")
    await escalated(client, other["tech"], urgency="low")

    clock.advance(minutes=4, seconds=59)
    assert await run_breach_once(ctx) == 0
    clock.advance(seconds=1)  # exactly the critical target
    assert await run_breach_once(ctx) == 1
    assert await run_breach_once(ctx) == 0  # once
    row = await handoff_row(db, h["id"])
    assert row.breached_at == clock.now() and row.status == "open"
    assert (await handoff_row(db, calm["id"])).breached_at is None
    events = await events_of(db, h["id"])
    assert [e.type for e in events] == ["handoff.created", "handoff.breached"]
    breached = events[1]
    assert breached.actor_id is None and breached.payload["claim_target_minutes"] == 5
    assert _when(breached.payload["breached_at"]) == clock.now()
    rows = await _breached_deliveries(db, h["id"])
    assert sorted((d.channel, d.recipient_id) for d in rows) == sorted(
        [("email", team["admin"].id), ("email", admin2.id)]
    )
    listed = await client.get(f"/api/v1/handoffs/{h['id']}/deliveries", headers=team["eng"].headers)
    assert [i["kind"] for i in listed.json()["items"]].count("breached") == 2
    api = await client.get(f"/api/v1/handoffs/{h['id']}", headers=team["eng"].headers)
    assert _when(api.json()["breached_at"]) == clock.now()

    clock.advance(minutes=10)  # the high one passes its 15 minutes; the critical stays once
    assert await run_breach_once(ctx) == 1
    assert len(await _breached_deliveries(db, h["id"])) == 2
    # A claim after a breach keeps it.
    assert (await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")).status_code == 200
    assert (await handoff_row(db, h["id"])).breached_at is not None


async def test_claimed_in_time_never_breaches_and_late_claims_or_withdrawals_count(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    in_time = await escalated(client, team["tech"], urgency="critical")
    late = await escalated(client, team["tech"], urgency="critical")
    withdrawn = await escalated(client, team["tech"], urgency="critical")
    withdrawn_early = await escalated(client, team["tech"], urgency="critical")
    clock.advance(minutes=4)
    await post(client, team["eng"], f"/api/v1/handoffs/{in_time['id']}/claim")
    await post(client, team["tech"], f"/api/v1/handoffs/{withdrawn_early['id']}/cancel")
    clock.advance(minutes=2)  # past due; the breach job has not run yet
    claimed = await post(client, team["eng"], f"/api/v1/handoffs/{late['id']}/claim")
    assert _when(claimed.json()["breached_at"]) == clock.now()
    cancelled = await post(client, team["tech"], f"/api/v1/handoffs/{withdrawn['id']}/cancel")
    assert _when(cancelled.json()["breached_at"]) == clock.now()
    assert await run_breach_once(ctx) == 0  # nobody is alerted about what someone already has
    assert (await handoff_row(db, in_time["id"])).breached_at is None
    assert (await handoff_row(db, withdrawn_early["id"])).breached_at is None
    for h in (late, withdrawn):
        assert "handoff.breached" not in [e.type for e in await events_of(db, h["id"])]

    # Released after its due time: open again and overdue, so it breaches now.
    await post(client, team["eng"], f"/api/v1/handoffs/{in_time['id']}/release")
    assert await run_breach_once(ctx) == 1
    assert [e.type for e in await events_of(db, in_time["id"])][-1] == "handoff.breached"


async def test_two_workers_record_each_breach_exactly_once(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    database_url: str,
) -> None:
    team = await factory.team()
    await factory.user(team["tech"].account_id, role="admin")
    handoffs = []
    for i in range(12):
        tech = await factory.user(team["tech"].account_id, role="technician")
        handoffs.append(await escalated(client, tech, urgency="critical", title=f"Case {i}"))
    clock.advance(minutes=5)
    async with two_workers(ctx, database_url) as workers:
        results = await asyncio.gather(*(run_breach_once(w) for w in workers))
    assert sum(results) == 12
    for h in handoffs:
        types = [e.type for e in await events_of(db, h["id"])]
        assert types == ["handoff.created", "handoff.breached"]
        assert len(await _breached_deliveries(db, h["id"])) == 2  # two admins, once each

"""Escalation chain: re-notify seniors after N minutes, alert admins after M, never once claimed."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.notifications.dispatcher import run_chain_once, run_once
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, two_workers
from tests.notifications.helpers import deliveries, enable_webhook, escalate_api, events_of


async def test_renotify_once_after_n_then_admins_after_m(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    handoff = await escalate_api(client, team["tech"])
    assert await run_once(ctx) == 3

    clock.advance(minutes=9, seconds=59)
    assert await run_chain_once(ctx) == 0
    assert [e.type for e in await events_of(db, handoff["id"])] == ["handoff.created"]

    clock.advance(seconds=1)  # exactly N = 10 minutes
    assert await run_chain_once(ctx) == 1
    assert await run_chain_once(ctx) == 0  # once
    events = await events_of(db, handoff["id"])
    assert [e.type for e in events] == ["handoff.created", "handoff.renotified"]
    renotified = events[1]
    assert renotified.actor_id is None and renotified.payload["minutes_open"] == 10
    rows = [d for d in await deliveries(db, handoff["id"]) if d.event_id == renotified.id]
    assert {d.recipient_id for d in rows} == {team["eng"].id, team["eng2"].id, team["admin"].id}
    assert await run_once(ctx) == 3
    assert all(d.status == "sent" for d in await deliveries(db, handoff["id"]))

    clock.advance(minutes=19, seconds=59)  # 29:59 after creation
    assert await run_chain_once(ctx) == 0
    clock.advance(seconds=1)  # M = 30 minutes
    assert await run_chain_once(ctx) == 1
    alert = (await events_of(db, handoff["id"]))[-1]
    assert alert.type == "handoff.admin_alerted" and alert.payload["minutes_open"] == 30
    rows = [d for d in await deliveries(db, handoff["id"]) if d.event_id == alert.id]
    assert [(d.channel, d.recipient_id) for d in rows] == [("email", team["admin"].id)]

    clock.advance(hours=3)
    assert await run_chain_once(ctx) == 0
    assert len(await events_of(db, handoff["id"])) == 3

    # The admin's alert says how long it has been unclaimed.
    assert await run_once(ctx) == 1
    response = await client.get(
        f"/api/v1/handoffs/{handoff['id']}/deliveries", headers=team["tech"].headers
    )
    kinds = [i["kind"] for i in response.json()["items"]]
    assert kinds == ["created"] * 3 + ["renotified"] * 3 + ["admin_alerted"]


async def test_admin_alert_subject_says_unclaimed_for_m_minutes(
    client: httpx.AsyncClient,
    factory: Factory,
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: object,
) -> None:
    ctx.settings.smtp_url = smtp_server.url  # type: ignore[attr-defined]
    team = await factory.team()
    response = await client.patch(
        "/api/v1/account/notifications",
        json={"renotify_after_minutes": 5, "admin_alert_after_minutes": 15},
        headers=team["admin"].headers,
    )
    assert response.status_code == 200
    await escalate_api(client, team["tech"])
    await run_once(ctx)
    clock.advance(minutes=15)  # the worker was away: both steps are due at once
    assert await run_chain_once(ctx) == 2
    await run_once(ctx)
    subjects = [m.message["Subject"] for m in smtp_server.messages]  # type: ignore[attr-defined]
    assert subjects.count("[FlowPilot] unclaimed for 15 min: VPN drops every 5 minutes") == 1
    assert (
        subjects.count("[FlowPilot] still unclaimed after 5 min (high): VPN drops every 5 minutes")
        == 3
    )


async def test_nothing_is_re_sent_once_claimed(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team = await factory.team()
    claimed_early = await escalate_api(client, team["tech"])
    other_tech = await factory.user(team["tech"].account_id, role="technician")
    claimed_late = await escalate_api(client, other_tech)
    assert (
        await client.post(
            f"/api/v1/handoffs/{claimed_early['id']}/claim", headers=team["eng"].headers
        )
    ).status_code == 200

    clock.advance(minutes=10)
    # Only the still-open one is re-notified...
    assert await run_chain_once(ctx) == 1
    assert [e.type for e in await events_of(db, claimed_early["id"])] == [
        "handoff.created",
        "handoff.claimed",
    ]
    # ...and it is claimed before the dispatcher gets to those re-notifications.
    claim = await client.post(
        f"/api/v1/handoffs/{claimed_late['id']}/claim", headers=team["eng2"].headers
    )
    assert claim.status_code == 200
    await run_once(ctx)
    late = await deliveries(db, claimed_late["id"])
    created_id = (await events_of(db, claimed_late["id"]))[0].id
    # The creation notice still goes out (it records that the team was told)...
    assert {d.status for d in late if d.event_id == created_id} == {"sent"}
    # ...the re-notifications do not.
    renotices = [d for d in late if d.event_id != created_id]
    assert len(renotices) == 3
    assert {(d.status, d.last_error) for d in renotices} == {("skipped", "handoff already claimed")}

    clock.advance(hours=1)
    assert await run_chain_once(ctx) == 0
    assert await run_once(ctx) == 0


async def test_two_chain_workers_never_renotify_twice(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    database_url: str,
    webhook_receiver: object,
) -> None:
    team = await factory.team()
    await enable_webhook(client, team["admin"], webhook_receiver.url)  # type: ignore[attr-defined]
    handoffs = [await escalate_api(client, team["tech"])]
    for _ in range(4):
        tech = await factory.user(team["tech"].account_id, role="technician")
        handoffs.append(await escalate_api(client, tech))
    clock.advance(minutes=10)
    async with two_workers(ctx, database_url) as workers:
        results = await asyncio.gather(*(run_chain_once(w) for w in workers))
    assert sum(results) == 5
    for handoff in handoffs:
        types = [e.type for e in await events_of(db, handoff["id"])]
        assert types == ["handoff.created", "handoff.renotified"]
        # 3 seniors + webhook per notice
        assert len(await deliveries(db, handoff["id"])) == 8

"""Atomic claim under contention: real concurrent requests, each on its own DB connection."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from flowpilot.handoffs import service
from flowpilot.kernel.errors import Conflict
from flowpilot.models import Event
from tests.handoffs.helpers import escalated, handoff_row, session_row
from tests.pg_locks import backend_pid, wait_until_blocked

N_CLAIMERS = 50


async def test_fifty_simultaneous_claims_exactly_one_winner(app, factory, db):
    account = await factory.account()
    tech = await factory.user(account, role="technician")
    seniors = [
        await factory.user(account, role="admin" if i % 10 == 0 else "engineer")
        for i in range(N_CLAIMERS)
    ]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as setup:
        h = await escalated(setup, tech)

    start = asyncio.Event()

    async def claim(user) -> httpx.Response:  # type: ignore[no-untyped-def]
        # One client per claimer; every request gets its own session and pooled connection.
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            await start.wait()
            return await c.post(f"/api/v1/handoffs/{h['id']}/claim", headers=user.headers)

    tasks = [asyncio.create_task(claim(u)) for u in seniors]
    await asyncio.sleep(0)
    start.set()
    responses = await asyncio.gather(*tasks)

    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: N_CLAIMERS - 1}, [
        r.text for r in responses if r.status_code >= 500
    ]
    winner_response = next(r for r in responses if r.status_code == 200)
    winner_id = winner_response.json()["claimed_by_id"]
    assert winner_id in {u.id for u in seniors}
    for r in responses:
        if r.status_code == 409:
            assert r.json()["claimed_by_id"] == winner_id
            assert r.json()["status"] == "claimed"

    row = await handoff_row(db, h["id"])
    assert row.status == "claimed" and row.claimed_by_id == winner_id
    assert (await session_row(db, h["session_id"])).assignee_id == winner_id
    async with db() as session:
        claimed_events = await session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "handoff.claimed")
        )
    assert claimed_events == 1


async def test_claim_racing_cancel_never_both_win(app, factory, db):
    team = await factory.team()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        for _ in range(5):
            h = await escalated(c, team["tech"])
            claim, cancel = await asyncio.gather(
                c.post(f"/api/v1/handoffs/{h['id']}/claim", headers=team["eng"].headers),
                c.post(f"/api/v1/handoffs/{h['id']}/cancel", headers=team["tech"].headers),
            )
            assert sorted([claim.status_code, cancel.status_code]) == [200, 409]
            row = await handoff_row(db, h["id"])
            expected = "claimed" if claim.status_code == 200 else "cancelled"
            assert row.status == expected
            assert (await session_row(db, h["session_id"])).status == "open"


async def test_claimer_who_waited_on_the_winners_lock_is_told_the_winner(
    client, factory, db, clock, backend
):
    """The refused claimer's UPDATE blocked on the row until the winner committed.

    On PostgreSQL its statement's snapshot predates the winner's commit, so the refusal must be
    read again after the wait; it names the winner and says claimed, never "open".
    """
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers before the UPDATE (BEGIN IMMEDIATE): no row wait")
    team = await factory.team()
    h = await escalated(client, team["tech"])
    async with db() as first, db() as second, db() as observer:
        # In a transaction, so the winner holds its row lock until it commits (outside one the
        # claim commits by itself on PostgreSQL).
        await first.connection()
        won = await service.claim(
            first, actor=team["eng"].actor, handoff_id=h["id"], now=clock.now(), bus=None
        )
        second_pid = await backend_pid(second)
        waiting = asyncio.create_task(
            service.claim(
                second, actor=team["eng2"].actor, handoff_id=h["id"], now=clock.now(), bus=None
            )
        )
        await wait_until_blocked(observer, second_pid)  # waits on the winner's row lock
        await first.commit()
        with pytest.raises(Conflict) as refused:
            await waiting
        await second.rollback()
    assert won.handoff.claimed_by_id == team["eng"].id
    assert refused.value.extra["status"] == "claimed"
    assert refused.value.extra["claimed_by_id"] == team["eng"].id
    assert refused.value.extra["claimed_by_name"] == team["eng"].name

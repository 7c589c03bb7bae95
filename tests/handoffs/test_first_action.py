"""The claimer's first action: stamped on the handoff when the claimer writes a step, cleared by
release, read by analytics. Driven through the API, observed through the analytics answer (and
the stored stamp where that is the point)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.ai_sessions import service as sessions_service
from flowpilot.kernel.clock import FrozenClock
from tests.factories import Factory, TestUser, add_step
from tests.handoffs.helpers import claim, escalated, handoff_row, post
from tests.pg_locks import backend_pid, wait_until_blocked

STATS = "/api/v1/analytics/escalations"


async def _stats(client: httpx.AsyncClient, user: TestUser) -> dict[str, Any]:
    response = await client.get(STATS, params={"days": 30}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _first_action_at(
    db: async_sessionmaker[AsyncSession], handoff_id: str
) -> datetime | None:
    return (await handoff_row(db, handoff_id)).first_action_at


async def test_a_step_by_someone_other_than_the_claimer_is_not_a_first_action(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    tech, eng, admin = team["tech"], team["eng"], team["admin"]
    h = await escalated(client, tech)
    clock.advance(seconds=30)
    await claim(client, eng, h["id"])
    clock.advance(seconds=10)
    await add_step(client, admin, h["session_id"])  # an admin may write in any session
    stats = await _stats(client, eng)
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert stats["time_to_first_action"]["median_seconds"] is None
    assert await _first_action_at(db, h["id"]) is None

    acted = clock.advance(seconds=50)
    await add_step(client, eng, h["session_id"])
    clock.advance(seconds=50)
    await add_step(client, eng, h["session_id"])  # later steps don't move the first action
    stats = await _stats(client, eng)
    assert stats["n_with_action"] == 1
    assert stats["time_to_first_action"]["median_seconds"] == 60.0
    assert await _first_action_at(db, h["id"]) == acted


async def test_the_owners_steps_after_the_claim_are_not_the_claimers_first_action(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(client, tech)
    await claim(client, eng, h["id"])
    clock.advance(seconds=20)
    step = await add_step(client, tech, h["session_id"], kind="note", content="At the device")
    assert step["actor_id"] == tech.id  # co-working: the owner writes while it is claimed
    stats = await _stats(client, eng)
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert await _first_action_at(db, h["id"]) is None

    acted = clock.advance(seconds=25)
    await add_step(client, eng, h["session_id"])
    stats = await _stats(client, eng)
    assert stats["time_to_first_action"]["median_seconds"] == 45.0
    assert await _first_action_at(db, h["id"]) == acted


async def test_a_step_before_the_claim_is_not_a_first_action(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    tech, admin = team["tech"], team["admin"]
    h = await escalated(client, tech)
    clock.advance(seconds=10)
    await add_step(client, tech, h["session_id"])  # the technician, still the assignee
    clock.advance(seconds=10)
    await add_step(client, admin, h["session_id"])  # the future claimer, before claiming
    clock.advance(seconds=20)
    await claim(client, admin, h["id"])
    stats = await _stats(client, admin)
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert await _first_action_at(db, h["id"]) is None

    clock.advance(seconds=15)
    await add_step(client, admin, h["session_id"])
    stats = await _stats(client, admin)
    assert stats["time_to_first_action"]["median_seconds"] == 15.0


async def test_a_step_dated_before_the_claim_is_not_a_first_action_even_if_written_after(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """A request reads the clock when it starts: a step whose request began before the claim
    committed is dated before the claim, and (as analytics always defined it) does not count."""
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(client, tech)
    started = clock.advance(seconds=10)
    clock.advance(seconds=10)
    await claim(client, eng, h["id"])
    async with db() as session:
        await sessions_service.add_step(
            session,
            actor=eng.actor,
            session_id=h["session_id"],
            kind="note",
            content="Looking at it",
            now=started,
        )
        await session.commit()
    assert (await _stats(client, eng))["n_with_action"] == 0
    clock.advance(seconds=30)
    await add_step(client, eng, h["session_id"])
    assert (await _stats(client, eng))["time_to_first_action"]["median_seconds"] == 30.0


async def test_release_then_reclaim_by_another_senior_counts_from_the_final_claim(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    tech, eng, eng2 = team["tech"], team["eng"], team["eng2"]
    h = await escalated(client, tech)
    clock.advance(seconds=20)
    await claim(client, eng, h["id"])
    clock.advance(seconds=10)
    await add_step(client, eng, h["session_id"])
    assert (await _stats(client, eng))["time_to_first_action"]["median_seconds"] == 10.0

    clock.advance(seconds=30)
    released = await post(client, eng, f"/api/v1/handoffs/{h['id']}/release")
    assert released.status_code == 200, released.text
    stats = await _stats(client, eng)
    assert (stats["n_claimed"], stats["n_with_action"]) == (0, 0)
    assert await _first_action_at(db, h["id"]) is None  # cleared with the claim

    clock.advance(seconds=100)
    await claim(client, eng2, h["id"])
    stats = await _stats(client, eng2)
    # eng's step belonged to the released claim: no first action for the final one yet.
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 0)
    assert stats["time_to_claim"]["median_seconds"] == 160.0

    acted = clock.advance(seconds=45)
    await add_step(client, eng2, h["session_id"])
    clock.advance(seconds=5)
    resolved = await post(
        client, eng2, f"/api/v1/handoffs/{h['id']}/resolve", {"resolution": "Reseated the tray"}
    )
    assert resolved.status_code == 200, resolved.text
    stats = await _stats(client, eng2)
    assert (stats["n_claimed"], stats["n_with_action"]) == (1, 1)
    assert stats["time_to_first_action"]["median_seconds"] == 45.0
    assert await _first_action_at(db, h["id"]) == acted


async def test_a_first_step_racing_a_release_takes_the_handoff_lock_first(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    backend: str,
) -> None:
    """Release locks the handoff, then writes the session. A claimer's first step must wait
    for the handoff before it locks the session, or the two deadlock on PostgreSQL."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises all writers itself (BEGIN IMMEDIATE)")
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(client, tech)
    clock.advance(seconds=20)
    await claim(client, eng, h["id"])
    acted = clock.advance(seconds=5)
    async with db() as releaser, db() as stepper, db() as observer:
        # The releaser holds the handoff, as release does before it touches the session.
        await releaser.execute(
            text("SELECT id FROM handoffs WHERE id = :id FOR UPDATE"), {"id": h["id"]}
        )
        stepper_pid = await backend_pid(stepper)
        step = asyncio.create_task(
            sessions_service.add_step(
                stepper,
                actor=eng.actor,
                session_id=h["session_id"],
                kind="action",
                content="Reseated the tray",
                now=acted,
            )
        )
        await wait_until_blocked(observer, stepper_pid)  # the step waits for the handoff
        # The session row is free: the step is queued behind the handoff, holding nothing.
        await releaser.execute(
            text("SELECT id FROM ai_sessions WHERE id = :id FOR UPDATE NOWAIT"),
            {"id": h["session_id"]},
        )
        await releaser.rollback()
        await asyncio.wait_for(step, 10)
        await stepper.commit()
    assert await _first_action_at(db, h["id"]) == acted

"""The analytics pre-aggregate (PostgreSQL): whatever the rollup job has counted so far, the
escalations window answers exactly what the direct aggregate over the rows answers.

Rows are written directly (thousands of escalations through the services would take minutes),
settled in every way the write path settles them; the reference is the same endpoint with the
pre-aggregate turned off (``window_pg.measure`` answering None, as it does for short windows).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from flowpilot.ai_sessions.repository import stamp_first_action
from flowpilot.analytics import rollup, window_pg
from flowpilot.kernel.identity import AccountRef
from flowpilot.models import Handoff, HandoffDayBucket, HandoffDayCount
from flowpilot.models.handoffs import RollupState
from tests.analytics.timeline import bare_session

STATS = "/api/v1/analytics/escalations"
NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
URGENCIES = ("low", "normal", "high", "critical")


@pytest.fixture(autouse=True)
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("the pre-aggregate is PostgreSQL's; SQLite reads its windows directly")


def _delay(rnd: random.Random) -> float:
    """Seconds: many distinct values, exact ties, under a millisecond, zero, long tails."""
    return rnd.choice(
        (
            rnd.expovariate(1 / 300),
            rnd.expovariate(1 / 300),
            float(rnd.randint(1, 5)),
            rnd.choice((0.0, 0.0004, 0.001)),
            rnd.uniform(86400, 5 * 86400),
        )
    )


async def _seed(db, team, rnd: random.Random, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` escalations over the last 31 days, most settled (resolved with and without a first
    action, cancelled before and after their due time, breached or not), some still live."""
    tech, engs = team["tech"], [team["eng"], team["eng2"]]
    async with db() as session:
        for i in range(n):
            created = NOW - timedelta(seconds=rnd.uniform(1, 31 * 86400))
            s = await bare_session(session, tech, created)
            due = created + timedelta(minutes=rnd.choice((15, 60, 240)))
            h = Handoff(
                account_id=tech.account_id,
                session_id=s.id,
                status="open",
                reason="stuck",
                urgency=rnd.choice(URGENCIES),
                escalated_by_id=tech.id,
                created_at=created,
                updated_at=created,
                claim_due_at=due,
            )
            if rnd.random() < 0.8:
                h.claimed_at = created + timedelta(microseconds=round(_delay(rnd) * 1e6))
                h.claimed_by_id = rnd.choice(engs).id
                h.status = "resolved" if rnd.random() < 0.85 else "claimed"
                held = h.claimed_at
                if i % 7 == 0:
                    held = h.assigned_at = h.claimed_at + timedelta(seconds=rnd.uniform(1, 600))
                if rnd.random() < 0.8:
                    h.first_action_at = held + timedelta(microseconds=round(_delay(rnd) * 1e6))
                if h.claimed_at > due:
                    h.breached_at = due
            elif rnd.random() < 0.6:
                h.status = "cancelled"
                h.cancelled_at = created + timedelta(minutes=rnd.uniform(1, 500))
                if h.cancelled_at > due:
                    h.breached_at = due
            elif due <= NOW:
                h.breached_at = due
            session.add(h)
        await session.commit()


async def _stats(client, team, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = await client.get(STATS, params={"days": 30, **params}, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("metric_definition")
    return body  # type: ignore[no-any-return]


async def _direct(client, team, monkeypatch, **params: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The same answer with the pre-aggregate turned off: the direct aggregate over the rows."""

    async def no_rollup(*args: Any, **kwargs: Any) -> None:
        return None

    with monkeypatch.context() as m:
        m.setattr(window_pg, "measure", no_rollup)
        return await _stats(client, team, **params)


async def _rolled(db) -> int:  # type: ignore[no-untyped-def]
    async with db() as session:
        return int(
            (
                await session.execute(select(func.count()).where(Handoff.rollup_state.is_not(None)))
            ).scalar_one()
        )


async def test_the_window_is_exact_before_during_and_after_the_rollup(
    app, client, factory, db, clock, monkeypatch
):
    clock.set(NOW)
    rnd = random.Random(20261202)
    team, other = await factory.team(), await factory.team()
    await _seed(db, team, rnd, 1200)
    await _seed(db, other, rnd, 200)
    reference = await _direct(client, team, monkeypatch)
    assert reference["n_escalated"] > 1000 and reference["claim_target_met"]["n_due"] > 500
    assert await _stats(client, team) == reference  # nothing rolled up yet: all read directly

    ctx = app.state.ctx
    monkeypatch.setattr(rollup, "BATCH", 300)  # a partial roll: some days' rows counted, some not
    async with db() as session:
        await session.execute(
            text("SELECT 1 FROM handoffs WHERE status = 'resolved' LIMIT 200 FOR UPDATE")
        )
        # While those rows are locked the job skips them; the rest is rolled up.
        rolled = await rollup.roll_once(ctx)
    assert rolled > 500
    assert await _stats(client, team) == reference
    assert await rollup.roll_once(ctx) > 0  # the rows that were locked
    assert await rollup.roll_once(ctx) == 0
    async with db() as session:
        days = await session.scalar(select(func.count()).select_from(HandoffDayCount))
        buckets = await session.scalar(select(func.count()).select_from(HandoffDayBucket))
    assert days and buckets
    assert await _stats(client, team) == reference
    assert await _stats(client, other) == await _direct(client, other, monkeypatch)

    # A first action on an escalation resolved without one (the steps write path): read from
    # its row, then rolled up.
    async with db() as session:
        late = (
            (
                await session.execute(
                    select(Handoff)
                    .where(
                        Handoff.rollup_state == RollupState.NO_FIRST_ACTION,
                        Handoff.account_id == team["tech"].account_id,
                    )
                    .limit(5)
                )
            )
            .scalars()
            .all()
        )
        assert late
        for h in late:
            stamped = await stamp_first_action(
                session,
                AccountRef(h.account_id),
                session_id=h.session_id,
                actor_id=h.claimed_by_id,
                at=(h.assigned_at or h.claimed_at) + timedelta(seconds=42),
            )
            assert len(stamped) == 1
        await session.commit()
    changed = await _direct(client, team, monkeypatch)
    assert changed["n_with_action"] == reference["n_with_action"] + len(late)
    assert await _stats(client, team) == changed
    assert await rollup.roll_once(ctx) == len(late)
    assert await _stats(client, team) == changed

    # Other windows: shorter, longer, and one that ends before claims the job counted were due.
    for params in ({"days": 3}, {"days": 90}):
        assert await _stats(client, team, **params) == await _direct(
            client, team, monkeypatch, **params
        )


async def test_a_window_ending_before_a_counted_due_time_reads_the_rows(
    app, client, factory, db, clock, monkeypatch
):
    clock.set(NOW)
    team = await factory.team()
    await _seed(db, team, random.Random(7), 300)
    assert await rollup.roll_once(app.state.ctx) > 0
    # The same account asked as of six hours earlier: some claims counted as due were not yet.
    clock.set(NOW - timedelta(hours=6))
    async with db() as session:
        due_later = await session.scalar(
            select(func.count()).where(
                Handoff.rollup_state.is_not(None),
                Handoff.claim_due_at > NOW - timedelta(hours=6),
                Handoff.created_at <= NOW - timedelta(hours=6),
            )
        )
    assert due_later, "the seed must hold such claims for this test to mean anything"
    assert await _stats(client, team) == await _direct(client, team, monkeypatch)


async def test_two_workers_roll_each_escalation_once(app, factory, db, clock):
    clock.set(NOW)
    team = await factory.team()
    await _seed(db, team, random.Random(11), 400)
    ctx = app.state.ctx
    first, second = await asyncio.gather(rollup.roll_once(ctx), rollup.roll_once(ctx))
    async with db() as session:
        n = await session.scalar(select(func.coalesce(func.sum(HandoffDayCount.n), 0)))
    assert n == first + second == await _rolled(db)

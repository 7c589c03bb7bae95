"""Statistics over a window of thousands of escalations (many distinct values, exact ties, long
tails, hand-overs, another account beside it): the answer is the definition's, to the
millisecond, on both databases (PostgreSQL's percentile_cont, SQLite's Python path); whatever
computes the window later (a rollup) must keep this passing.

The rows are written directly (thousands of escalations through the services would take
minutes); the timing columns are the ones the write path maintains.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

from flowpilot.models import Handoff
from tests.analytics.timeline import bare_session

STATS = "/api/v1/analytics/escalations"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _expected(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"avg_seconds": None, "median_seconds": None, "p90_seconds": None}
    # 'inclusive' is linear interpolation between order statistics, as percentile_cont.
    p90 = (
        statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]
    )
    return {
        "avg_seconds": round(sum(values) / len(values), 3),
        "median_seconds": round(statistics.median(values), 3),
        "p90_seconds": round(p90, 3),
    }


async def _seed(db, team, rnd: random.Random, n: int, scale: float):  # type: ignore[no-untyped-def]
    """``n`` escalations in the last 30 days; returns the durations the definition counts."""
    tech, engs = team["tech"], [team["eng"], team["eng2"]]
    ttc: list[float] = []
    ttfa: list[float] = []
    async with db() as session:
        for i in range(n):
            created = NOW - timedelta(seconds=rnd.uniform(1, 29 * 86400))
            s = await bare_session(session, tech, created)
            h = Handoff(
                account_id=tech.account_id,
                session_id=s.id,
                status="open",
                reason="stuck",
                escalated_by_id=tech.id,
                created_at=created,
                updated_at=created,
            )
            if rnd.random() < 0.85:
                # Many distinct values, exact ties (whole seconds), long tails (days).
                delay = rnd.choice(
                    (
                        rnd.expovariate(1 / scale),
                        float(rnd.randint(1, 5)),
                        rnd.uniform(86400, 5 * 86400),
                    )
                )
                h.claimed_at = created + timedelta(microseconds=round(delay * 1e6))
                h.claimed_by_id = rnd.choice(engs).id
                h.status = "claimed"
                ttc.append((h.claimed_at - created).total_seconds())
                held = h.claimed_at
                if i % 7 == 0:  # handed over: counts from the hand-over
                    held = h.assigned_at = h.claimed_at + timedelta(seconds=rnd.uniform(1, 600))
                if rnd.random() < 0.9:
                    act = rnd.expovariate(1 / (scale / 2))
                    h.first_action_at = held + timedelta(microseconds=round(act * 1e6))
                    ttfa.append((h.first_action_at - held).total_seconds())
            session.add(h)
        await session.commit()
    return ttc, ttfa


async def test_statistics_of_a_large_window_are_the_definitions(client, factory, db, clock):
    clock.set(NOW)
    rnd = random.Random(20261202)
    team, other = await factory.team(), await factory.team()
    ttc, ttfa = await _seed(db, team, rnd, 1500, scale=300)
    await _seed(db, other, rnd, 300, scale=30_000)  # another account, far slower
    r = await client.get(STATS, params={"days": 30}, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["n_escalated"], body["n_claimed"], body["n_with_action"]) == (
        1500,
        len(ttc),
        len(ttfa),
    )
    assert body["time_to_claim"] == _expected(ttc)
    assert body["time_to_first_action"] == _expected(ttfa)


async def test_one_value_and_all_equal_values(client, factory, db, clock):
    """Degenerate windows: one first action; four equal times to claim."""
    clock.set(NOW)
    team = await factory.team()
    async with db() as session:
        for k in range(4):
            created = NOW - timedelta(hours=k + 1)
            s = await bare_session(session, team["tech"], created)
            session.add(
                Handoff(
                    account_id=team["tech"].account_id,
                    session_id=s.id,
                    status="claimed",
                    reason="stuck",
                    escalated_by_id=team["tech"].id,
                    claimed_by_id=team["eng"].id,
                    created_at=created,
                    claimed_at=created + timedelta(seconds=90),
                    first_action_at=created + timedelta(seconds=100) if k == 0 else None,
                    updated_at=created,
                )
            )
        await session.commit()
    body = (await client.get(STATS, headers=team["eng"].headers)).json()
    assert body["time_to_claim"] == {
        "avg_seconds": 90.0,
        "median_seconds": 90.0,
        "p90_seconds": 90.0,
    }
    assert body["time_to_first_action"] == {
        "avg_seconds": 10.0,
        "median_seconds": 10.0,
        "p90_seconds": 10.0,
    }

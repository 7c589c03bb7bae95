"""The bootstrap interval of hours saved per week and the verdict it gives, with exact numbers.

With a constant in-product sample, the interval is the baseline median's bootstrap percentiles
times the rate: for five distinct baseline times, the resampled median is the smallest with
probability P(at least 3 of 5 draws are it) = 0.0579 (> 2.5 %) and likewise the largest, so the
95 % interval runs from (smallest - in-product) to (largest - in-product) x rate / 3600.
"""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

import pytest

from flowpilot.analytics import bootstrap
from tests.analytics.timeline import Timeline, add_baseline

SAVINGS = "/api/v1/analytics/savings"


async def _first_actions(factory, team, clock, action_seconds):  # type: ignore[no-untyped-def]
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(days=1))
    for i, seconds in enumerate(action_seconds):
        start = i * 1000
        tl.escalation(
            created=start,
            claimed=start + 30,
            claimer=team["eng"],
            steps=[(start + 30 + seconds, team["eng"])],
        )
    await tl.save()


async def _savings(client, factory, db, clock, baseline, actions, days=7):  # type: ignore[no-untyped-def]
    team = await factory.team()
    await _first_actions(factory, team, clock, actions)
    await add_baseline(db, team["eng"], baseline, clock.now())
    r = await client.get(SAVINGS, params={"days": days}, headers=team["eng"].headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("baseline", "low", "point", "high", "verdict"),
    [
        # The low end just above the bar: 515 s x 7 / 3600 = 1.0014.
        ([575, 600, 600, 600, 900], 1.0014, 1.05, 1.6333, "above_bar"),
        # The high end just below the bar: 514 s x 7 / 3600 = 0.9994.
        ([300, 400, 400, 400, 574], 0.4667, 0.6611, 0.9994, "below_bar"),
        # Point estimate 1.05 h (the old verdict said above the bar), but the interval holds 1.0.
        ([300, 600, 600, 600, 900], 0.4667, 1.05, 1.6333, "inconclusive"),
        # A high end of 1.0 h/week (514.29 s) is not below the bar.
        ([300, 400, 400, 400, 574.2857142857], 0.4667, 0.6611, 1.0, "inconclusive"),
    ],
)
async def test_interval_and_verdict_boundaries(
    client, factory, db, clock, baseline, low, point, high, verdict
):
    body = await _savings(client, factory, db, clock, baseline, [60] * 7)
    assert body["escalations_per_week"] == 7.0
    assert body["in_product_median_seconds"] == 60.0
    assert body["hours_saved_per_week"] == point
    assert (body["hours_saved_per_week_low"], body["hours_saved_per_week_high"]) == (low, high)
    assert body["confidence"] == 0.95
    assert body["verdict"] == verdict
    assert "bootstrap" in body["definition"] and "inconclusive" in body["definition"]


async def test_minimum_sample_sizes(client, factory, db, clock):
    # Five on each side is enough to judge (rate 5 / week: 700 s x 5 / 3600 = 0.9722 at most).
    body = await _savings(client, factory, db, clock, [300, 400, 400, 400, 760], [60] * 5)
    assert (body["n_baseline"], body["n_in_product"]) == (5, 5)
    assert body["hours_saved_per_week_high"] == 0.9722
    assert body["verdict"] == "below_bar"
    # Four first actions: the interval is shown, but no verdict is drawn from it.
    body = await _savings(client, factory, db, clock, [300, 400, 400, 400, 760], [60] * 4)
    assert body["n_in_product"] == 4
    assert body["hours_saved_per_week_high"] == 0.7778  # 700 s x 4 / 3600
    assert body["verdict"] == "insufficient_data"
    body = await _savings(client, factory, db, clock, [300, 400, 400, 760], [60] * 5)
    assert (body["n_baseline"], body["verdict"]) == (4, "insufficient_data")


async def test_empty_has_no_interval(client, factory):
    team = await factory.team()
    body = (await client.get(SAVINGS, headers=team["eng"].headers)).json()
    assert body["hours_saved_per_week_low"] is None
    assert body["hours_saved_per_week_high"] is None
    assert body["verdict"] == "insufficient_data"


async def test_deterministic_and_brackets_the_point_estimate(client, factory, db, clock):
    team = await factory.team()
    await _first_actions(factory, team, clock, [30, 45, 60, 90, 120, 150, 200, 400])
    await add_baseline(db, team["eng"], [900, 1200, 1500, 1800, 2400, 600, 3000, 1100], clock.now())
    bodies = [
        (await client.get(SAVINGS, params={"days": 7}, headers=team["eng"].headers)).json()
        for _ in range(2)
    ]
    assert bodies[0] == bodies[1]
    body = bodies[0]
    # Medians 1350 and 105 s, 8 escalations a week: 1245 x 8 / 3600.
    assert body["hours_saved_per_week"] == 2.7667
    assert body["hours_saved_per_week_low"] < 2.7667 < body["hours_saved_per_week_high"]
    assert body["verdict"] == "above_bar"


def _seeded_bootstrap(base, prod, per_week, rounds, seed):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    diffs = sorted(
        (
            statistics.median(rng.choices(base, k=len(base)))
            - statistics.median(rng.choices(prod, k=len(prod)))
        )
        * per_week
        / 3600
        for _ in range(rounds)
    )
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds)]


@pytest.mark.parametrize(("n_base", "n_prod"), [(5, 5), (6, 9), (8, 40), (11, 120)])
def test_exact_interval_is_the_limit_of_resampling(n_base, n_prod):
    """A plain seeded bootstrap (draw n with replacement, take medians) lands on the same
    bounds, within its own resampling noise."""
    rng = random.Random(n_base * 1000 + n_prod)
    base = [rng.uniform(600, 2400) for _ in range(n_base)]
    prod = [rng.expovariate(1 / 200) for _ in range(n_prod)]
    exact = bootstrap.hours_interval(base, prod, 10.0)
    low, high = _seeded_bootstrap(base, prod, 10.0, 40_000, seed=15)
    assert exact == bootstrap.hours_interval(list(reversed(base)), prod, 10.0)
    assert exact.low == pytest.approx(low, abs=0.08)
    assert exact.high == pytest.approx(high, abs=0.08)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 51, 400])
def test_median_distribution_sums_to_one(n):
    rng = random.Random(n)
    values = sorted(rng.uniform(0, 100) for _ in range(n))
    dist = bootstrap.median_distribution(values)
    assert sum(dist.values()) == pytest.approx(1.0, abs=1e-9)
    assert min(dist) >= values[0] and max(dist) <= values[-1]


@pytest.mark.parametrize("n", [2500, 2501])
def test_large_samples_take_the_fast_rule_with_the_same_bounds(n, monkeypatch):
    rng = random.Random(n)
    base = [rng.uniform(600, 2400) for _ in range(8)]
    prod = [rng.expovariate(1 / 300) for _ in range(n)]
    fast = bootstrap.hours_interval(base, prod, 50.0)
    monkeypatch.setattr(bootstrap, "SIMPSON_ABOVE", 10**9)  # the incomplete beta everywhere
    exact = bootstrap.hours_interval(base, prod, 50.0)
    assert fast.low == pytest.approx(exact.low, abs=1e-4)
    assert fast.high == pytest.approx(exact.high, abs=1e-4)

"""Time to claim / time to first action from constructed timelines: exact expected numbers."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from flowpilot.analytics import service
from tests.analytics.timeline import Timeline

URL = "/api/v1/analytics/escalations"


async def _get(client, user, days: int = 30):  # type: ignore[no-untyped-def]
    response = await client.get(URL, params={"days": days}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_constructed_timeline_exact_numbers(client, factory, db, clock):
    team = await factory.team()
    eng, admin, tech = team["eng"], team["admin"], team["tech"]
    tl = Timeline(factory, tech, clock.now() - timedelta(days=10))
    # Claimed at +60; steps before the claim, by someone else (an admin may write in any
    # session) and by the assistant don't count.
    tl.escalation(
        created=0,
        claimed=60,
        claimer=eng,
        steps=[(30, tech), (70, admin), (80, None), (100, eng), (200, eng)],
    )
    # Claimed by eng at +1050, released at +1200, re-claimed by the admin at +1300: measured
    # from the final claim; eng's step during the first claim and the admin's step before
    # re-claiming don't count.
    tl.escalation(
        created=1000,
        released=[(1050, eng, 1200)],
        claimed=1300,
        claimer=admin,
        steps=[(1100, eng), (1250, admin), (1420, admin)],
    )
    # Claimed, but the claimer never acted (only an admin and the assistant did).
    tl.escalation(created=2000, claimed=2030, claimer=eng, steps=[(2040, None), (2100, admin)])
    # Resolved after a claim: still claimed, with its action.
    tl.escalation(
        created=3000, claimed=3090, claimer=admin, status="resolved", steps=[(3100, admin)]
    )
    # Open, never claimed.
    tl.escalation(created=4000)
    # Released (claimed_at cleared): eng's step from the released claim doesn't count.
    tl.escalation(created=5000, released=[(5050, eng, 5200)], steps=[(5100, eng)])
    tl.escalation(created=6000, status="cancelled")
    # A step at the very instant of the claim counts (time to first action 0, not "no data").
    tl.escalation(created=7000, claimed=7015.5, claimer=eng, steps=[(7015.5, eng)])
    # Outside the 30-day window.
    tl.t0 = clock.now() - timedelta(days=31)
    tl.escalation(created=0, claimed=5, claimer=eng, steps=[(6, eng)])
    await tl.save()

    body = await _get(client, eng)
    assert body["n_escalated"] == 8
    assert body["n_claimed"] == 5
    assert body["n_with_action"] == 4
    # time to claim: 60, 300, 30, 90, 15.5
    assert body["time_to_claim"] == {
        "avg_seconds": 99.1,
        "median_seconds": 60.0,
        "p90_seconds": 216.0,  # 90 + 0.6 * (300 - 90)
    }
    # time to first action: 40, 120, 10, 0
    assert body["time_to_first_action"] == {
        "avg_seconds": 42.5,
        "median_seconds": 25.0,
        "p90_seconds": 96.0,  # 40 + 0.7 * (120 - 40)
    }
    definition = body["metric_definition"]
    assert "final claim" in definition and "claimer" in definition
    assert "released" in definition and "assistant" in definition

    # A 40-day window also takes the older escalation (claim 5 s, action 1 s).
    wide = await _get(client, admin, days=40)
    assert (wide["n_escalated"], wide["n_claimed"], wide["n_with_action"]) == (9, 6, 5)
    assert wide["time_to_first_action"]["median_seconds"] == 10.0


async def test_empty_window_is_all_nulls(client, factory):
    team = await factory.team()
    body = await _get(client, team["eng"])
    assert (body["n_escalated"], body["n_claimed"], body["n_with_action"]) == (0, 0, 0)
    nulls = {"avg_seconds": None, "median_seconds": None, "p90_seconds": None}
    assert body["time_to_claim"] == nulls
    assert body["time_to_first_action"] == nulls


async def test_escalated_but_unclaimed_has_null_times(client, factory, db, clock):
    team = await factory.team()
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(hours=1))
    tl.escalation(created=0)
    tl.escalation(created=10, claimed=70, claimer=team["eng"])
    await tl.save()
    body = await _get(client, team["eng"])
    assert (body["n_escalated"], body["n_claimed"], body["n_with_action"]) == (2, 1, 0)
    assert body["time_to_claim"] == {
        "avg_seconds": 60.0,
        "median_seconds": 60.0,
        "p90_seconds": 60.0,
    }
    assert body["time_to_first_action"]["avg_seconds"] is None


async def test_window_boundary(client, factory, db, clock):
    team = await factory.team()
    now = clock.now()
    tl = Timeline(factory, team["tech"], now - timedelta(days=7))
    tl.escalation(created=0, claimed=100, claimer=team["eng"])  # exactly 7 days ago: out
    tl.escalation(created=1, claimed=21, claimer=team["eng"])  # 1 s inside: in
    tl.t0 = now
    tl.escalation(created=0, claimed=0, claimer=team["eng"])  # created right now: in
    tl.escalation(created=1, claimed=2, claimer=team["eng"])  # in the future: out
    await tl.save()
    body = await _get(client, team["eng"], days=7)
    assert body["n_escalated"] == 2
    assert body["time_to_claim"]["avg_seconds"] == 10.0
    assert body["time_to_claim"]["p90_seconds"] == 18.0
    # The window follows the injected clock: 10 s later the oldest one is out, the future one in.
    clock.advance(seconds=10)
    body = await _get(client, team["eng"], days=7)
    assert body["n_escalated"] == 2  # now's and the "future" one
    assert body["time_to_claim"]["median_seconds"] == 0.5


async def test_percentiles_on_known_sample(client, factory, db, clock):
    team = await factory.team()
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(days=2))
    sample = [12, 7, 3, 45, 30, 18, 60, 90, 5, 22]
    for i, seconds in enumerate(sample):
        start = i * 1000
        tl.escalation(
            created=start,
            claimed=start + seconds,
            claimer=team["eng"],
            steps=[(start + seconds + seconds * 2, team["eng"])],
        )
    await tl.save()
    body = await _get(client, team["eng"])
    assert body["time_to_claim"] == {
        "avg_seconds": 29.2,
        "median_seconds": 20.0,
        "p90_seconds": 63.0,
    }
    assert body["time_to_first_action"] == {
        "avg_seconds": 58.4,
        "median_seconds": 40.0,
        "p90_seconds": 126.0,
    }
    # Same definition as the standard library's inclusive quantiles (= percentile_cont).
    deciles = statistics.quantiles(sample, n=10, method="inclusive")
    assert body["time_to_claim"]["p90_seconds"] == pytest.approx(deciles[8])
    assert body["time_to_claim"]["median_seconds"] == pytest.approx(deciles[4])


def test_percentile_function():
    assert service.percentile([], 0.5) is None
    assert service.percentile([7.0], 0.9) == 7.0
    assert service.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert service.percentile([0.0, 10.0], 0.9) == 9.0


@pytest.mark.parametrize("days", [0, 366, -1])
async def test_days_out_of_range_is_422_naming_days(client, factory, days):
    team = await factory.team()
    for url in (URL, "/api/v1/analytics/savings"):
        response = await client.get(url, params={"days": days}, headers=team["eng"].headers)
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "days"


async def test_roles(client, factory):
    team = await factory.team()
    for path in (URL, "/api/v1/analytics/savings", "/api/v1/analytics/baseline"):
        assert (await client.get(path, headers=team["tech"].headers)).status_code == 403
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=team["admin"].headers)).status_code == 200
        assert (await client.get(path, headers=team["eng2"].headers)).status_code == 200


async def test_accounts_never_see_each_other(client, factory, db, clock):
    a = await factory.team()
    b = await factory.team()
    tl = Timeline(factory, a["tech"], clock.now() - timedelta(days=1))
    for i in range(3):
        tl.escalation(
            created=i * 100,
            claimed=i * 100 + 50,
            claimer=a["eng"],
            steps=[(i * 100 + 60, a["eng"])],
        )
    await tl.save()
    tl = Timeline(factory, b["tech"], clock.now() - timedelta(days=1))
    tl.escalation(created=0, claimed=500, claimer=b["eng"], steps=[(530, b["eng"])])
    await tl.save()
    body_b = await _get(client, b["eng"])
    assert (body_b["n_escalated"], body_b["n_claimed"], body_b["n_with_action"]) == (1, 1, 1)
    assert body_b["time_to_claim"]["avg_seconds"] == 500.0
    assert body_b["time_to_first_action"]["avg_seconds"] == 30.0
    body_a = await _get(client, a["admin"])
    assert (body_a["n_escalated"], body_a["n_with_action"]) == (3, 3)
    assert body_a["time_to_claim"]["p90_seconds"] == 50.0
    assert body_a["time_to_first_action"]["median_seconds"] == 10.0


async def test_weekly_medians(factory, db, clock):
    team = await factory.team()
    eng = team["eng"]
    now = clock.now()
    tl = Timeline(factory, team["tech"], now - timedelta(days=3))  # this week
    tl.escalation(created=0, claimed=100, claimer=eng, steps=[(110, eng)])
    tl.escalation(created=500, claimed=800, claimer=eng, steps=[(830, eng)])
    tl.t0 = now - timedelta(days=7 * 11 + 1)  # the oldest of the 12 weeks
    tl.escalation(created=0, claimed=40, claimer=eng)
    tl.t0 = now - timedelta(days=7 * 12 + 1)  # before the chart
    tl.escalation(created=0, claimed=999, claimer=eng)
    await tl.save()
    async with db() as session:
        weeks = await service.weekly_medians(session, tenant=eng, now=now)
    assert len(weeks) == 12
    assert weeks[-1].end == now and weeks[0].start == now - timedelta(weeks=12)
    assert (weeks[-1].n_escalated, weeks[-1].median_time_to_claim) == (2, 200.0)
    assert weeks[-1].median_time_to_first_action == 20.0
    assert (weeks[0].n_escalated, weeks[0].median_time_to_claim) == (1, 40.0)
    assert weeks[0].median_time_to_first_action is None
    assert all(w.n_escalated == 0 and w.median_time_to_claim is None for w in weeks[1:-1])

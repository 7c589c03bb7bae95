"""Manual baseline CRUD and hours saved per week with exact verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.analytics.timeline import Timeline, add_baseline

BASE = "/api/v1/analytics/baseline"
SAVINGS = "/api/v1/analytics/savings"


async def test_baseline_crud(client, factory, clock):
    team = await factory.team()
    eng = team["eng"]
    observed = (clock.now() - timedelta(days=3)).replace(microsecond=0)
    r = await client.post(
        BASE,
        json={"seconds": 900, "note": " phone call to Bob ", "observed_at": observed.isoformat()},
        headers=eng.headers,
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["seconds"] == 900.0
    assert first["note"] == "phone call to Bob"
    assert datetime.fromisoformat(first["observed_at"]) == observed
    assert first["created_by_id"] == eng.id

    clock.advance(seconds=5)
    r = await client.post(BASE, json={"seconds": 42.5}, headers=team["admin"].headers)
    assert r.status_code == 201
    second = r.json()
    assert datetime.fromisoformat(second["observed_at"]) == clock.now()  # defaults to now
    assert second["note"] is None

    items = (await client.get(BASE, headers=eng.headers)).json()["items"]
    assert [i["id"] for i in items] == [second["id"], first["id"]]  # newest observation first

    r = await client.patch(
        f"{BASE}/{first['id']}", json={"seconds": 1200, "note": None}, headers=eng.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["seconds"], r.json()["note"]) == (1200.0, None)
    assert datetime.fromisoformat(r.json()["observed_at"]) == observed  # untouched

    assert (await client.delete(f"{BASE}/{second['id']}", headers=eng.headers)).status_code == 204
    items = (await client.get(BASE, headers=eng.headers)).json()["items"]
    assert [(i["id"], i["seconds"]) for i in items] == [(first["id"], 1200.0)]
    assert (await client.delete(f"{BASE}/{second['id']}", headers=eng.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seconds": 0}, "seconds"),
        ({"seconds": -5}, "seconds"),
        ({"seconds": 7 * 86400 + 1}, "seconds"),
        ({"seconds": "soon"}, "seconds"),
        ({}, "seconds"),
        ({"seconds": 60, "note": "x" * 2001}, "note"),
        ({"seconds": 60, "observed_at": "2026-01-05T09:00:00"}, "observed_at"),
        ({"seconds": 60, "observed_at": "yesterday"}, "observed_at"),
        ({"seconds": 60, "stopwatch": "yes"}, "stopwatch"),
    ],
)
async def test_baseline_validation_names_the_field(client, factory, body, field):
    eng = await factory.user(role="engineer")
    r = await client.post(BASE, json=body, headers=eng.headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["detail"]]


async def test_baseline_rules(client, factory, clock):
    eng = await factory.user(role="engineer")
    future = (clock.now() + timedelta(days=1)).isoformat()
    r = await client.post(BASE, json={"seconds": 60, "observed_at": future}, headers=eng.headers)
    assert (r.status_code, r.json()["field"]) == (422, "observed_at")
    ok = (await client.post(BASE, json={"seconds": 7 * 86400}, headers=eng.headers)).json()
    r = await client.patch(f"{BASE}/{ok['id']}", json={"seconds": None}, headers=eng.headers)
    assert (r.status_code, r.json()["field"]) == (422, "seconds")
    r = await client.patch(f"{BASE}/{ok['id']}", json={"seconds": 0}, headers=eng.headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "seconds"


async def test_baseline_is_per_account_and_senior_only(client, factory):
    a = await factory.team()
    b = await factory.team()
    mine = (await client.post(BASE, json={"seconds": 300}, headers=a["eng"].headers)).json()
    assert (await client.get(BASE, headers=b["eng"].headers)).json()["items"] == []
    for method in ("patch", "delete"):
        kwargs = {"json": {"seconds": 1}} if method == "patch" else {}
        r = await getattr(client, method)(
            f"{BASE}/{mine['id']}", headers=b["admin"].headers, **kwargs
        )
        assert r.status_code == 404
    r = await client.post(BASE, json={"seconds": 300}, headers=a["tech"].headers)
    assert r.status_code == 403
    r = await client.patch(f"{BASE}/{mine['id']}", json={"seconds": 1}, headers=a["tech"].headers)
    assert r.status_code == 403
    assert (
        await client.delete(f"{BASE}/{mine['id']}", headers=a["tech"].headers)
    ).status_code == 403
    items = (await client.get(BASE, headers=a["admin"].headers)).json()["items"]
    assert [(i["id"], i["seconds"]) for i in items] == [(mine["id"], 300.0)]
    savings_b = (await client.get(SAVINGS, headers=b["eng"].headers)).json()
    assert savings_b["n_baseline"] == 0 and savings_b["baseline_median_seconds"] is None


async def _escalations_with_action(factory, team, clock, action_seconds, *, days_ago=1):  # type: ignore[no-untyped-def]
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(days=days_ago))
    for i, seconds in enumerate(action_seconds):
        start = i * 1000
        tl.escalation(
            created=start,
            claimed=start + 30,
            claimer=team["eng"],
            steps=[(start + 30 + seconds, team["eng"])],
        )
    await tl.save()


async def test_savings_empty_is_nulls(client, factory):
    team = await factory.team()
    body = (await client.get(SAVINGS, headers=team["eng"].headers)).json()
    assert body["baseline_median_seconds"] is None
    assert body["in_product_median_seconds"] is None
    assert body["hours_saved_per_week"] is None
    assert body["escalations_per_week"] == 0
    assert (body["n_baseline"], body["n_in_product"]) == (0, 0)
    assert body["verdict"] == "insufficient_data"
    assert "ALL" in body["definition"]


async def test_savings_insufficient_data(client, factory, db, clock):
    team = await factory.team()
    await _escalations_with_action(factory, team, clock, [60, 60, 60, 60, 60])
    await add_baseline(db, team["eng"], [600, 600, 600, 600], clock.now())
    body = (await client.get(SAVINGS, headers=team["eng"].headers)).json()
    assert (body["n_baseline"], body["n_in_product"]) == (4, 5)
    # Computable, but 4 baseline observations are too few to judge.
    assert body["hours_saved_per_week"] == pytest.approx(540 * 5 / (30 / 7) / 3600, abs=1e-4)
    assert body["verdict"] == "insufficient_data"


async def test_savings_below_bar(client, factory, db, clock):
    team = await factory.team()
    await _escalations_with_action(factory, team, clock, [20, 40, 60, 80, 100])
    await add_baseline(db, team["eng"], [300, 900, 600, 500, 700], clock.now())
    body = (await client.get(SAVINGS, params={"days": 28}, headers=team["eng"].headers)).json()
    assert body["baseline_median_seconds"] == 600.0
    assert body["in_product_median_seconds"] == 60.0
    assert body["escalations_per_week"] == 1.25  # 5 / (28 / 7)
    assert body["hours_saved_per_week"] == 0.1875  # 540 s x 1.25 / 3600
    assert (body["n_baseline"], body["n_in_product"]) == (5, 5)
    assert body["verdict"] == "below_bar"


async def test_savings_negative_is_below_bar(client, factory, db, clock):
    team = await factory.team()
    await _escalations_with_action(factory, team, clock, [400] * 7)
    await add_baseline(db, team["eng"], [40] * 5, clock.now())
    body = (await client.get(SAVINGS, params={"days": 7}, headers=team["eng"].headers)).json()
    assert body["escalations_per_week"] == 7.0
    assert body["hours_saved_per_week"] == -0.7  # (40 - 400) x 7 / 3600
    assert body["verdict"] == "below_bar"


async def test_savings_above_bar(client, factory, db, clock):
    team = await factory.team()
    await _escalations_with_action(factory, team, clock, [30, 60, 90, 120, 150, 60])
    # Baseline observations older than the window still count (all of the account's entries).
    await add_baseline(
        db, team["eng"], [1800, 2400, 1500, 2700, 3000], datetime(2025, 6, 1, tzinfo=UTC)
    )
    body = (await client.get(SAVINGS, params={"days": 14}, headers=team["admin"].headers)).json()
    assert body["baseline_median_seconds"] == 2400.0
    assert body["in_product_median_seconds"] == 75.0
    assert body["escalations_per_week"] == 3.0
    assert body["hours_saved_per_week"] == pytest.approx(2325 * 3 / 3600, abs=1e-4)
    assert body["hours_saved_per_week"] == 1.9375
    assert (body["n_baseline"], body["n_in_product"], body["n_escalated"]) == (5, 6, 6)
    assert body["verdict"] == "above_bar"

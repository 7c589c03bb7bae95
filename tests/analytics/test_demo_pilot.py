"""``flowpilot demo`` shows the point: six weeks of history, an interval and a verdict."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

from flowpilot.kernel.db.uow import commit
from flowpilot.models import Delivery, Handoff
from flowpilot.runtime.demo import DEMO_DOMAIN, DEMO_PASSWORD, create_demo


async def test_demo_has_six_weeks_with_a_verdict(client, db, clock):
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # a Wednesday
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is not None
        await commit(session)
    async with db() as session:
        assert await create_demo(session, SimpleNamespace(clock=clock)) is None  # idempotent
        n_handoffs = (await session.execute(select(func.count()).select_from(Handoff))).scalar()
        pending = await session.execute(
            select(func.count())
            .select_from(Delivery)
            .join(Handoff, Handoff.id == Delivery.handoff_id)
            .where(
                Delivery.status == "pending", Handoff.created_at < clock.now() - timedelta(days=1)
            )
        )
        # Only today's escalations notify anyone; the history's notices are skipped.
        assert pending.scalar() == 0
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": f"engineer@{DEMO_DOMAIN}", "password": DEMO_PASSWORD},
    )
    h = {"Authorization": f"Bearer {login.json()['token']}"}

    weeks = (await client.get("/api/v1/analytics/weekly", headers=h)).json()["items"]
    with_data = [w for w in weeks if w["n_with_action"]]
    assert len(with_data) >= 6  # six weeks of escalations (plus today's open one)
    savings = (await client.get("/api/v1/analytics/savings", headers=h)).json()
    assert savings["n_baseline"] == 8 and savings["n_in_product"] >= 5
    assert savings["hours_saved_per_week_low"] is not None
    assert savings["verdict"] == "above_bar"

    r = await client.get("/api/v1/analytics/escalations/export", params={"days": 60}, headers=h)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == n_handoffs
    assert {row["urgency"] for row in rows} == {"critical", "high", "normal", "low"}
    assert any(row["breached"] == "true" for row in rows)
    assert sum(row["status"] == "resolved" for row in rows) > len(rows) / 2
    seniors = (await client.get("/api/v1/analytics/seniors", headers=h)).json()["items"]
    assert {s["name"] for s in seniors} == {"Erin Engineer", "Sam Senior"}

    page = await client.get("/metrics-dashboard", headers=h)
    assert "Above the 1 h/week bar" in page.text and 'id="savings-band"' in page.text

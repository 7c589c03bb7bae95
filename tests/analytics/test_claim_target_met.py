"""claim_target_met in /api/v1/analytics/escalations: exact counts overall and per urgency."""

from __future__ import annotations

from typing import Any

import httpx

from flowpilot.kernel.clock import FrozenClock
from tests.factories import Factory, TestUser, open_session
from tests.handoffs.helpers import escalate, post


async def _escalated(client: httpx.AsyncClient, tech: TestUser, urgency: str) -> str:
    s = await open_session(client, tech)
    r = await escalate(client, tech, s["id"], urgency=urgency)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_claim_target_met_overall_and_per_urgency(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    other = await factory.team()
    eng, tech = team["eng"], team["tech"]

    async def act(who: TestUser, handoff_id: str, action: str, body: Any = None) -> None:
        r = await post(client, who, f"/api/v1/handoffs/{handoff_id}/{action}", body)
        assert r.status_code == 200, r.text

    # 40 days ago, outside a 30-day window: claimed late.
    clock.advance(days=-40)
    old = await _escalated(client, tech, "critical")
    clock.advance(minutes=10)
    await act(eng, old, "claim")
    clock.advance(days=40, minutes=-10)

    h = {
        name: await _escalated(client, tech, urgency)
        for name, urgency in [
            ("crit_in_time", "critical"),
            ("crit_late", "critical"),
            ("crit_open", "critical"),  # never claimed: missed, even before the job stamps it
            ("high_in_time", "high"),
            ("normal_withdrawn_early", "normal"),  # nobody needed to claim it: not counted
            ("normal_withdrawn_late", "normal"),
            ("low_resolved", "low"),
            ("low_open", "low"),
        ]
    }
    await _escalated(client, other["tech"], "critical")  # another account: never counted
    clock.advance(minutes=1)
    await act(tech, h["normal_withdrawn_early"], "cancel")
    clock.advance(minutes=2)  # 3 min
    await act(eng, h["crit_in_time"], "claim")
    clock.advance(minutes=4)  # 7 min: past the critical 5
    await act(eng, h["crit_late"], "claim")
    clock.advance(minutes=3)  # 10 min
    await act(team["eng2"], h["high_in_time"], "claim")
    clock.advance(minutes=60)  # 70 min: past the normal 60
    await act(tech, h["normal_withdrawn_late"], "cancel")
    clock.advance(minutes=130)  # 200 min
    await act(team["admin"], h["low_resolved"], "claim")
    await act(team["admin"], h["low_resolved"], "resolve", {"resolution": "fixed"})
    clock.advance(minutes=90)  # 290 min
    await _escalated(client, tech, "high")  # due at 305 min: not due yet
    clock.advance(minutes=10)  # 300 min: the lows' 240 have passed

    r = await client.get("/api/v1/analytics/escalations?days=30", headers=eng.headers)
    assert r.status_code == 200, r.text
    met = r.json()["claim_target_met"]
    assert met["by_urgency"] == {
        "critical": {"n_due": 3, "n_met": 1, "pct": 33.3},
        "high": {"n_due": 1, "n_met": 1, "pct": 100.0},
        "normal": {"n_due": 1, "n_met": 0, "pct": 0.0},
        "low": {"n_due": 2, "n_met": 1, "pct": 50.0},
    }
    assert (met["n_due"], met["n_met"], met["pct"]) == (7, 3, 42.9)
    assert list(met["by_urgency"]) == ["critical", "high", "normal", "low"]

    wide = await client.get("/api/v1/analytics/escalations?days=60", headers=eng.headers)
    assert wide.json()["claim_target_met"]["by_urgency"]["critical"] == {
        "n_due": 4,
        "n_met": 1,
        "pct": 25.0,
    }
    empty = await client.get(
        "/api/v1/analytics/escalations?days=30", headers=(await factory.team())["eng"].headers
    )
    assert empty.json()["claim_target_met"] == {
        "n_due": 0,
        "n_met": 0,
        "pct": None,
        "by_urgency": {u: {"n_due": 0, "n_met": 0, "pct": None} for u in met["by_urgency"]},
    }

"""Two server processes on one database and one Redis: an event crosses from B to A.

Runs only when FLOWPILOT_TEST_REDIS_URL is set (the in-process bus is single-process by design);
with FLOWPILOT_TEST_POSTGRES_URL as well, both processes share this worker's PostgreSQL database.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.databases import REDIS_URL, REPLICAS_NEED_REDIS
from tests.factories import Factory, TestUser
from tests.live.sse_client import SSEReader

pytestmark = pytest.mark.skipif(not REDIS_URL, reason=REPLICAS_NEED_REDIS)


async def _call(url: str, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=url, headers=user.headers, timeout=10) as client:
        response = await client.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def test_subscriber_on_a_receives_escalation_made_through_b(
    replicas: list[str], factory: Factory
) -> None:
    a, b = replicas
    team = await factory.team()
    other = await factory.team()
    async with (
        httpx.AsyncClient(base_url=a, timeout=10) as client,
        client.stream("GET", "/api/v1/handoffs/stream", headers=team["eng"].headers) as response,
    ):
        assert response.status_code == 200
        reader = SSEReader(response)
        assert (await reader.next()).retry is not None  # subscribed on A

        # Another account's escalation through B must not reach this stream.
        s0 = await _call(
            b, other["tech"], "POST", "/api/v1/sessions", json={"title": "Other", "problem": "x"}
        )
        await _call(
            b,
            other["tech"],
            "POST",
            f"/api/v1/sessions/{s0['id']}/handoff",
            json={"reason": "not yours", "urgency": "low"},
        )

        session = await _call(
            b,
            team["tech"],
            "POST",
            "/api/v1/sessions",
            json={"title": "Chiller alarm", "problem": "High pressure trip"},
        )
        handoff = await _call(
            b,
            team["tech"],
            "POST",
            f"/api/v1/sessions/{session['id']}/handoff",
            json={"reason": "needs a senior", "urgency": "critical"},
        )
        created = await reader.next_event()
        assert created.event == "handoff.created"
        assert created.json["id"] == handoff["id"]
        assert created.json["reason"] == "needs a senior"
        assert created.json["session_title"] == "Chiller alarm"

        await _call(b, team["eng2"], "POST", f"/api/v1/handoffs/{handoff['id']}/claim")
        claimed = await reader.next_event()
        assert claimed.event == "handoff.claimed" and claimed.json["status"] == "claimed"
        assert int(claimed.id or 0) > int(created.id or 0)

    # Reconnecting to B with A's last-but-one id replays exactly the claim.
    headers = {**team["admin"].headers, "Last-Event-ID": str(created.id)}
    async with (
        httpx.AsyncClient(base_url=b, timeout=10) as client,
        client.stream("GET", "/api/v1/handoffs/stream", headers=headers) as response,
    ):
        reader = SSEReader(response)
        replayed = await reader.next_event()
        assert (replayed.id, replayed.event) == (claimed.id, "handoff.claimed")

"""The queue page is written straight from its rows; it says exactly what the handoff model says."""

from __future__ import annotations

import httpx

from flowpilot.handoffs.schemas import HandoffOut, QueuePage
from flowpilot.kernel.clock import FrozenClock
from tests.factories import Factory
from tests.handoffs.helpers import claim, escalated, post


async def test_queue_page_bytes_are_the_models_encoding_of_each_handoff(
    client: httpx.AsyncClient, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    quoted = await escalated(client, tech, title='Drucker "offline" — Zürich ✓', customer=None)
    clock.advance(minutes=3, seconds=1)
    plain = await escalated(client, tech, urgency="critical", customer="ACME\\Ops", asset="PC-7")
    clock.advance(hours=2)  # past the critical claim target: the claim records the breach
    await claim(client, eng, plain["id"])
    clock.advance(seconds=1)
    await post(client, eng, f"/api/v1/handoffs/{quoted['id']}/claim")
    await post(client, eng, f"/api/v1/handoffs/{quoted['id']}/release")

    r = await client.get("/api/v1/handoffs/queue", params={"status": "all"}, headers=eng.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    items = []
    for handoff_id in (plain["id"], quoted["id"]):  # newest first
        detail = (await client.get(f"/api/v1/handoffs/{handoff_id}", headers=eng.headers)).json()
        items.append(HandoffOut(**{k: detail[k] for k in HandoffOut.model_fields}))
    assert items[0].breached_at is not None and items[0].claimed_by_name is not None
    assert r.content == QueuePage(items=items, next_cursor=None).model_dump_json().encode()

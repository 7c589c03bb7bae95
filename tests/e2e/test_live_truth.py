"""The live queue tells the truth in a real browser: the loser of a claim race is told who won."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from playwright.async_api import Route, expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, TestUser


async def _api(server: LiveServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


async def _escalated(server: LiveServer, tech: TestUser) -> dict[str, Any]:
    session = await _api(
        server, tech, "POST", "/api/v1/sessions", json={"title": "Walk-in cooler", "problem": "8C"}
    )
    return await _api(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": "Compressor short-cycles", "urgency": "critical"},
    )


async def test_the_loser_of_a_claim_race_sees_who_won_before_the_card_leaves(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    h = await _escalated(live_server, team["tech"])
    page = await page_as(team["eng2"])
    await page.goto("/escalations?status=open")
    await expect(page.locator("#queue-live-status")).to_have_attribute("data-state", "live")
    card = page.locator(f"#handoff-{h['id']}")
    await expect(card).to_be_visible()
    won = asyncio.Event()

    async def lose_the_race(route: Route) -> None:
        # The other engineer's claim lands (and its live event reaches this page) first.
        await _api(live_server, team["eng"], "POST", f"/api/v1/handoffs/{h['id']}/claim")
        won.set()
        await asyncio.sleep(1.0)  # the live "claimed" event arrives while our claim is in flight
        await route.continue_()

    await page.route(f"**/api/v1/handoffs/{h['id']}/claim", lose_the_race)
    await card.locator('[data-action="claim"]').click()
    await won.wait()
    await expect(card).to_contain_text(f"Claimed by {team['eng'].name}")
    await expect(card.locator("[data-claim-error]")).to_contain_text(
        f"Claimed by {team['eng'].name}"
    )
    await page.wait_for_timeout(3_000)  # "several seconds": still there, still saying who won
    await expect(card).to_be_visible()
    await expect(card).to_contain_text(f"Claimed by {team['eng'].name}")
    await expect(card).to_have_count(0, timeout=10_000)  # then it leaves the open queue

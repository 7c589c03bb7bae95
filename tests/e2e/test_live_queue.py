"""The live escalation queue in a real browser against a real server."""

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
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _escalate(server: LiveServer, tech: TestUser, title: str, reason: str) -> dict[str, Any]:
    session = await _api(
        server, tech, "POST", "/api/v1/sessions", json={"title": title, "problem": "No heat"}
    )
    return await _api(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": reason, "urgency": "high"},
    )


async def test_new_escalation_slides_in_and_a_claim_updates_the_card(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    page = await page_as(team["eng"])
    await page.goto("/escalations?status=live")
    indicator = page.locator("#queue-live-status")
    await expect(indicator).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(indicator).to_contain_text("Live")

    handoff = await _escalate(
        live_server, team["tech"], "Boiler fault E119", "Pressure keeps dropping"
    )
    card = page.locator(f"#handoff-{handoff['id']}")
    # Shown without a reload, within 2 s of the API answering.
    await expect(card).to_be_visible(timeout=2_000)
    await expect(card.locator('[data-field="reason"]')).to_have_text("Pressure keeps dropping")
    await expect(card.locator('[data-field="session_title"]')).to_have_text("Boiler fault E119")
    await expect(card).to_have_attribute("data-status", "open")
    assert await page.locator("#queue .handoff-card").first.get_attribute("id") == (
        f"handoff-{handoff['id']}"
    )

    await _api(live_server, team["eng2"], "POST", f"/api/v1/handoffs/{handoff['id']}/claim")
    await expect(card).to_have_attribute("data-status", "claimed", timeout=2_000)
    await expect(card.locator('[data-field="status"]')).to_have_text("claimed")
    await expect(card.locator('[data-field="claimed_by_name"]')).to_have_text(team["eng2"].name)
    await expect(card.locator('[data-action="claim"]')).to_be_hidden()


async def test_claimed_card_leaves_the_open_queue_and_hidden_tab_title_flashes(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    page = await page_as(team["admin"])
    await page.goto("/escalations?status=open")
    await expect(page.locator("#queue-live-status")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    title = await page.title()
    # Pretend the tab is in the background.
    await page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})"
    )
    handoff = await _escalate(live_server, team["tech"], "Printer jam", "Tray 2 keeps jamming")
    card = page.locator(f"#handoff-{handoff['id']}")
    await expect(card).to_be_visible(timeout=2_000)
    # The title names the most urgent unclaimed escalation, and flashes while hidden.
    await expect(page).to_have_title("(1) HIGH · Printer jam", timeout=2_000)
    await expect(page).to_have_title(f"New escalation · {title}", timeout=3_000)
    await page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    await expect(page).to_have_title("(1) HIGH · Printer jam")
    await page.wait_for_timeout(1_200)
    assert await page.title() == "(1) HIGH · Printer jam"  # no flashing once seen

    await _api(live_server, team["eng"], "POST", f"/api/v1/handoffs/{handoff['id']}/claim")
    await expect(card).to_have_count(0, timeout=2_000)
    await expect(page).to_have_title(title)  # nothing left unclaimed


async def test_escalation_made_before_the_stream_opened_is_not_missed(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    """The page renders, then an escalation lands, then the stream subscribes: still shown."""
    team = await factory.team()
    page = await page_as(team["eng"])
    release = asyncio.Event()

    async def hold_stream(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route("**/api/v1/handoffs/stream*", hold_stream)
    await page.goto("/escalations")
    handoff = await _escalate(live_server, team["tech"], "Freezer warm", "Alarm at -5C")
    card = page.locator(f"#handoff-{handoff['id']}")
    await expect(card).to_have_count(0)  # not on the page that was rendered before it
    release.set()
    await expect(page.locator("#queue-live-status")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    await expect(card).to_be_visible(timeout=2_000)
    await expect(card.locator('[data-field="reason"]')).to_have_text("Alarm at -5C")

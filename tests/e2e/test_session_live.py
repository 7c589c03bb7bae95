"""Both sides of an escalation live in a real browser: the technician's session page follows the
claim and the claimer's steps; a page whose login ended says so instead of retrying forever."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, TestUser


async def _api(server: LiveServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


async def _escalated(server: LiveServer, tech: TestUser) -> dict[str, Any]:
    session = await _api(
        server,
        tech,
        "POST",
        "/api/v1/sessions",
        json={"title": "Boiler E119", "problem": "No heat"},
    )
    return await _api(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": "Pressure keeps dropping", "urgency": "high"},
    )


async def test_the_technicians_page_shows_the_claim_the_claimers_steps_and_who_is_viewing(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await _escalated(live_server, tech)
    page = await page_as(tech)
    await page.goto(f"/sessions/{h['session_id']}")
    await expect(page.locator("#session-live-status")).to_have_attribute("data-state", "live")
    await expect(page.locator("#live-handoff-summary")).to_contain_text("Waiting for an engineer")

    engineer = await page_as(eng)
    await engineer.goto(f"/sessions/{h['session_id']}")
    await expect(page.locator("#session-viewers")).to_have_text(f"{eng.name} is viewing")
    await expect(engineer.locator("#session-viewers")).to_have_text(f"{tech.name} is viewing")

    await _api(live_server, eng, "POST", f"/api/v1/handoffs/{h['id']}/claim")
    await expect(page.locator("#live-handoff-summary")).to_contain_text(f"Claimed by {eng.name}")
    await expect(page.locator("#session-live-banner")).to_contain_text(
        f"{eng.name} claimed this escalation"
    )
    await expect(page.locator("#session-assignee")).to_have_text(eng.name)

    await _api(
        live_server,
        eng,
        "POST",
        f"/api/v1/sessions/{h['session_id']}/steps",
        json={"kind": "action", "content": "Refilled the loop to 1.5 bar"},
    )
    step = page.locator("#timeline .timeline-item", has_text="Refilled the loop to 1.5 bar")
    await expect(step).to_be_visible()
    await expect(step.locator(".author")).to_have_text(eng.name)

    # Co-working: the technician's own step reaches the engineer's page.
    await page.locator('#step-form textarea[name="content"]').fill("Pressure holds now")
    await page.locator('#step-form button[type="submit"]').click()
    theirs = engineer.locator("#timeline .timeline-item", has_text="Pressure holds now")
    await expect(theirs.locator(".author")).to_have_text(tech.name)

    await engineer.close()
    await expect(page.locator("#session-viewers")).to_be_hidden()


async def test_a_page_whose_login_ended_says_log_in_again_and_stops(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    eng = team["eng"]
    h = await _escalated(live_server, team["tech"])
    queue = await page_as(eng)
    await queue.goto("/escalations")
    session_page = await page_as(eng)
    await session_page.goto(f"/sessions/{h['session_id']}")
    for page, status in ((queue, "#queue-live-status"), (session_page, "#session-live-status")):
        await expect(page.locator(status)).to_have_attribute("data-state", "live")

    # The admin deactivates the engineer: both open pages are told, in words, with no retrying.
    await _api(
        live_server, team["admin"], "PATCH", f"/api/v1/users/{eng.id}", json={"active": False}
    )
    for page, status in ((queue, "#queue-live-status"), (session_page, "#session-live-status")):
        indicator = page.locator(status)
        await expect(indicator).to_contain_text("Your login has ended — log in again")
        await expect(indicator).to_have_attribute("data-state", "ended")
        await expect(indicator.get_by_role("link", name="log in again")).to_have_attribute(
            "href",
            "/login?next="
            + ("%2Fescalations" if page is queue else "%2Fsessions%2F" + h["session_id"]),
        )
    await queue.wait_for_timeout(1_500)
    await expect(queue.locator("#queue-live-status")).to_have_attribute("data-state", "ended")

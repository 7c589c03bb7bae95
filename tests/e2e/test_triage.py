"""Triage in a real browser: urgency first, the claim countdown, desktop notifications, sound,
favicon badge, the "new" marker, and how many cards one screen shows."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, PageAs
from tests.factories import Factory, TestUser

# The browser's own Notification API, observed: every notification that was really shown.
RECORD_NOTIFICATIONS = """
(() => {
  window.__shown = [];
  const Real = window.Notification;
  if (!Real) return;
  class Observed extends Real {
    constructor(title, options) {
      super(title, options);
      const body = options && options.body;
      this.addEventListener("show", () => window.__shown.push({ title, body }));
    }
  }
  Object.defineProperty(Observed, "permission", { get: () => Real.permission });
  Observed.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Observed;
})();
"""


async def _api(server: LiveServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _escalate(
    server: LiveServer, tech: TestUser, title: str, urgency: str, **fields: Any
) -> dict[str, Any]:
    session = await _api(
        server,
        tech,
        "POST",
        "/api/v1/sessions",
        json={"title": title, "problem": "Stopped working this morning", **fields},
    )
    return await _api(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{session['id']}/handoff",
        json={"reason": f"{title}: tried the usual", "urgency": urgency},
    )


async def _live(page: Page) -> None:
    await expect(page.locator("#queue-live-status")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )


async def test_critical_first_and_the_countdown_turns_amber_then_red(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    low = await _escalate(live_server, team["tech"], "Label printer jams", "low")
    critical = await _escalate(live_server, team["tech"], "Core switch down", "critical")
    high = await _escalate(live_server, team["tech"], "VPN drops", "high")
    page = await page_as(team["eng"])
    await page.clock.install()  # the page's own clock, moved by the test
    await page.goto("/escalations")
    cards = page.locator("#queue .handoff-card")
    await expect(cards).to_have_count(3)
    ids = [await c.get_attribute("data-handoff-id") for c in await cards.all()]
    assert ids == [critical["id"], high["id"], low["id"]]
    await expect(page.locator(".queue-tabs [aria-current=page]")).to_contain_text("Unclaimed")
    first = cards.first
    await expect(first.locator(".urgency-badge")).to_have_text("critical")
    assert (
        await first.locator(".urgency-badge").evaluate("el => getComputedStyle(el).textTransform")
        == "uppercase"
    )
    countdown = first.locator('[data-field="countdown"]')
    await expect(countdown).to_have_text("claim within 5 min")
    await expect(first).to_have_attribute("data-due-state", "ok")
    plain = await countdown.evaluate("el => getComputedStyle(el).backgroundColor")

    await page.clock.fast_forward("02:31")  # half of the 5 minutes has gone
    await expect(first).to_have_attribute("data-due-state", "soon")
    await expect(countdown).to_have_text("claim within 3 min")
    amber = await countdown.evaluate("el => getComputedStyle(el).backgroundColor")
    assert amber == "rgb(254, 240, 199)" and amber != plain
    await expect(cards.nth(1)).to_have_attribute("data-due-state", "ok")  # high: 15 min

    await page.clock.fast_forward("02:40")  # past the target
    await expect(first).to_have_attribute("data-due-state", "late")
    await expect(countdown).to_contain_text("overdue by")
    red = await countdown.evaluate("el => getComputedStyle(el).backgroundColor")
    assert red == "rgb(180, 35, 24)"
    wait = await first.locator(".wait").evaluate("el => getComputedStyle(el).color")
    assert wait == "rgb(180, 35, 24)"  # the waiting time takes the target's colour too


async def test_desktop_notification_at_or_above_the_chosen_urgency_with_sound_and_badge(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    eng = team["eng"]
    page = await page_as(eng, permissions=["notifications"])
    await page.add_init_script(RECORD_NOTIFICATIONS)
    await page.goto("/escalations")
    await _live(page)
    alerts = page.locator("#queue-alerts")
    await alerts.get_by_label("Desktop notifications for new escalations").check()
    await expect(alerts.locator("#alert-status")).to_have_text("Saved.")
    await alerts.get_by_label("when the urgency is at least").select_option("critical")
    await alerts.get_by_label("A short sound for high and critical").check()
    me = await _api(live_server, eng, "GET", "/api/v1/me")
    assert (me["alert_desktop"], me["alert_min_urgency"], me["alert_sound"]) == (
        True,
        "critical",
        True,
    )
    shown = lambda: page.evaluate("window.__shown")  # noqa: E731

    below = await _escalate(live_server, team["tech"], "Mailbox slow", "high")
    await expect(page.locator(f"#handoff-{below['id']}")).to_be_visible()
    await page.wait_for_timeout(500)
    assert await shown() == []  # high is below the chosen "critical"
    await expect(page.locator("html")).to_have_attribute("data-last-beep", "high")

    top = await _escalate(
        live_server, team["tech"], "Printer offline", "critical", customer="Acme Ltd"
    )
    await expect(page.locator(f"#handoff-{top['id']}")).to_be_visible()
    await page.wait_for_function("window.__shown.length === 1")
    [notice] = await shown()
    assert notice["title"] == "CRITICAL escalation: Printer offline"
    assert "Acme Ltd" in notice["body"] and "tried the usual" in notice["body"]
    await expect(page.locator("html")).to_have_attribute("data-last-beep", "critical")
    # The critical card went to the top; the favicon counts and the title names the top.
    first = page.locator("#queue .handoff-card").first
    await expect(first).to_have_attribute("data-handoff-id", top["id"])
    icon = page.locator('link[rel="icon"]')
    await expect(icon).to_have_attribute("data-count", "2")
    assert (await icon.get_attribute("href") or "").startswith("data:image/svg+xml")
    await expect(page).to_have_title("(2) CRITICAL · Printer offline")
    await expect(page.locator("#count-unclaimed")).to_have_text("2")

    await _api(live_server, eng, "POST", f"/api/v1/handoffs/{top['id']}/claim")
    await expect(page).to_have_title("(1) HIGH · Mailbox slow")
    await expect(icon).to_have_attribute("data-count", "1")


async def test_new_marker_stays_until_the_card_was_seen(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    page = await page_as(team["eng"])
    await page.goto("/escalations")
    await _live(page)
    await page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})"
    )
    h = await _escalate(live_server, team["tech"], "Boiler E119", "normal")
    marker = page.locator(f"#handoff-{h['id']} [data-new-marker]")
    await expect(marker).to_be_visible()
    await page.wait_for_timeout(2_000)
    await expect(marker).to_be_visible()  # in the background nobody has seen it
    await page.reload()  # still new after a reload
    await _live(page)
    await expect(page.locator(f"#handoff-{h['id']} [data-new-marker]")).to_be_visible()
    await expect(page.locator(f"#handoff-{h['id']} [data-new-marker]")).to_be_hidden(
        timeout=5_000
    )  # a visible tab, the card in view for a second: seen


async def test_one_screen_shows_five_cards_on_a_laptop_and_two_on_a_phone(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    for i, urgency in enumerate(["critical", "high", "normal", "low"] * 2):
        await _escalate(
            live_server,
            team["tech"],
            f"Case {i}: printer offline after a firmware update on floor 3",
            urgency,
            customer="Acme Dental Group",
            asset="HP LaserJet M507 #F3-01",
        )
    for viewport, at_least in ((LAPTOP, 5), (PHONE, 2)):
        page = await page_as(team["eng"], viewport=viewport)
        await page.goto("/escalations")
        await expect(page.locator("#queue .handoff-card")).to_have_count(8)
        fully_visible = await page.evaluate(
            """() => [...document.querySelectorAll('#queue .handoff-card')]
                 .filter(c => c.getBoundingClientRect().bottom <= innerHeight).length"""
        )
        assert fully_visible >= at_least, (viewport, fully_visible)
        # Each visible card's Claim button is on screen too.
        claim = (
            page.locator("#queue .handoff-card").nth(at_least - 1).locator('[data-action="claim"]')
        )
        box = await claim.bounding_box()
        assert box is not None and box["y"] + box["height"] <= viewport["height"]


async def test_tabs_chips_and_search(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    mine = await _escalate(live_server, team["tech"], "Switch port flapping", "high")
    await _escalate(live_server, team["tech"], "Fan noise", "low", customer="Globex")
    await _escalate(live_server, team["tech"], "Badge reader", "critical")
    await _api(live_server, team["eng"], "POST", f"/api/v1/handoffs/{mine['id']}/claim")
    page = await page_as(team["eng"])
    await page.goto("/escalations")
    cards = page.locator("#queue .handoff-card")
    await expect(cards).to_have_count(2)
    await page.locator(".chip", has_text="Low").click()  # a chip applies at once
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Fan noise")
    await page.locator(".chip", has_text="Low").click()
    await expect(cards).to_have_count(2)
    await page.get_by_role("searchbox", name="Search escalations").fill("globex")
    await page.get_by_role("searchbox", name="Search escalations").press("Enter")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Fan noise")
    await page.get_by_role("link", name="Mine").click()
    await expect(page.locator("#queue-empty")).to_have_text("No escalations match these filters.")
    await page.get_by_role("searchbox", name="Search escalations").fill("")
    await page.get_by_role("searchbox", name="Search escalations").press("Enter")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_have_attribute("data-handoff-id", mine["id"])
    # The order control does not navigate while arrow keys move through it.
    url = page.url
    await page.get_by_label("Order").focus()
    await page.keyboard.press("ArrowDown")
    await page.wait_for_timeout(300)
    assert page.url == url

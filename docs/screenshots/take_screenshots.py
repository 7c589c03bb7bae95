"""Take the page screenshots in this folder from a running FlowPilot with the demo data.

    export FLOWPILOT_DATABASE_URL=sqlite+aiosqlite:////tmp/fpdemo/demo.db
    export FLOWPILOT_MAILBOX_DIR=/tmp/fpdemo/mailbox FLOWPILOT_BASE_URL=http://127.0.0.1:18931
    flowpilot db upgrade && flowpilot demo
    flowpilot serve --port 18931 &
    .venv/bin/python docs/screenshots/take_screenshots.py http://127.0.0.1:18931 docs/screenshots \
        /tmp/fpdemo/mailbox

Uses Debian's /usr/bin/chromium through Playwright (no browser download). When the demo queue
holds fewer than six open escalations, it first adds a few of mixed urgency through the API (as
the demo technician), so the queue shows its urgency order. Pages that change on a phone are
also taken at 390x844 (``*-phone.png``). The session view is taken while an engineer has the
same session open (its "... is viewing" line); the claim-from-email page opens a claim link from
the file mailbox (the third argument) that the server's dispatcher wrote.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18931"
OUT = sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots"
MAILBOX = Path(sys.argv[3] if len(sys.argv) > 3 else "mailbox")
PASSWORD = "flowpilot-demo"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 820}
PHONE = {"width": 390, "height": 844}
EXTRA = [
    ("Core switch port flapping", "Umbrella Corp", "Cisco 9300", "critical", "Gi1/0/24 flaps"),
    ("Badge reader rejects new cards", "Stark Industries", "HID iCLASS SE", "high", "New cards"),
    ("Shared mailbox not syncing", "Acme Ltd", None, "normal", "Outlook cannot connect"),
    ("Laptop fan loud under light load", "Wayne Enterprises", "ThinkPad T14", "low", "BIOS ok"),
    ("Label printer jams every 20 labels", "Globex", "Zebra ZT410", "low", "Head cleaned"),
]


def seed_queue() -> None:
    with httpx.Client(base_url=BASE, timeout=10) as c:

        def login(email: str) -> dict[str, str]:
            r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}

        eng = login("engineer@demo.flowpilot.test")
        if len(c.get("/api/v1/handoffs/queue", headers=eng).json()["items"]) >= 6:
            return
        tech = login("tech@demo.flowpilot.test")
        for title, customer, asset, urgency, reason in EXTRA:
            body = {"title": title, "problem": reason, "customer": customer, "asset": asset}
            s = c.post("/api/v1/sessions", json=body, headers=tech).json()
            c.post(
                f"/api/v1/sessions/{s['id']}/handoff",
                json={"reason": reason, "urgency": urgency},
                headers=tech,
            ).raise_for_status()


def claim_links(to_email: str) -> list[str]:
    """Claim links in the file mailbox for one recipient, newest first (waits for them)."""
    for _ in range(50):
        links = []
        paths = sorted(MAILBOX.glob("*.eml"), reverse=True) if MAILBOX.exists() else []
        for path in paths:
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            body = msg.get_body(("plain",))
            if msg["To"].addresses[0].addr_spec == to_email and body is not None:
                links += re.findall(r"https?://\S+/claim/[A-Za-z0-9_.\-]+", body.get_content())
        if links:
            return links
        time.sleep(0.2)
    return []


async def claim_link_page(browser: Browser, viewport: dict[str, int]) -> Page | None:
    """A mail client's browser (no login) on a link that is still live, or None."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    for link in claim_links("engineer@demo.flowpilot.test"):
        await page.goto(link.replace("http://127.0.0.1:18931", BASE))
        if await page.locator("#claim-link").count():
            return page
    return None


async def logged_in(browser: Browser, email: str, viewport: dict[str, int] = VIEWPORT) -> Page:
    context = await browser.new_context(base_url=BASE, viewport=viewport)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def queue_ready(page: Page) -> None:
    """Cards shown, the live stream connected and the stat card filled."""
    await page.wait_for_selector(".handoff-card")
    await page.wait_for_selector('#queue-live-status[data-state="live"]')
    await page.wait_for_selector("[data-analytics-card]:not([data-pending])")


async def main() -> None:
    seed_queue()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=ARGS
        )
        context = await browser.new_context(base_url=BASE, viewport=VIEWPORT)
        page = await context.new_page()
        await page.goto("/login")
        await page.screenshot(path=f"{OUT}/login.png")

        page = await logged_in(browser, "tech@demo.flowpilot.test")
        await page.goto("/sessions")
        await page.screenshot(path=f"{OUT}/sessions-list.png", full_page=True)
        await page.locator("#sessions-table a", has_text="VPN").first.click()
        await page.wait_for_selector("#timeline")
        await page.wait_for_selector('#session-live-status[data-state="live"]')
        viewer = await logged_in(browser, "engineer@demo.flowpilot.test")
        await viewer.goto(page.url)
        await page.wait_for_selector("#session-viewers:not([hidden])")
        await page.screenshot(path=f"{OUT}/session-view.png", full_page=True)
        await viewer.context.close()

        for name, viewport in (("claim-link", VIEWPORT), ("claim-link-phone", PHONE)):
            claim = await claim_link_page(browser, viewport)
            if claim is None:
                print("no live claim link in", MAILBOX, "- claim-link pages not taken")
                break
            await claim.screenshot(path=f"{OUT}/{name}.png", full_page=True)
            await claim.context.close()

        page = await logged_in(browser, "engineer@demo.flowpilot.test")
        await page.goto("/escalations")
        await queue_ready(page)
        await page.screenshot(path=f"{OUT}/escalations-queue.png", full_page=True)
        await page.locator(".handoff-card a").first.click()
        await page.wait_for_selector("#handoff-context")
        await page.screenshot(path=f"{OUT}/handoff-context.png", full_page=True)
        await page.goto("/metrics-dashboard")
        await page.wait_for_selector("#savings")
        await page.screenshot(path=f"{OUT}/metrics-dashboard.png", full_page=True)

        page = await logged_in(browser, "admin@demo.flowpilot.test")
        await page.goto("/settings")
        await page.screenshot(path=f"{OUT}/settings.png", full_page=True)
        await page.goto("/admin/users")
        await page.screenshot(path=f"{OUT}/users-admin.png", full_page=True)
        await page.goto("/sessions/no-such-session")
        await page.screenshot(path=f"{OUT}/error-404.png")

        page = await logged_in(browser, "engineer@demo.flowpilot.test", PHONE)
        await page.goto("/escalations")
        await queue_ready(page)
        await page.screenshot(path=f"{OUT}/escalations-queue-phone.png")
        await page.locator(".handoff-card a").first.click()
        await page.wait_for_selector("#handoff-context")
        await page.screenshot(path=f"{OUT}/handoff-context-phone.png")
        await page.goto("/metrics-dashboard")
        await page.wait_for_selector("#savings")
        await page.screenshot(path=f"{OUT}/metrics-dashboard-phone.png", full_page=True)
        page = await logged_in(browser, "admin@demo.flowpilot.test", PHONE)
        await page.goto("/admin/users")
        await page.screenshot(path=f"{OUT}/users-admin-phone.png", full_page=True)
        await page.goto("/sessions")
        await page.screenshot(path=f"{OUT}/sessions-list-phone.png", full_page=True)
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())

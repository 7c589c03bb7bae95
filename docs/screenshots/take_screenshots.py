"""Take the page screenshots in this folder from a running FlowPilot with the demo data.

    export FLOWPILOT_DATABASE_URL=sqlite+aiosqlite:////tmp/fpdemo/demo.db
    flowpilot db upgrade && flowpilot demo
    flowpilot serve --port 18931 &
    .venv/bin/python docs/screenshots/take_screenshots.py http://127.0.0.1:18931 docs/screenshots

Uses Debian's /usr/bin/chromium through Playwright (no browser download).
"""

from __future__ import annotations

import asyncio
import sys

from playwright.async_api import Browser, Page, async_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:18931"
OUT = sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots"
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


async def logged_in(browser: Browser, email: str) -> Page:
    context = await browser.new_context(base_url=BASE, viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page


async def main() -> None:
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
        await page.locator("#sessions-table a", has_text="VPN").click()
        await page.wait_for_selector("#timeline")
        await page.screenshot(path=f"{OUT}/session-view.png", full_page=True)

        page = await logged_in(browser, "engineer@demo.flowpilot.test")
        await page.goto("/escalations")
        await page.wait_for_selector(".handoff-card")
        await page.screenshot(path=f"{OUT}/escalations-queue.png", full_page=True)
        await page.locator(".handoff-card a").first.click()
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=f"{OUT}/handoff-context.png", full_page=True)
        await page.goto("/metrics-dashboard")
        await page.screenshot(path=f"{OUT}/metrics-dashboard.png", full_page=True)

        page = await logged_in(browser, "admin@demo.flowpilot.test")
        await page.goto("/settings")
        await page.screenshot(path=f"{OUT}/settings.png", full_page=True)
        await page.goto("/admin/users")
        await page.screenshot(path=f"{OUT}/users-admin.png", full_page=True)
        await page.goto("/sessions/no-such-session")
        await page.screenshot(path=f"{OUT}/error-404.png")
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())

"""Notifications in a real browser against the real server (background dispatcher on)."""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory


async def test_handoff_screen_shows_delivery_records_and_mailbox_has_them(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    async with httpx.AsyncClient(base_url=live_server.url, headers=team["tech"].headers) as api:
        r = await api.post(
            "/api/v1/sessions", json={"title": "Scanner jams", "problem": "Feeds two sheets"}
        )
        assert r.status_code == 201, r.text
        r = await api.post(
            f"/api/v1/sessions/{r.json()['id']}/handoff",
            json={"reason": "Replaced rollers, still jams", "urgency": "critical"},
        )
        assert r.status_code == 201, r.text
        handoff_id = r.json()["id"]

    page = await page_as(team["eng"])
    await page.goto(f"/escalations/{handoff_id}")
    section = page.locator("#handoff-deliveries")
    # The in-process dispatcher sends within a second; the panel refreshes while in flight.
    await expect(section.locator(".deliveries-summary")).to_have_text(
        "emailed 3 seniors", timeout=20_000
    )
    rows = section.locator("tbody tr")
    await expect(rows).to_have_count(3)
    await expect(section).to_contain_text(team["admin"].name)
    await expect(section).not_to_contain_text(team["tech"].name)

    async with httpx.AsyncClient(base_url=live_server.url, headers=team["eng"].headers) as api:
        items = (await api.get(f"/api/v1/handoffs/{handoff_id}/deliveries")).json()["items"]
    names = await asyncio.to_thread(lambda: {p.name for p in live_server.mailbox_dir.iterdir()})
    assert {f"{i['id']}.eml" for i in items} <= names


async def test_settings_page_saves_preferences_and_webhook(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    admin = await factory.user(role="admin")
    page = await page_as(admin)
    await page.goto("/")
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()

    prefs = page.locator("#prefs-form")
    await prefs.get_by_label("Email me about new escalations").uncheck()
    await prefs.get_by_label("Only when the urgency is at least").select_option("high")
    await prefs.get_by_role("button", name="Save my preferences").click()
    await expect(page.get_by_role("status").first).to_contain_text("preferences are saved")
    await expect(prefs.get_by_label("Email me about new escalations")).not_to_be_checked()
    await expect(prefs.get_by_label("Only when the urgency is at least")).to_have_value("high")

    account = page.locator("#account-form")
    await account.get_by_label("Webhook URL").fill("https://hooks.example.test/T000/B000")
    await account.get_by_label("Post new and still-unclaimed escalations").check()
    await account.get_by_role("button", name="Save account settings").click()
    await expect(page.locator("#new-secret")).to_contain_text("whsec_")

    await page.goto("/settings")
    await expect(page.locator("#new-secret")).to_have_count(0)  # shown once
    await expect(page.locator("#account-form")).to_contain_text("Signing secret: set")

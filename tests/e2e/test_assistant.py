"""The assistant in a real browser: a streamed answer lands in the timeline; a streamed
write-up is edited and saved as the session's resolution."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from playwright.async_api import expect

from tests.assistant.helpers import resolved_session
from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, add_step, open_session


async def test_ask_and_writeup_in_the_session_view(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    tech, admin = team["tech"], team["admin"]
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        past = await resolved_session(
            client,
            factory.db,
            tech,
            resolver=admin,
            title="Outlook keeps asking for password",
            problem="Outlook 365 password prompt loop after MFA was enabled",
            resolution="Removed cached Office credentials in Credential Manager",
            actions=[("Cleared Credential Manager", "Outlook connected")],
            when=factory.clock.now() - timedelta(days=2),
        )
        s = await open_session(
            client,
            tech,
            title="Outlook password prompt",
            problem="Since MFA, Outlook asks for the password again and again",
        )
        await add_step(client, tech, s["id"], kind="action", content="Restarted Outlook")

    page = await page_as(tech)
    await page.goto(f"/sessions/{s['id']}")
    panel = page.locator("#assistant-panel")
    await panel.get_by_label("Ask about this session").fill("What fixed this before?")
    await panel.get_by_role("button", name="Suggest next steps").click()

    answer = page.locator("#assistant-answer")
    await expect(answer).to_contain_text("Removed cached Office credentials")
    await expect(answer).to_contain_text(f"/sessions/{past}")
    await expect(answer).to_contain_text(f"resolved by {admin.name}")
    await expect(page.locator("#assistant-saved")).to_be_visible()
    last = page.locator("#timeline .timeline-item").last
    await expect(last.locator(".badge")).to_have_text("assistant")
    await expect(last).to_contain_text("Removed cached Office credentials")

    await page.reload()
    last = page.locator("#timeline .timeline-item").last
    await expect(last.locator(".author")).to_have_text("Assistant")
    await expect(page.locator("#timeline .timeline-item")).to_have_count(2)

    await page.locator("#assistant-writeup summary").click()
    await page.get_by_role("button", name="Draft write-up").click()
    writeup = page.get_by_label("Write-up")
    await expect(writeup).to_have_value(re.compile(r"Steps taken\n1\. Restarted Outlook"))
    await writeup.fill("Cleared the cached Office credentials; Outlook now signs in with MFA.")
    await page.get_by_role("button", name="Save as resolution").click()

    await expect(page.locator("#session-status")).to_have_text("resolved")
    await expect(page.locator(".resolution")).to_contain_text(
        "Cleared the cached Office credentials"
    )

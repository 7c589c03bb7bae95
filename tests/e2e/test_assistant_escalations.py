"""Suggested seniors on the live escalation queue cards and the assistant on the context screen."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from playwright.async_api import expect

from tests.assistant.helpers import resolved_session
from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, open_session


async def test_queue_cards_and_context_show_suggested_seniors(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    tech, eng, eng2 = team["tech"], team["eng"], team["eng2"]
    when = factory.clock.now() - timedelta(days=3)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for n, resolver in enumerate([eng, eng, eng, eng2]):
            await resolved_session(
                client,
                factory.db,
                tech,
                resolver=resolver,
                title=f"Label printer offline #{n}",
                problem="Zebra label printer offline, spooler stuck",
                resolution="Restarted the spooler and reinstalled the Zebra driver",
                when=when,
            )
        s = await open_session(
            client, tech, title="Zebra printer offline", problem="Label printer offline again"
        )
        escalated = await client.post(
            f"/api/v1/sessions/{s['id']}/handoff",
            json={"reason": "Still offline after a restart", "urgency": "high"},
            headers=tech.headers,
        )
        assert escalated.status_code == 201, escalated.text
        handoff_id = escalated.json()["id"]

    page = await page_as(eng2)
    await page.goto("/escalations")
    card = page.locator(f'article.handoff-card[data-handoff-id="{handoff_id}"]')
    hint = card.locator(".suggested-seniors")
    await expect(hint).to_contain_text(f"{eng.name} (resolved 3 similar)")
    await expect(hint).to_contain_text(f"{eng2.name} (resolved 1 similar)")

    await page.goto(f"/escalations/{handoff_id}")
    box = page.locator("[data-assistant-handoff]")
    await expect(box.locator("[data-seniors]")).to_contain_text(f"{eng.name} (resolved 3 similar)")
    steps = box.locator("[data-next-steps] li")
    await expect(steps.first).to_contain_text("reinstalled the Zebra driver")
    await expect(steps.first.locator("a")).to_have_attribute("href", re.compile(r"^/sessions/"))
    await expect(steps.first.locator(".assistant-why")).to_contain_text("matches on model: Zebra")
    await expect(box.locator("[data-generated-by]")).to_contain_text(
        "Suggested from 3 similar resolved sessions"
    )


async def test_card_arriving_live_is_annotated(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    """A card the live queue inserts after the page loaded (pushed over SSE) gets its
    suggested seniors too, without a reload."""
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for n in range(2):
            await resolved_session(
                client,
                factory.db,
                tech,
                resolver=eng,
                title=f"VPN drops #{n}",
                problem="FortiClient VPN disconnects every ten minutes",
                resolution="Lowered the MTU to 1400",
                when=factory.clock.now() - timedelta(days=1),
            )
        s = await open_session(client, tech, title="VPN keeps dropping", problem="FortiClient VPN")
        page = await page_as(team["admin"])
        await page.goto("/escalations")
        await expect(page.locator("article.handoff-card[data-handoff-id]")).to_have_count(0)
        await expect(page.locator("#queue-live-status")).to_contain_text("Live")
        escalated = await client.post(
            f"/api/v1/sessions/{s['id']}/handoff",
            json={"reason": "Drops during calls", "urgency": "normal"},
            headers=tech.headers,
        )
        assert escalated.status_code == 201, escalated.text
    handoff_id = escalated.json()["id"]
    cards = page.locator(f'article.handoff-card[data-handoff-id="{handoff_id}"]')
    await expect(cards).to_have_count(1)
    await expect(cards.locator(".suggested-seniors")).to_contain_text(
        f"{eng.name} (resolved 2 similar)"
    )

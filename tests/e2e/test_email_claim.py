"""Claim from the email in a real browser: open the link from the file mailbox, claim, land on
the handoff context (the real server's dispatcher wrote the email)."""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory


def _claim_links(folder: Path, to_email: str) -> list[str]:
    links = []
    for path in folder.glob("*.eml") if folder.exists() else []:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"].addresses[0].addr_spec != to_email:
            continue
        body = msg.get_body(("plain",))
        assert body is not None
        links += re.findall(r"https?://\S+/claim/[A-Za-z0-9_.\-]+", body.get_content())
    return links


async def test_open_the_link_from_the_mailbox_claim_and_land_on_the_context(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    async with httpx.AsyncClient(base_url=live_server.url, headers=team["tech"].headers) as api:
        r = await api.post(
            "/api/v1/sessions",
            json={"title": "Badge reader dead", "problem": "No LED", "customer": "Globex"},
        )
        assert r.status_code == 201, r.text
        r = await api.post(
            f"/api/v1/sessions/{r.json()['id']}/handoff",
            json={"reason": "Swapped the PSU, still dead", "urgency": "critical"},
        )
        assert r.status_code == 201, r.text
        handoff_id = r.json()["id"]
    links: list[str] = []
    for _ in range(100):  # the in-process dispatcher sends within a second or two
        links = await asyncio.to_thread(_claim_links, live_server.mailbox_dir, team["eng"].email)
        if links:
            break
        await asyncio.sleep(0.2)
    assert len(links) == 1, links

    page = await page_as(None)  # a mail client's browser: not logged in
    await page.goto(links[0])
    await expect(page.get_by_role("heading", name="Badge reader dead")).to_be_visible()
    await expect(page.locator("#claim-link")).to_contain_text("Swapped the PSU, still dead")
    results = await Axe().run(page)
    bad = [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#claimed-by-link")).to_contain_text("It is yours")
    await expect(page.locator("#handoff-context")).to_contain_text("Why it was escalated")
    async with httpx.AsyncClient(base_url=live_server.url, headers=team["eng"].headers) as api:
        got = (await api.get(f"/api/v1/handoffs/{handoff_id}")).json()
    assert got["status"] == "claimed" and got["claimed_by_id"] == team["eng"].id
    # Back and submit again: the link is spent and says who has it.
    await page.goto(links[0])
    await expect(page.locator("#claim-link-dead")).to_contain_text("claimed this")

"""The assistant in a real browser: a streamed answer arrives in the side panel and becomes a
step only when kept; the write-up's "Save as resolution" needs a real cause and fix."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import httpx
from playwright.async_api import Page, expect

from tests.assistant.helpers import resolved_session
from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory, add_step, open_session

# Counts the distinct texts the answer box shows while it streams (set up before asking).
WATCH_UPDATES = """() => {
  const box = document.getElementById("assistant-answer");
  window.__answerTexts = [];
  new MutationObserver(() => {
    const t = box.textContent;
    const seen = window.__answerTexts;
    if (t && seen[seen.length - 1] !== t) seen.push(t);
  }).observe(box, { childList: true, characterData: true, subtree: true });
}"""


async def _ask(page: Page, question: str) -> None:
    panel = page.locator("#assistant-panel")
    await panel.get_by_label("Ask about this session").fill(question)
    await panel.get_by_role("button", name="Suggest next steps").click()


async def test_a_kept_answer_becomes_a_step_and_an_unkept_one_does_not(
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
    timeline = page.locator("#timeline .timeline-item")
    await expect(timeline).to_have_count(1)
    await page.evaluate(WATCH_UPDATES)
    await _ask(page, "What fixed this before?")

    answer = page.locator("#assistant-answer")
    await expect(answer).to_contain_text("Removed cached Office credentials")
    await expect(answer).to_contain_text("Why it matches: model: Outlook")
    await expect(answer).to_contain_text(f"/sessions/{past}")
    await expect(answer).to_contain_text(f"resolved by {admin.name}")
    await expect(page.locator("#assistant-source")).to_contain_text(
        "Suggested from 1 similar resolved session"
    )
    await expect(answer).not_to_contain_text("[assistant keep]")
    # It streamed: the box showed the answer growing, line by line, before it was complete.
    updates = await page.evaluate("window.__answerTexts")
    assert len(updates) >= 4, updates
    assert all(b.startswith(a.rstrip()) for a, b in itertools.pairwise(updates))
    # Shown in the panel, not in the log.
    await expect(timeline).to_have_count(1)

    await page.get_by_role("button", name="Add to the session").click()
    await expect(page.locator("#assistant-saved")).to_be_visible()
    await expect(timeline).to_have_count(2)
    last = timeline.last
    await expect(last.locator(".badge")).to_have_text("assistant")
    await expect(last.locator(".author")).to_have_text("Assistant")
    await expect(last).to_contain_text("Removed cached Office credentials")

    # A second answer, not kept: gone after a reload, and the log holds only the kept one.
    await _ask(page, "Anything else?")
    await expect(answer).to_contain_text("You asked: Anything else?")
    await page.reload()
    await expect(timeline).to_have_count(2)
    await expect(page.locator("#timeline")).not_to_contain_text("You asked: Anything else?")
    await expect(timeline.last).to_contain_text("You asked: What fixed this before?")


async def test_save_as_resolution_needs_a_cause_and_a_fix(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    team = await factory.team()
    tech = team["tech"]
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        unknown = await open_session(
            client, tech, title="Scanner not found", problem="The scanner disappeared"
        )
        await add_step(client, tech, unknown["id"], kind="action", content="Rebooted the PC")
        await add_step(client, tech, unknown["id"], kind="result", content="Still not found")
        known = await open_session(
            client, tech, title="Outlook prompt loop", problem="Outlook asks for the password"
        )
        for kind, content in (
            ("note", "Prompt loop because an old registry key disables modern auth"),
            ("action", "Deleted the registry key"),
            ("result", "Outlook connected without a prompt"),
        ):
            await add_step(client, tech, known["id"], kind=kind, content=content)

    page = await page_as(tech)
    await page.goto(f"/sessions/{unknown['id']}")
    await page.locator("#assistant-writeup summary").click()
    save = page.get_by_role("button", name="Save as resolution")
    needs = page.locator("#writeup-needs")
    await expect(save).to_be_disabled()
    await page.get_by_role("button", name="Draft write-up").click()
    writeup = page.get_by_label("Write-up")
    await expect(writeup).to_have_value(re.compile(r"Steps taken\n1\. Rebooted the PC"))
    await expect(writeup).to_have_value(re.compile(r"Cause\n\(Not determined yet"))
    await expect(save).to_be_disabled()
    await expect(needs).to_have_text(
        "Fill in the Cause and the Fix before saving: the recorded steps do not show them."
    )
    # "Not resolved yet" is no fix either.
    draft = await writeup.input_value()
    draft = draft.replace("(Not determined yet: write what caused it.)", "A corrupt TWAIN driver")
    await writeup.fill(
        draft.replace("(Not found in the steps: write what fixed it.)", "Not resolved yet")
    )
    await expect(save).to_be_disabled()
    await expect(needs).to_contain_text("Fill in the Fix before saving")
    await writeup.fill(
        draft.replace(
            "(Not found in the steps: write what fixed it.)", "Reinstalled the scanner driver"
        )
    )
    await expect(save).to_be_enabled()
    await save.click()
    await expect(page.locator("#session-status")).to_have_text("resolved")
    await expect(page.locator(".resolution")).to_contain_text("Reinstalled the scanner driver")

    # Cause and fix a person recorded in the steps: ready to save as drafted.
    await page.goto(f"/sessions/{known['id']}")
    await page.locator("#assistant-writeup summary").click()
    await page.get_by_role("button", name="Draft write-up").click()
    await expect(page.get_by_label("Write-up")).to_have_value(
        re.compile(r"Fix\nDeleted the registry key \(result: Outlook connected without a prompt\)")
    )
    await expect(page.get_by_role("button", name="Save as resolution")).to_be_enabled()
    await expect(page.locator("#writeup-needs")).to_have_text(
        "Cause and Fix are filled in: ready to save."
    )

"""Escalation Mode in a real browser: escalate, claim, read the handoff context, act."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import LiveServer, PageAs
from tests.factories import Factory


async def test_escalate_claim_context_then_act(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    account = await factory.account()
    tech = await factory.user(account, role="technician", name="Tina Technician")
    eng = await factory.user(account, role="engineer", name="Erin Engineer")
    eng2 = await factory.user(account, role="engineer", name="Sam Second")

    async with httpx.AsyncClient(base_url=live_server.url, headers=tech.headers) as api:
        r = await api.post(
            "/api/v1/sessions",
            json={
                "title": "Label printer offline",
                "problem": "ZT410 offline after firmware update",
                "customer": "Northwind",
                "asset": "ZT410-0042",
                "environment": {"os": "Windows 11"},
            },
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        for kind, content in [
            ("action", "Power-cycled the printer"),
            ("result", "Still offline, error 0x1F"),
            ("note", "Is the VLAN change related?"),
        ]:
            step = await api.post(
                f"/api/v1/sessions/{sid}/steps", json={"kind": kind, "content": content}
            )
            assert step.status_code == 201

    # The technician escalates from the session view.
    tech_page = await page_as(tech)
    await tech_page.goto(f"/sessions/{sid}")
    await tech_page.locator("#escalate-open").click()
    form = tech_page.locator("#escalate-form")
    await form.get_by_label("Why are you escalating?").fill("Out of ideas after driver rollback")
    await form.get_by_label("high").check()
    await form.get_by_role("button", name="Send to the queue").click()
    await expect(tech_page.locator("#live-handoff-status")).to_have_text("open")
    await expect(tech_page.locator("#handoff-panel")).to_contain_text("Waiting for an engineer")

    async with httpx.AsyncClient(base_url=live_server.url, headers=tech.headers) as api:
        items = (await api.get(f"/api/v1/sessions/{sid}/handoffs")).json()["items"]
    handoff_id = items[0]["id"]
    assert items[0]["urgency"] == "high"

    # A second senior opens the context screen before anyone claims.
    late_page = await page_as(eng2)
    await late_page.goto(f"/escalations/{handoff_id}")
    await expect(late_page.locator("#claim-button")).to_be_visible()

    # The engineer claims from the queue and lands on the handoff context.
    eng_page = await page_as(eng)
    await eng_page.goto("/escalations")
    card = eng_page.locator(f"#handoff-{handoff_id}")
    await expect(card).to_contain_text("Out of ideas after driver rollback")
    await expect(card).to_contain_text("Tina Technician")
    await expect(card.locator('[data-field="urgency"]')).to_have_text("high")
    await card.get_by_role("button", name="Claim").click()
    await expect(eng_page).to_have_url(re.compile(rf"/escalations/{handoff_id}\?claimed=1$"))
    await expect(eng_page.locator("#ctx-problem")).to_contain_text(
        "ZT410 offline after firmware update"
    )
    await expect(eng_page.locator("#ctx-problem")).to_contain_text("Northwind")
    await expect(eng_page.locator("#ctx-tried .timeline-item")).to_have_count(3)
    await expect(eng_page.locator("#ctx-environment")).to_contain_text("Windows 11")
    await expect(eng_page.locator("#ctx-next")).to_contain_text("Is the VLAN change related?")
    await expect(eng_page.locator("#ctx-next")).to_contain_text("Still offline, error 0x1F")
    await expect(eng_page.locator("#claim-holder-name")).to_have_text("you")

    # ... and it dissolves into the session view, where the claimer acts.
    await eng_page.locator("#continue-button").click()
    await expect(eng_page).to_have_url(f"{live_server.url}/sessions/{sid}")
    await expect(eng_page.locator("#session-assignee")).to_have_text("You")
    step_form = eng_page.locator("#step-form")
    await step_form.get_by_label("Action").check()
    await step_form.get_by_label("What happened").fill("Moved the printer back to VLAN 20")
    await step_form.get_by_role("button", name="Add step").click()
    last = eng_page.locator("#timeline .timeline-item").last
    await expect(last).to_contain_text("Moved the printer back to VLAN 20")
    await expect(last.locator(".author")).to_have_text("Erin Engineer")

    # The second senior, still on the context screen, sees live who holds it: no Claim button.
    await expect(late_page.locator("#claim-holder-name")).to_have_text("Erin Engineer")
    await expect(late_page.locator("#handoff-status")).to_have_text("claimed")
    await expect(late_page.locator("#claim-button")).to_be_hidden()

    # The technician's session view shows who took it and the audit timeline.
    await tech_page.reload()
    await expect(tech_page.locator("#live-handoff-claimer")).to_have_text("Erin Engineer")
    await expect(tech_page.locator('[data-event-type="handoff.claimed"]')).to_contain_text(
        "Erin Engineer"
    )


async def test_claim_on_context_screen_dissolves_into_session(
    page_as: PageAs, factory: Factory, live_server: LiveServer
) -> None:
    account = await factory.account()
    tech = await factory.user(account, role="technician", name="Tom Tech")
    admin = await factory.user(account, role="admin", name="Ada Admin")
    async with httpx.AsyncClient(base_url=live_server.url, headers=tech.headers) as api:
        sid = (
            await api.post("/api/v1/sessions", json={"title": "VPN drops", "problem": "Hourly"})
        ).json()["id"]
        r = await api.post(
            f"/api/v1/sessions/{sid}/handoff",
            json={"reason": "Need network eyes", "urgency": "low"},
        )
        handoff_id = r.json()["id"]

    for motion in ("no-preference", "reduce"):
        page = await page_as(admin)
        await page.emulate_media(reduced_motion=motion)
        await page.goto(f"/escalations/{handoff_id}")
        await expect(page.locator("#ctx-problem")).to_contain_text("Need network eyes")
        if motion == "no-preference":
            await page.locator("#claim-button").click()
            # The screen fades out before the session view opens.
            await expect(page.locator("#handoff-context.dissolving")).to_have_count(1)
        else:
            await page.locator("#continue-button").click()
        await expect(page).to_have_url(f"{live_server.url}/sessions/{sid}")
        await expect(page.locator("#session-assignee")).to_have_text("You")
        await expect(page.locator("#step-form")).to_be_visible()

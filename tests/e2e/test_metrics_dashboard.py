"""Metrics in a real browser: the stat card on the queue and the baseline form on the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import expect
from sqlalchemy import update

from flowpilot.models import Account
from tests.analytics.timeline import Timeline
from tests.e2e.conftest import PageAs
from tests.factories import Factory


async def test_stat_card_and_baseline_form(page_as: PageAs, factory: Factory, db) -> None:  # type: ignore[no-untyped-def]
    team = await factory.team()
    eng = team["eng"]
    # The third escalation is claimed with no first action by its holder: the live server's
    # idle guard would release it (two days later) while the page loads. Release off.
    async with db() as session:
        await session.execute(
            update(Account)
            .where(Account.id == eng.account_id)
            .values(idle_claim_release_minutes=None)
        )
        await session.commit()
    # The live server runs on the real clock: build the timeline relative to real time.
    tl = Timeline(factory, team["tech"], datetime.now(UTC) - timedelta(days=2))
    tl.escalation(created=0, claimed=60, claimer=eng, steps=[(90, eng)])  # 30 s
    tl.escalation(created=1000, claimed=1100, claimer=eng, steps=[(1190, eng)])  # 90 s
    tl.escalation(created=2000, claimed=2010, claimer=eng, steps=[(2020, team["admin"])])
    await tl.save()

    page = await page_as(eng)
    await page.goto("/escalations")
    card = page.locator("#stat-card")
    # Filled in by /static/metrics.js from the analytics API.
    await expect(card.locator('[data-field="n_with_action"]')).to_have_text("2")
    await expect(card.locator('[data-field="n_claimed"]')).to_have_text("3")
    await expect(card.locator('[data-field="avg"]')).to_have_text("1m 00s")
    await expect(card.locator('[data-field="median"]')).to_have_text("1m 00s")
    await card.get_by_text("How this is measured").click()
    await expect(card.locator('[data-field="definition"]')).to_contain_text("final claim")

    await page.get_by_role("link", name="Metrics").click()
    await expect(page.locator("h1")).to_have_text("Escalation metrics")
    await expect(page.locator("#weekly-chart")).to_be_visible()
    await expect(page.locator("#verdict")).to_have_text("Not enough data yet")

    form = page.locator("#baseline-add")
    await form.get_by_label("Time").fill("15:00")
    await form.get_by_label("Note").fill("phone call, printer")
    await form.get_by_role("button", name="Add observation").click()
    rows = page.locator("#baseline-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("15m 00s")
    await expect(rows.first).to_contain_text("phone call, printer")
    await expect(page.locator("#n-baseline")).to_have_text("n = 1 observation")

    await rows.first.get_by_text("Edit").click()
    await rows.first.locator('input[name="duration"]').fill("20:00")
    await rows.first.get_by_role("button", name="Save").click()
    await expect(page.locator("#baseline-table tbody tr").first).to_contain_text("20m 00s")

    await (
        page.locator("#baseline-table tbody tr").first.get_by_role("button", name="Delete").click()
    )
    await expect(page.locator("#baseline-empty")).to_be_visible()

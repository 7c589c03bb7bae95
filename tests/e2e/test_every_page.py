"""Every page on a laptop (1280x800) and a phone (390x844): no sideways scrolling, axe-core finds
no serious or critical violation (nor a skipped heading level or a missing h1), the handoff
context starts all four sections on one laptop screen, the claimer adds a step before resolving."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from tests.e2e.conftest import LAPTOP, PHONE, LiveServer, PageAs
from tests.factories import Factory, TestUser

# Failing impacts, plus the heading rules this product holds itself to.
FAILING_IMPACTS = ("serious", "critical")
ALSO_FAILING = ("heading-order", "page-has-heading-one")


async def _api(server: LiveServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _scenario(server: LiveServer, team: dict[str, TestUser]) -> dict[str, str]:
    """Sessions, steps, an environment and escalations in every state the pages show."""
    tech, eng = team["tech"], team["eng"]
    environment = {
        "os": "Windows 11 23H2",
        "driver": "HP Universal Printing PCL 6 (v7.1.0.25570)",
        "print_server": "PRINTSRV-03.corp.example.test",
        "queue": r"\\PRINTSRV-03\Floor3-HP-M507-ColourDuplex-Secure",
    }
    s = await _api(
        server,
        tech,
        "POST",
        "/api/v1/sessions",
        json={
            "title": "Printer offline after firmware update",
            "problem": "The whole third floor cannot print since the firmware update last night.",
            "customer": "Acme Dental Group",
            "asset": "HP LaserJet M507 #F3-01",
            "environment": environment,
        },
    )
    for i in range(14):
        await _api(
            server,
            tech,
            "POST",
            f"/api/v1/sessions/{s['id']}/steps",
            json={
                "kind": ("note", "action", "result")[i % 3],
                "content": f"Step {i}: cleared the spooler, reinstalled the driver and "
                "power-cycled the printer; the queue still shows offline on every client.",
            },
        )
    h = await _api(
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{s['id']}/handoff",
        json={
            "reason": "Rolled back the driver, still offline; need the print server",
            "urgency": "critical",
        },
    )
    claimed_session = await _api(
        server,
        tech,
        "POST",
        "/api/v1/sessions",
        json={"title": "VPN drops", "problem": "Every 5 min"},
    )
    claimed = await _api(
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{claimed_session['id']}/handoff",
        json={"reason": "DPD failures", "urgency": "high"},
    )
    await _api(server, eng, "POST", f"/api/v1/handoffs/{claimed['id']}/claim")
    return {"session": s["id"], "handoff": h["id"], "claimed_session": claimed_session["id"]}


async def _check(page: Page, path: str, viewport: dict[str, int]) -> list[str]:
    await page.goto(path)
    # Live pages keep a streaming request open (never "networkidle"): wait until the page is
    # loaded and every live connection line has settled (live, or not on this page at all).
    await page.wait_for_load_state("load")
    await page.wait_for_function(
        "!document.querySelector('.live-indicator[data-state=\"connecting\"]')"
    )
    problems = []
    widths = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        problems.append(f"{path} at {viewport['width']} px scrolls sideways: {widths}")
    results = await Axe().run(page)
    for v in results.response["violations"]:
        if v["impact"] in FAILING_IMPACTS or v["id"] in ALSO_FAILING:
            targets = [n["target"] for n in v["nodes"][:3]]
            problems.append(
                f"{path} at {viewport['width']} px: {v['id']} ({v['impact']}) {targets}"
            )
    return problems


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
async def test_every_page_fits_and_passes_axe(
    live_server: LiveServer, page_as: PageAs, factory: Factory, viewport: dict[str, int]
) -> None:
    team = await factory.team()
    ids = await _scenario(live_server, team)
    pages = [
        (None, "/login"),
        (team["tech"], "/sessions"),
        (team["tech"], f"/sessions/{ids['session']}"),
        (team["eng"], f"/sessions/{ids['claimed_session']}"),  # the claimer's session view
        (team["eng"], "/escalations"),
        (team["eng"], "/escalations?view=all"),
        (team["eng"], f"/escalations/{ids['handoff']}"),
        (team["eng"], "/metrics-dashboard"),
        (team["eng"], "/settings"),
        (team["admin"], "/settings"),
        (team["admin"], "/admin/users"),
        (team["eng"], "/sessions/no-such-session"),  # the error page
    ]
    problems: list[str] = []
    opened: dict[str | None, Page] = {}
    for user, path in pages:
        key = user.id if user else None
        if key not in opened:
            opened[key] = await page_as(user, viewport=viewport)
        problems += await _check(opened[key], path, viewport)
    assert not problems, "\n".join(problems)


async def test_handoff_context_starts_all_four_sections_on_one_laptop_screen(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    ids = await _scenario(live_server, team)
    page = await page_as(team["eng"], viewport=LAPTOP)
    await page.goto(f"/escalations/{ids['handoff']}")
    await expect(page.locator("h1")).to_have_text("Printer offline after firmware update")
    for section in ("ctx-problem", "ctx-tried", "ctx-environment", "ctx-next"):
        heading = page.locator(f"#{section} h2")
        box = await heading.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800, (section, box)
    # The long history scrolls inside its section, and keys can scroll it (it takes focus).
    tried = page.locator("#ctx-tried")
    assert await tried.evaluate("el => el.scrollHeight > el.clientHeight")
    await tried.focus()
    await page.keyboard.press("End")
    await page.wait_for_function("document.getElementById('ctx-tried').scrollTop > 0")


async def test_the_claimer_adds_a_step_before_resolving(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    ids = await _scenario(live_server, team)
    for viewport in (LAPTOP, PHONE):
        page = await page_as(team["eng"], viewport=viewport)
        await page.goto(f"/sessions/{ids['claimed_session']}")
        step = await page.get_by_role("heading", name="Add a step").bounding_box()
        resolve = await page.locator("#resolve-form").bounding_box()
        assert step is not None and resolve is not None
        assert step["y"] < resolve["y"], (viewport, step, resolve)
        if viewport is LAPTOP:
            assert step["y"] + step["height"] <= 800, step  # on the first screen
        form = page.locator("#resolve-form")
        await form.get_by_role("button", name="Resolve escalation and session").click()
        await expect(form.locator("#resolve-error")).to_have_text(
            "Resolution is required: say what fixed it."
        )


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  let bg = null;
  for (let n = el.parentElement; n && !bg; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') bg = c;
  }
  return { tag: el.tagName + (el.id ? '#' + el.id : ''), color: s.outlineColor,
           width: parseFloat(s.outlineWidth), style: s.outlineStyle,
           bg: bg || 'rgb(255, 255, 255)' };
}"""


def _rgb(css: str) -> tuple[float, float, float]:
    parts = css[css.index("(") + 1 : css.index(")")].split(",")
    return (float(parts[0]), float(parts[1]), float(parts[2]))


async def test_focus_rings_stand_out_at_least_3_to_1(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    team = await factory.team()
    page = await page_as(team["admin"])
    await page.goto("/settings")
    seen = []
    for _ in range(14):  # links in the top bar, then the form's fields and buttons
        await page.keyboard.press("Tab")
        ring = await page.evaluate(FOCUS_STYLE)
        seen.append(ring["tag"])
        assert ring["style"] != "none" and ring["width"] >= 2, ring
        ratio = _contrast(_rgb(ring["color"]), _rgb(ring["bg"]))
        assert ratio >= 3, (ring, round(ratio, 2))
    assert any(tag.startswith("INPUT") for tag in seen), seen


async def test_the_chart_stays_legible_on_a_phone(
    live_server: LiveServer, page_as: PageAs, factory: Factory
) -> None:
    eng = await factory.user(role="engineer")
    page = await page_as(eng, viewport=PHONE)
    await page.goto("/metrics-dashboard")
    heights = await page.evaluate(
        """() => [...document.querySelectorAll('#weekly-chart text')]
             .map(t => t.getBoundingClientRect().height)
             .filter(h => h > 0)"""
    )
    assert heights and min(heights) >= 10, heights  # rendered text at least ~10 px tall
    await expect(page.locator(".chart-legend")).to_contain_text("Median time to first action")

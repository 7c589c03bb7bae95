"""Server-rendered escalation pages: queue markup contract, context screen, session panel."""

from __future__ import annotations

import re

from tests.factories import add_step, open_session
from tests.handoffs.helpers import escalate, escalated, post


def _cookie(client, user) -> None:  # type: ignore[no-untyped-def]
    client.cookies.set("flowpilot_session", user.token)


async def test_queue_page_cards_and_template(client, factory, clock):
    team = await factory.team()
    h = await escalated(client, team["tech"], customer="Northwind")
    clock.advance(minutes=7)
    _cookie(client, team["eng"])
    r = await client.get("/escalations", headers={"accept": "text/html"})
    assert r.status_code == 200, r.text
    html = r.text
    assert '<section id="queue"' in html and 'data-status-filter="open"' in html
    card = re.search(rf'<article class="handoff-card[^"]*"\s+id="handoff-{h["id"]}"[^>]*>', html)
    assert card, html
    tag = card.group(0)
    for attr in ("data-handoff-id", 'data-status="open"', 'data-urgency="high"', "data-created-at"):
        assert attr in tag
    assert "Northwind" in html and team["tech"].name in html and "7m" in html
    assert 'data-action="claim"' in html
    template = html[html.index('<template id="handoff-card-template">') :]
    for field in (
        "reason",
        "session_title",
        "customer",
        "escalated_by_name",
        "urgency",
        "status",
        "age",
        "claimed_by_name",
    ):
        assert f'data-field="{field}"' in template
    assert '<script type="module" src="/static/escalations_live.js"></script>' in html
    client.cookies.clear()


async def test_queue_page_status_filter_and_role_gate(client, factory):
    team = await factory.team()
    h = await escalated(client, team["tech"])
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    _cookie(client, team["admin"])
    open_html = (await client.get("/escalations")).text
    assert f'id="handoff-{h["id"]}"' not in open_html
    claimed_html = (await client.get("/escalations?status=claimed")).text
    assert f'id="handoff-{h["id"]}"' in claimed_html and team["eng"].name in claimed_html
    _cookie(client, team["tech"])
    assert (await client.get("/escalations")).status_code == 403
    client.cookies.clear()
    anon = await client.get("/escalations", follow_redirects=False)
    assert anon.status_code == 303 and anon.headers["location"].startswith("/login")


async def test_context_page_sections_and_claim_state(client, factory):
    team = await factory.team()
    s = await open_session(client, team["tech"], environment={"os": "Ubuntu 22.04"})
    await add_step(client, team["tech"], s["id"], kind="result", content="Ping fails")
    h = (await escalate(client, team["tech"], s["id"], reason="No idea why")).json()
    _cookie(client, team["eng2"])
    html = (await client.get(f"/escalations/{h['id']}")).text
    for section in ("ctx-problem", "ctx-tried", "ctx-environment", "ctx-next"):
        assert f'id="{section}"' in html
    assert "Ping fails" in html and "Ubuntu 22.04" in html and "No idea why" in html
    assert 'id="claim-button"' in html
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    html = (await client.get(f"/escalations/{h['id']}")).text
    assert 'id="claim-button"' not in html
    assert f'Claimed by <strong id="claim-holder-name">{team["eng"].name}</strong>' in html
    other_tech = await factory.user(team["tech"].account_id, role="technician")
    _cookie(client, other_tech)
    assert (await client.get(f"/escalations/{h['id']}")).status_code == 403
    client.cookies.clear()


async def test_session_view_panel(client, factory):
    team = await factory.team()
    tech = team["tech"]
    s = await open_session(client, tech)
    _cookie(client, tech)
    html = (await client.get(f"/sessions/{s['id']}")).text
    assert 'id="handoff-panel"' in html and 'id="escalate-form"' in html
    h = (await escalate(client, tech, s["id"], reason="Need help with VLAN")).json()
    html = (await client.get(f"/sessions/{s['id']}")).text
    assert 'id="escalate-form"' not in html
    assert 'data-handoff-action="cancel"' in html
    assert "Waiting for an engineer" in html and "Need help with VLAN" in html
    await post(client, team["eng"], f"/api/v1/handoffs/{h['id']}/claim")
    html = (await client.get(f"/sessions/{s['id']}")).text
    assert f'Claimed by <strong id="live-handoff-claimer">{team["eng"].name}</strong>' in html
    assert 'data-event-type="handoff.claimed"' in html
    client.cookies.clear()

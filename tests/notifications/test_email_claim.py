"""Claim from the email: the link each escalation email carries, over a real SMTP server.

GET shows and changes nothing; POST claims as the recipient (an ordinary claim); every misuse
is refused in words with nothing changed.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import ClaimLink, Event, Handoff
from flowpilot.notifications.dispatcher import run_chain_once, run_once, take_due
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, TestUser, add_step, open_session
from tests.handoffs.helpers import escalate, handoff_row, post, session_row
from tests.notifications.helpers import SmtpServer

LINK = re.compile(r"http://testserver(/claim/[A-Za-z0-9_.\-]+)")


async def _mailed(
    client: httpx.AsyncClient,
    factory: Factory,
    ctx: AppContext,
    smtp_server: SmtpServer,
    team: dict[str, TestUser] | None = None,
) -> tuple[dict[str, TestUser], dict[str, Any], dict[str, str]]:
    """An escalation emailed over SMTP: (team, handoff, {recipient email: claim link path})."""
    ctx.settings.smtp_url = smtp_server.url
    team = team or await factory.team()
    s = await open_session(client, team["tech"], title="Printer offline", customer="ACME GmbH")
    await add_step(client, team["tech"], s["id"], content="Reinstalled the driver")
    r = await escalate(client, team["tech"], s["id"], reason="Spooler keeps dying", urgency="high")
    assert r.status_code == 201, r.text
    seen = len(smtp_server.messages)
    assert await run_once(ctx) == 3
    links = {}
    for mail in smtp_server.messages[seen:]:
        text, html = mail.body("plain"), mail.body("html")
        found = LINK.findall(text)
        assert len(found) == 1 and found[0] in html, text
        links[mail.rcpt_tos[0]] = found[0]
    assert len(set(links.values())) == 3  # one link per recipient
    return team, r.json(), links


async def _state(db: async_sessionmaker[AsyncSession], handoff_id: str) -> tuple[Any, ...]:
    async with db() as s:
        h = (await s.execute(select(Handoff).where(Handoff.id == handoff_id))).scalar_one()
        n_events = (await s.execute(select(func.count()).select_from(Event))).scalar_one()
        used = (
            await s.execute(select(ClaimLink.id, ClaimLink.used_at).order_by(ClaimLink.id))
        ).all()
    return h.status, h.claimed_by_id, h.claimed_at, n_events, tuple(used)


async def test_claim_from_the_email_as_its_recipient(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    team, h, links = await _mailed(client, factory, ctx, smtp_server)
    eng, eng2 = team["eng"], team["eng2"]
    async with db() as s:
        stored = (await s.execute(select(ClaimLink.token_hash))).scalars().all()
    assert all(link.rsplit(".", 1)[1] not in stored for link in links.values())  # hashed
    clock.advance(minutes=4)
    before = await _state(db, h["id"])
    page = await client.get(links[eng.email])
    assert page.status_code == 200, page.text
    for fact in ("Printer offline", "ACME GmbH", "high", "Spooler keeps dying", "4m"):
        assert fact in page.text
    assert page.text.count('id="claim-link-button"') == 1
    assert await _state(db, h["id"]) == before  # a GET (a mail scanner) changes nothing

    done = await client.post(links[eng.email])
    assert done.status_code == 200, done.text
    assert "Reinstalled the driver" in done.text and "Log in to continue" in done.text
    assert "set-cookie" not in done.headers  # no login was made
    row = await handoff_row(db, h["id"])
    assert row.status == "claimed" and row.claimed_by_id == eng.id
    assert row.claimed_at == clock.now()
    assert (await session_row(db, h["session_id"])).assignee_id == eng.id
    async with db() as s:
        stmt = select(Event).where(Event.handoff_id == h["id"]).order_by(Event.id)
        events = list((await s.execute(stmt)).scalars().all())
    assert [e.type for e in events] == ["handoff.created", "handoff.claimed"]
    assert events[-1].actor_id == eng.id  # the same event as any claim
    stats = await client.get("/api/v1/analytics/escalations", headers=eng.headers)
    assert stats.json()["time_to_claim"]["median_seconds"] == 240.0  # the same metrics

    # Reused, and the other recipients' links: dead, in words, nothing changed.
    clock.advance(minutes=2)
    after = await _state(db, h["id"])
    again = await client.post(links[eng.email])
    assert again.status_code == 410 and "You claimed this 2 minutes ago." in again.text
    other = await client.get(links[eng2.email])
    assert other.status_code == 410
    assert f"{eng.name} claimed this 2 minutes ago." in other.text
    other = await client.post(links[eng2.email])
    assert other.status_code == 410 and f"{eng.name} claimed this" in other.text
    assert await _state(db, h["id"]) == after
    # Further actions need an ordinary login.
    step = await client.post(
        f"/api/v1/sessions/{h['session_id']}/steps", json={"kind": "note", "content": "x"}
    )
    assert step.status_code == 401


async def test_link_misuse_is_refused_in_words_and_changes_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    team, h, links = await _mailed(client, factory, ctx, smtp_server)
    eng, eng2, admin = team["eng"], team["eng2"], team["admin"]
    other_team, other_h, other_links = await _mailed(client, factory, ctx, smtp_server)
    link = links[eng.email]
    account_id, secret = link.removeprefix("/claim/").split(".", 1)
    tampered = {
        "secret changed": f"/claim/{account_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        "another account's prefix": f"/claim/{other_team['eng'].account_id}.{secret}",
        "no account part": f"/claim/{secret}",
        "garbage": "/claim/x",
        "too long": f"/claim/{account_id}.{'a' * 300}",
    }
    before = await _state(db, h["id"])
    other_before = await _state(db, other_h["id"])
    for why, url in tampered.items():
        for method in ("GET", "POST"):
            r = await client.request(method, url)
            assert r.status_code == 404, (why, method, r.text)
            assert "This link is not valid" in r.text, why
    assert await _state(db, h["id"]) == before
    assert await _state(db, other_h["id"]) == other_before

    # Another user signed in opening this recipient's link: it can only claim for its recipient.
    client.cookies.set("flowpilot_session", eng2.token)
    r = await client.post(links[admin.email])
    assert r.status_code == 200
    assert (await handoff_row(db, h["id"])).claimed_by_id == admin.id
    client.cookies.clear()

    # Expired: 24 hours after its email.
    clock.advance(hours=24, seconds=1)
    before = await _state(db, other_h["id"])
    for method in ("GET", "POST"):
        r = await client.request(method, other_links[other_team["eng"].email])
        assert r.status_code == 410 and "This link expired" in r.text
    assert await _state(db, other_h["id"]) == before


async def test_links_die_with_the_escalation_or_the_recipient(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    team = await factory.team()
    eng, admin = team["eng"], team["admin"]
    # Resolved.
    _, resolved, links = await _mailed(client, factory, ctx, smtp_server, team)
    assert (
        await post(client, admin, f"/api/v1/handoffs/{resolved['id']}/claim")
    ).status_code == 200
    r = await post(
        client, admin, f"/api/v1/handoffs/{resolved['id']}/resolve", {"resolution": "Cable"}
    )
    assert r.status_code == 200
    before = await _state(db, resolved["id"])
    for method in ("GET", "POST"):
        r = await client.request(method, links[eng.email])
        assert r.status_code == 410 and "This escalation was resolved" in r.text
    assert await _state(db, resolved["id"]) == before
    # Withdrawn.
    _, withdrawn, links = await _mailed(client, factory, ctx, smtp_server, team)
    assert (
        await post(client, team["tech"], f"/api/v1/handoffs/{withdrawn['id']}/cancel")
    ).status_code == 200
    before = await _state(db, withdrawn["id"])
    for method in ("GET", "POST"):
        r = await client.request(method, links[eng.email])
        assert r.status_code == 410 and f"{team['tech'].name} withdrew this escalation" in r.text
    assert await _state(db, withdrawn["id"]) == before
    # Recipient deactivated after the email went out.
    _, live, links = await _mailed(client, factory, ctx, smtp_server, team)
    r = await client.patch(f"/api/v1/users/{eng.id}", json={"active": False}, headers=admin.headers)
    assert r.status_code == 200, r.text
    before = await _state(db, live["id"])
    for method in ("GET", "POST"):
        r = await client.request(method, links[eng.email])
        assert r.status_code == 410 and "can no longer claim" in r.text
    assert await _state(db, live["id"]) == before
    # The re-notification carries fresh links, which work.
    clock.advance(minutes=10)
    assert await run_chain_once(ctx) >= 1
    seen = len(smtp_server.messages)
    assert await run_once(ctx) == 2  # eng2 and the admin (eng is deactivated)
    renotified = {m.rcpt_tos[0]: LINK.findall(m.body("plain")) for m in smtp_server.messages[seen:]}
    fresh = renotified[team["eng2"].email]
    assert len(fresh) == 1 and fresh[0] != links[team["eng2"].email]
    assert (await client.post(fresh[0])).status_code == 200
    assert (await handoff_row(db, live["id"])).claimed_by_id == team["eng2"].id


async def test_a_resent_email_carries_a_fresh_link_and_none_once_its_link_was_used(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    ctx.settings.smtp_url = smtp_server.url
    team = await factory.team()
    eng, eng2 = team["eng"], team["eng2"]
    s = await open_session(client, team["tech"], title="Printer offline")
    r = await escalate(client, team["tech"], s["id"], reason="Spooler keeps dying")
    assert r.status_code == 201, r.text
    h = r.json()
    # A worker leases the emails (issuing their links) and dies before sending any.
    leased = await take_due(ctx)
    first = {j.recipient_email: LINK.findall(j.claim_link or "") for j in leased}
    assert all(len(found) == 1 for found in first.values()), first
    # eng's link reached eng some other way and was used; eng then let go of the escalation.
    assert (await client.post(first[eng.email][0])).status_code == 200
    assert (await post(client, eng, f"/api/v1/handoffs/{h['id']}/release")).status_code == 200
    assert (await handoff_row(db, h["id"])).status == "open"

    clock.advance(seconds=ctx.settings.delivery_sending_timeout_seconds + 1)  # lease expired
    assert await run_once(ctx) == 3
    mailed = {m.rcpt_tos[0]: LINK.findall(m.body("plain")) for m in smtp_server.messages}
    assert mailed[eng.email] == []  # a used link is not issued again
    fresh = mailed[eng2.email]
    assert len(fresh) == 1 and fresh != first[eng2.email]
    stale = await client.post(first[eng2.email][0])  # the unsent attempt's link stopped working
    assert stale.status_code == 404 and "This link is not valid" in stale.text
    async with db() as session:
        assert (await session.execute(select(func.count(ClaimLink.id)))).scalar_one() == 3
    assert (await client.post(fresh[0])).status_code == 200
    assert (await handoff_row(db, h["id"])).claimed_by_id == eng2.id

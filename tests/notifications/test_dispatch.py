"""The dispatcher: email through a real SMTP server or the file mailbox, retries, dead, crash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import Delivery
from flowpilot.notifications.dispatcher import run_once, take_due
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, TestUser, open_session
from tests.notifications.helpers import Mail, SmtpServer, deliveries, escalate, user_emails
from tests.servers import free_port


def list_files(folder: Path) -> dict[str, bytes]:
    """Every file in the folder (temp files included, so a leftover would show)."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


async def _escalated(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> tuple[dict[str, TestUser], str]:
    team = await factory.team()
    ai = await open_session(
        client, team["tech"], title="Printer offline", customer="ACME GmbH", asset="HP-4040"
    )
    handoff_id = await escalate(
        db, owner=team["tech"], session_id=ai["id"], now=clock.now(), urgency="critical"
    )
    return team, handoff_id


async def test_emails_arrive_over_smtp_with_both_bodies_and_the_link(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    ctx.settings.smtp_url = smtp_server.url
    team, handoff_id = await _escalated(client, factory, db, clock)

    assert await run_once(ctx) == 3
    mails = smtp_server.messages
    expected = {team["eng"].email, team["eng2"].email, team["admin"].email}
    assert sorted(r for m in mails for r in m.rcpt_tos) == sorted(expected)
    link = f"http://testserver/escalations/{handoff_id}"
    for mail in mails:
        assert mail.message["Subject"] == "[FlowPilot] critical escalation: Printer offline"
        assert mail.message["From"] == ctx.settings.mail_from
        text, html = mail.body("plain"), mail.body("html")
        assert link in text and f'href="{link}"' in html.replace("'", '"')
        assert "ACME GmbH" in text and "HP-4040" in html and team["tech"].name in text
    rows = await deliveries(db, handoff_id)
    assert all(d.status == "sent" and d.sent_at == clock.now() and d.attempts == 1 for d in rows)
    assert {m.delivery_id for m in mails} == {d.id for d in rows}

    response = await client.get(
        f"/api/v1/handoffs/{handoff_id}/deliveries", headers=team["eng"].headers
    )
    assert response.json()["summary"] == "emailed 3 seniors"

    # A sent delivery is never sent again, however much later the dispatcher runs.
    clock.advance(days=2)
    assert await run_once(ctx) == 0
    assert len(smtp_server.messages) == 3


async def _mail_three_one_at_a_time(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> tuple[list[Mail], Sequence[Delivery]]:
    """One dispatcher round mailing three seniors, one send at a time: (mails, deliveries)."""
    ctx.settings.smtp_url = smtp_server.url
    ctx.settings.delivery_concurrency = 1
    _, handoff_id = await _escalated(client, factory, db, clock)
    assert await run_once(ctx) == 3
    return smtp_server.messages, await deliveries(db, handoff_id)


async def test_one_round_reuses_its_smtp_connections(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    """Three seniors mailed one at a time: one SMTP connection (handshake, TLS, login once)."""
    mails, rows = await _mail_three_one_at_a_time(client, factory, db, clock, ctx, smtp_server)
    assert len(mails) == 3
    assert len({m.peer for m in mails}) == 1
    assert all(d.status == "sent" for d in rows)


async def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_lost(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    smtp_server.collector.hang_up_after_each = True
    mails, rows = await _mail_three_one_at_a_time(client, factory, db, clock, ctx, smtp_server)
    assert sorted(m.delivery_id for m in mails) == sorted(d.id for d in rows)  # each once
    assert len({m.peer for m in mails}) == 3
    assert all(d.status == "sent" and d.attempts == 1 for d in rows)


async def test_default_mailbox_writes_one_eml_per_delivery(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    assert ctx.settings.smtp_url is None
    _, handoff_id = await _escalated(client, factory, db, clock)
    assert await run_once(ctx) == 3
    rows = await deliveries(db, handoff_id)
    files = list_files(Path(ctx.settings.mailbox_dir))
    assert sorted(files) == sorted(f"{d.id}.eml" for d in rows)
    to = set()
    for raw in files.values():
        msg = message_from_bytes(raw, policy=policy.default)
        to.add(msg["To"].addresses[0].addr_spec)
        assert msg.get_body(("plain",)) is not None and msg.get_body(("html",)) is not None
        assert f"/escalations/{handoff_id}" in msg.get_body(("plain",)).get_content()
    assert to == await user_emails(db, [d.recipient_id for d in rows])


async def test_smtp_down_retries_with_backoff_then_dead_visible_in_api(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    ctx.settings.smtp_url = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    ctx.settings.smtp_timeout_seconds = 2
    team, handoff_id = await _escalated(client, factory, db, clock)
    base = ctx.settings.delivery_backoff_base_seconds
    max_attempts = ctx.settings.delivery_max_attempts

    for attempt in range(1, max_attempts + 1):
        assert await run_once(ctx) == 3, f"attempt {attempt}"
        rows = await deliveries(db, handoff_id)
        assert all(d.attempts == attempt for d in rows)
        assert all("SMTP server unavailable" in (d.last_error or "") for d in rows)
        if attempt == max_attempts:
            assert all(d.status == "dead" for d in rows)
            break
        delay = min(ctx.settings.delivery_backoff_cap_seconds, base * 2 ** (attempt - 1))
        assert all(d.status == "failed" for d in rows)
        assert all(d.next_attempt_at == clock.now() + timedelta(seconds=delay) for d in rows)
        # Not before the back-off has passed...
        clock.advance(seconds=delay - 1)
        assert await run_once(ctx) == 0
        # ...and again right when it has.
        clock.advance(seconds=1)

    clock.advance(hours=1)
    assert await run_once(ctx) == 0  # dead is final

    response = await client.get(
        f"/api/v1/handoffs/{handoff_id}/deliveries", headers=team["admin"].headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["dead"] * 3
    assert all(
        i["attempts"] == max_attempts and i["next_attempt_at"] is None for i in body["items"]
    )
    assert all("SMTP server unavailable" in i["last_error"] for i in body["items"])
    assert body["summary"].startswith("3 failed: SMTP server unavailable")


async def test_mailbox_unavailable_is_a_failed_attempt(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the mailbox folder should be")
    ctx.settings.mailbox_dir = str(blocker)
    team, handoff_id = await _escalated(client, factory, db, clock)
    assert await run_once(ctx) == 3
    rows = await deliveries(db, handoff_id)
    assert all(d.status == "failed" and d.attempts == 1 for d in rows)
    assert all((d.last_error or "").startswith("mailbox unavailable") for d in rows)
    body = (
        await client.get(f"/api/v1/handoffs/{handoff_id}/deliveries", headers=team["tech"].headers)
    ).json()
    assert "3 retrying: mailbox unavailable" in body["summary"]

    # The folder comes back: the retry delivers.
    ctx.settings.mailbox_dir = str(tmp_path / "mailbox-ok")
    clock.advance(seconds=ctx.settings.delivery_backoff_base_seconds)
    assert await run_once(ctx) == 3
    assert all(d.status == "sent" and d.attempts == 2 for d in await deliveries(db, handoff_id))
    assert len(list_files(tmp_path / "mailbox-ok")) == 3


async def test_worker_killed_mid_send_is_delivered_exactly_once_after_restart(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
) -> None:
    ctx.settings.smtp_url = smtp_server.url
    _, handoff_id = await _escalated(client, factory, db, clock)

    # A worker takes the deliveries (committed: sending, locked_at) and dies before sending.
    leased = await take_due(ctx)
    assert len(leased) == 3
    rows = await deliveries(db, handoff_id)
    assert all(d.status == "sending" and d.locked_at == clock.now() for d in rows)

    # While its lease runs, nobody else sends them.
    clock.advance(seconds=ctx.settings.delivery_sending_timeout_seconds - 1)
    assert await run_once(ctx) == 0
    assert smtp_server.messages == []

    # After the timeout the restarted worker picks them up: each delivered exactly once.
    clock.advance(seconds=1)
    assert await run_once(ctx) == 3
    clock.advance(hours=1)
    assert await run_once(ctx) == 0
    ids = sorted(m.delivery_id for m in smtp_server.messages)
    assert ids == sorted(d.id for d in rows)
    assert all(d.status == "sent" and d.attempts == 2 for d in await deliveries(db, handoff_id))


async def test_a_worker_whose_lease_expired_cannot_overwrite_the_newer_outcome(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    from flowpilot.notifications.dispatcher import process

    _, handoff_id = await _escalated(client, factory, db, clock)
    slow = await take_due(ctx, limit=1)
    clock.advance(seconds=ctx.settings.delivery_sending_timeout_seconds)
    assert await run_once(ctx) == 3  # includes the slow worker's expired lease
    sent_at = clock.now()
    clock.advance(seconds=5)
    async with httpx.AsyncClient() as http:
        await process(ctx, slow[0], http)  # the slow worker finally finishes
    row = next(d for d in await deliveries(db, handoff_id) if d.id == slow[0].delivery_id)
    assert row.status == "sent" and row.attempts == 2 and row.sent_at == sent_at


async def test_recipient_deactivated_before_sending_is_skipped_not_failed(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
) -> None:
    team, handoff_id = await _escalated(client, factory, db, clock)
    response = await client.patch(
        f"/api/v1/users/{team['eng2'].id}", json={"active": False}, headers=team["admin"].headers
    )
    assert response.status_code == 200
    assert await run_once(ctx) == 3
    by_recipient = {d.recipient_id: d for d in await deliveries(db, handoff_id)}
    skipped = by_recipient[team["eng2"].id]
    assert (skipped.status, skipped.last_error) == ("skipped", "recipient deactivated")
    assert by_recipient[team["eng"].id].status == "sent"
    files = list_files(Path(ctx.settings.mailbox_dir))
    assert f"{skipped.id}.eml" not in files and len(files) == 2
    body = (
        await client.get(f"/api/v1/handoffs/{handoff_id}/deliveries", headers=team["eng"].headers)
    ).json()
    assert body["summary"] == "emailed 2 seniors · 1 skipped"

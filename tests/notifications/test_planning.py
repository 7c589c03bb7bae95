"""Who gets a delivery record when an escalation is created (and that it shares its fate)."""

from __future__ import annotations

import contextlib
import sqlite3

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import Account
from tests.factories import Factory, open_session
from tests.notifications.helpers import count_deliveries, deliveries, escalate, escalate_in


async def count_deliveries_elsewhere(
    db: async_sessionmaker[AsyncSession], database_url: str
) -> int:
    """Count from another connection while a writer holds its transaction open.

    On SQLite the app's engine begins every transaction IMMEDIATE (it would wait for the
    writer), so read through a plain sqlite3 connection, which WAL lets read concurrently.
    """
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    return await count_deliveries(db)


async def test_exact_recipients_per_channel_and_preferences(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    account = await factory.account()
    team = await factory.team(account)
    tech2 = await factory.user(account, role="technician")
    inactive = await factory.user(account, role="engineer", active=False)
    email_off = await factory.user(account, role="admin", notify_email=False)
    only_high = await factory.user(account, role="engineer", notify_min_urgency="high")
    other = await factory.team()  # another account: never told

    ai = await open_session(client, team["tech"])
    handoff_id = await escalate(
        db, owner=team["tech"], session_id=ai["id"], now=clock.now(), urgency="normal"
    )

    rows = await deliveries(db, handoff_id)
    assert {(d.channel, d.recipient_id) for d in rows} == {
        ("email", team["eng"].id),
        ("email", team["eng2"].id),
        ("email", team["admin"].id),
    }
    assert all(d.status == "pending" and d.attempts == 0 for d in rows)
    assert all(d.next_attempt_at == clock.now() for d in rows)
    assert all(d.recipient_key == f"user:{d.recipient_id}" for d in rows)
    excluded = {team["tech"].id, tech2.id, inactive.id, email_off.id, only_high.id}
    excluded |= {u.id for u in other.values()}
    assert not excluded & {d.recipient_id for d in rows}


async def test_minimum_urgency_is_inclusive_and_escalator_is_never_told(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    account = await factory.account()
    eng = await factory.user(account, role="engineer")
    only_high = await factory.user(account, role="engineer", notify_min_urgency="high")
    only_critical = await factory.user(account, role="admin", notify_min_urgency="critical")

    # An engineer escalates their own session: they are not notified about it.
    ai = await open_session(client, eng)
    handoff_id = await escalate(db, owner=eng, session_id=ai["id"], now=clock.now(), urgency="high")
    recipients = {d.recipient_id for d in await deliveries(db, handoff_id)}
    assert recipients == {only_high.id}
    assert only_critical.id not in recipients and eng.id not in recipients


async def test_webhook_delivery_when_enabled(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    async with db() as session:
        await session.execute(
            update(Account)
            .where(Account.id == team["tech"].account_id)
            .values(webhook_enabled=True, webhook_url="http://127.0.0.1:9/x", webhook_secret="s")
        )
        await session.commit()
    ai = await open_session(client, team["tech"])
    handoff_id = await escalate(db, owner=team["tech"], session_id=ai["id"], now=clock.now())
    rows = await deliveries(db, handoff_id)
    hooks = [d for d in rows if d.channel == "webhook"]
    assert len(hooks) == 1
    assert hooks[0].recipient_id is None and hooks[0].recipient_key == "webhook"
    assert len([d for d in rows if d.channel == "email"]) == 3


async def test_rolled_back_escalation_leaves_zero_deliveries(
    database_url: str,
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    ai = await open_session(client, team["tech"])
    async with db() as session:
        await escalate_in(session, owner=team["tech"], session_id=ai["id"], now=clock.now())
        # plan_deliveries flushed but never committed: another connection sees nothing yet.
        assert session.in_transaction()
        assert await count_deliveries_elsewhere(db, database_url) == 0
        await session.rollback()
    assert await count_deliveries(db) == 0

    # The same escalation committed does create them: the test above can fail.
    await escalate(db, owner=team["tech"], session_id=ai["id"], now=clock.now())
    assert await count_deliveries(db) == 3


async def test_rolled_back_escalation_through_the_escalate_service_plans_nothing(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    from flowpilot.handoffs import service as handoffs_service

    team = await factory.team()
    tech = team["tech"]
    ai = await open_session(client, tech)
    actor = tech.actor
    async with db() as session:
        await handoffs_service.escalate(
            session,
            actor=actor,
            session_id=ai["id"],
            reason="Stuck",
            urgency="high",
            now=clock.now(),
            bus=None,
        )
        await session.flush()
        await session.rollback()  # e.g. the request failed after the escalation was written
    assert await count_deliveries(db) == 0

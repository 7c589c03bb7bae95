"""Two dispatchers on separate connections never send the same delivery twice (500 deliveries).

On PostgreSQL the workers lease disjoint rows with FOR UPDATE SKIP LOCKED and really run side by
side; on SQLite their BEGIN IMMEDIATE transactions serialize, and the same test checks that the
status transitions alone keep it to one send per delivery.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.models import User
from flowpilot.notifications.dispatcher import run_once
from flowpilot.runtime.context import AppContext
from tests.factories import Factory, open_session, password_hash, two_workers
from tests.notifications.helpers import SmtpServer, deliveries, escalate

N_SENIORS = 100
N_ESCALATIONS = 5


async def _worker(ctx: AppContext) -> int:
    taken = 0
    while n := await run_once(ctx):
        taken += n
    return taken


async def test_two_workers_send_each_of_500_deliveries_exactly_once(
    client: httpx.AsyncClient,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    ctx: AppContext,
    smtp_server: SmtpServer,
    database_url: str,
    backend: str,
) -> None:
    account = await factory.account()
    async with db() as session:
        session.add_all(
            User(
                account_id=account.id,
                email=f"senior{i}@bulk.test",
                name=f"Senior {i}",
                role="engineer" if i % 4 else "admin",
                active=True,
                password_hash=password_hash(),
                created_at=clock.now(),
                notify_email=True,
                notify_min_urgency="low",
            )
            for i in range(N_SENIORS)
        )
        await session.commit()
    for _ in range(N_ESCALATIONS):
        tech = await factory.user(account, role="technician")
        ai = await open_session(client, tech)
        await escalate(db, owner=tech, session_id=ai["id"], now=clock.now())
    planned = await deliveries(db)
    assert len(planned) == N_SENIORS * N_ESCALATIONS == 500

    ctx.settings.smtp_url = smtp_server.url
    ctx.settings.delivery_batch_size = 20
    async with two_workers(ctx, database_url) as workers:
        taken = await asyncio.gather(*(_worker(w) for w in workers))

    sends = Counter(m.delivery_id for m in smtp_server.messages)
    final = await deliveries(db)
    not_sent = Counter((d.status, d.last_error) for d in final if d.status != "sent")
    assert not not_sent, not_sent
    assert sum(sends.values()) == 500
    assert set(sends) == {d.id for d in planned}
    assert max(sends.values()) == 1
    assert sum(taken) == 500
    if backend == "postgresql":
        assert all(n > 0 for n in taken), taken  # both really worked
    assert all(d.status == "sent" and d.attempts == 1 for d in final)

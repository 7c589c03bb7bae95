"""PostgreSQL: one account's event ids commit in id order (consumers dedupe by "id <= last")."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import service as events_service
from flowpilot.kernel.clock import FrozenClock
from tests.events.helpers import Tenant
from tests.factories import Factory
from tests.pg_locks import backend_pid, wait_until_blocked


async def _append(session: AsyncSession, account_id: str, clock: FrozenClock) -> int:
    event = await events_service.append(
        session, tenant=Tenant(account_id), type="handoff.created", payload={},
        now=clock.now(), bus=None,
    )  # fmt: skip
    return event.id


async def test_second_writer_of_an_account_waits_for_the_first_to_commit(
    db: async_sessionmaker[AsyncSession], factory: Factory, clock: FrozenClock, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite serialises all writers itself (BEGIN IMMEDIATE)")
    account = await factory.account()
    other = await factory.account()
    async with db() as first, db() as second, db() as third, db() as observer:
        first_id = await _append(first, account.id, clock)
        # Another account is not held up.
        other_id = await _append(third, other.id, clock)
        await third.commit()
        second_pid = await backend_pid(second)
        waiting = asyncio.create_task(_append(second, account.id, clock))
        await wait_until_blocked(observer, second_pid, locktype="advisory")
        assert not waiting.done()
        # It waits BEFORE its row takes an id from the sequence: no id is handed out while it
        # waits, so the id it gets is above every id committed before it.
        last = (await observer.execute(text("SELECT last_value FROM events_id_seq"))).scalar_one()
        await observer.rollback()
        assert last == max(first_id, other_id)
        await first.commit()
        second_id = await asyncio.wait_for(waiting, 10)
        await second.commit()
    assert first_id < second_id and other_id != second_id

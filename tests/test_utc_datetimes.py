"""Every datetime the database gives back is aware and in UTC, whatever the connection's time zone.

On PostgreSQL (asyncpg) ``UTCDateTime`` does no result processing at all: the driver already
decodes ``timestamptz`` as an aware UTC datetime. These hold it to that, and SQLite (stored
naive UTC) to the same answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.db.base import UTCDateTime
from flowpilot.models import Account
from tests.factories import Factory

# 07:30:15.123456 in Mumbai (+05:30) is 02:00:15.123456 UTC.
MUMBAI = datetime(2026, 12, 3, 7, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))


async def _set_odd_time_zone(session: AsyncSession, backend: str) -> None:
    if backend == "postgresql":  # a half-hour offset: anything but UTC shows
        await session.execute(text("SET TIME ZONE 'America/St_Johns'"))


async def test_a_column_reads_back_as_the_same_instant_in_utc(
    db: async_sessionmaker[AsyncSession], factory: Factory, backend: str
) -> None:
    account = await factory.account()
    async with db() as session:
        row = await session.get(Account, account.id)
        assert row is not None
        row.created_at = MUMBAI
        await session.commit()
    async with db() as session:
        await _set_odd_time_zone(session, backend)
        got = (
            await session.execute(select(Account.created_at).where(Account.id == account.id))
        ).scalar_one()
    assert got == MUMBAI
    assert got.tzinfo is UTC and got.hour == 2 and got.microsecond == 123456


async def test_an_expression_of_the_type_reads_back_in_utc(
    db: async_sessionmaker[AsyncSession], backend: str
) -> None:
    async with db() as session:
        await _set_odd_time_zone(session, backend)
        got = (await session.execute(select(literal(MUMBAI, UTCDateTime())))).scalar_one()
    assert got == MUMBAI
    assert got.tzinfo is UTC and (got.hour, got.minute) == (2, 0)

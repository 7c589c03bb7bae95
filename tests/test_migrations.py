"""Migrations are real history: a fresh database upgrades, matches the models, and downgrades."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import column, insert, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.base import Base
from flowpilot.kernel.db.engines import make_engine
from flowpilot.models import Handoff
from flowpilot.runtime.migrate import alembic_config, upgrade
from tests.analytics.timeline import Timeline
from tests.databases import POSTGRES_URL, RUN_ID, pg_admin, pg_url, worker
from tests.factories import Factory


def _roundtrip(url: str) -> None:
    upgrade(url)
    command.check(alembic_config(url))  # raises if the models and the migrations differ
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    command.check(alembic_config(url))


def test_migrations_match_models_and_downgrade(tmp_path: Path) -> None:
    if POSTGRES_URL:
        name = f"fp_migr_{worker()}_{RUN_ID}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        try:
            _roundtrip(pg_url(name))
        finally:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'migr.db'}")


@asynccontextmanager
async def _scratch_database(tmp_path: Path, name: str) -> AsyncIterator[str]:
    """An empty database of the test's backend, dropped afterwards."""
    if POSTGRES_URL:
        db_name = f"fp_{name}_{worker()}_{RUN_ID}"
        await pg_admin(f'CREATE DATABASE "{db_name}"')
        try:
            yield pg_url(db_name)
        finally:
            await pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"


async def _insert_as_of(conn: Any, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``rows`` into an older schema: only the columns its tables had then."""

    def columns(sync_conn: Any) -> dict[str, set[str]]:
        inspector = inspect(sync_conn)
        return {name: {c["name"] for c in inspector.get_columns(name)} for name in rows}

    present = await conn.run_sync(columns)
    for name, table_rows in rows.items():
        then = [c for c in Base.metadata.tables[name].columns if c.name in present[name]]
        old_table = table(name, *(column(c.name, c.type) for c in then))
        old = [{c.name: r[c.name] for c in then} for r in table_rows]
        if old:
            await conn.execute(insert(old_table), old)


# Rows an account had before revision 0002, in foreign-key order.
_OLD_TABLES = ("accounts", "users", "ai_sessions", "handoffs", "steps")


async def test_first_action_backfill_matches_the_write_path(
    tmp_path: Path,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Migration 0002 fills first_action_at for existing handoffs exactly as the write path
    does: the same escalations, once written through the services and once inserted old-style
    (without the column) into a database at 0001 and upgraded."""
    team = await factory.team()
    eng, eng2, admin, tech = team["eng"], team["eng2"], team["admin"], team["tech"]
    tl = Timeline(factory, tech, clock.now() - timedelta(days=3))
    tl.escalation(
        created=0, claimed=60, claimer=eng, steps=[(30, tech), (70, admin), (80, None), (100, eng)]
    )
    tl.escalation(
        created=1000,
        released=[(1050, eng, 1200)],
        claimed=1300,
        claimer=eng2,
        steps=[(1100, eng), (1400, eng2), (1500, eng2)],
    )
    tl.escalation(
        created=2000,
        released=[(2010, admin, 2100)],
        claimed=2200,
        claimer=admin,
        steps=[(2050, admin), (2150, admin), (2300, admin)],
    )
    tl.escalation(created=3000, claimed=3030, claimer=eng, steps=[(3040, None), (3050, admin)])
    tl.escalation(
        created=4000, claimed=4015.5, claimer=admin, status="resolved", steps=[(4015.5, admin)]
    )
    tl.escalation(created=5000, released=[(5050, eng, 5200)], steps=[(5100, eng)])
    tl.escalation(created=6000, status="cancelled")
    tl.escalation(created=7000)
    await tl.save()

    rows: dict[str, list[dict[str, Any]]] = {}
    async with db() as session:
        for name in _OLD_TABLES:
            table = Base.metadata.tables[name]
            result = await session.execute(select(table))
            rows[name] = [dict(r) for r in result.mappings()]
    written = {r["id"]: r.pop("first_action_at") for r in rows["handoffs"]}
    assert sorted(written.values(), key=str) == sorted(
        [tl.at(100), tl.at(1400), tl.at(2300), tl.at(4015.5), None, None, None, None], key=str
    ), "the write path itself is off: fix that first"

    async with _scratch_database(tmp_path, "backfill") as url:
        await asyncio.to_thread(upgrade, url, "0001_initial")
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await _insert_as_of(conn, rows)
            await asyncio.to_thread(upgrade, url)
            async with engine.connect() as conn:
                result = await conn.execute(select(Handoff.id, Handoff.first_action_at))
                backfilled = {r.id: r.first_action_at for r in result}
        finally:
            await engine.dispose()
    assert backfilled == written


async def test_claim_target_backfill_matches_the_write_path(
    tmp_path: Path,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """Migration 0004 gives existing handoffs the due time and breach the write path would
    have given them (default targets), and marks the still-open overdue ones as breached."""
    team = await factory.team()
    tl = Timeline(factory, team["tech"], clock.now() - timedelta(days=3))
    tl.escalation(created=0, claimed=60, claimer=team["eng"])  # in time (normal: 60 min)
    tl.escalation(created=10_000, claimed=10_000 + 3601, claimer=team["eng"])  # late
    tl.escalation(created=20_000, claimed=20_000 + 3600, claimer=team["eng"])  # at the due time
    tl.escalation(created=30_000, status="cancelled")
    tl.escalation(created=40_000)  # still open, long overdue
    await tl.save()
    tables = (*_OLD_TABLES, "events")
    rows: dict[str, list[dict[str, Any]]] = {}
    async with db() as session:
        for name in tables:
            result = await session.execute(select(Base.metadata.tables[name]))
            rows[name] = [dict(r) for r in result.mappings()]
    written = {r["id"]: r for r in rows["handoffs"]}
    late = [r for r in written.values() if r["breached_at"] is not None]
    assert len(late) == 2, "the write path marks the late and the on-the-dot claim"

    async with _scratch_database(tmp_path, "targets") as url:
        await asyncio.to_thread(upgrade, url, "0003_row_level_security")
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await _insert_as_of(conn, rows)
            await asyncio.to_thread(upgrade, url)
            async with engine.connect() as conn:
                result = await conn.execute(select(Handoff))
                migrated = {r.id: r for r in result}
        finally:
            await engine.dispose()
    for handoff_id, before in written.items():
        after = migrated[handoff_id]
        assert after.claim_due_at == before["claim_due_at"]
        assert after.triage_rank == before["triage_rank"] == 2
        if before["status"] == "open":
            assert before["breached_at"] is None and after.breached_at is not None
        else:
            assert after.breached_at == before["breached_at"], before["status"]

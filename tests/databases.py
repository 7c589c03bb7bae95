"""The test databases and Redis: which backends a run uses, a database per xdist worker.

Backends: SQLite always; PostgreSQL when FLOWPILOT_TEST_POSTGRES_URL is set and Redis when
FLOWPILOT_TEST_REDIS_URL is set. ``tests/conftest.py`` builds its fixtures from these; tests
that provision or inspect a database of their own import them from here.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from flowpilot.kernel.db.base import Base
from flowpilot.kernel.db.engines import make_engine
from flowpilot.runtime.migrate import upgrade

POSTGRES_URL = os.environ.get("FLOWPILOT_TEST_POSTGRES_URL") or None
REDIS_URL = os.environ.get("FLOWPILOT_TEST_REDIS_URL") or None
RUN_ID = uuid.uuid4().hex[:8]
# PostgreSQL connections: a run must fit in ~40 (two runs on one default server, max_connections
# 100, both pass). Per xdist worker: the app under test (its request pool, APP_POOL_SIZE, and
# its system path, bounded by it) and the test's own engine (POOL_SIZE + MAX_OVERFLOW); servers
# started as processes get the same pool (tests/servers.py).
# tests/ops/test_connection_budget.py checks the sum.
APP_POOL_SIZE = 4
POOL_SIZE, MAX_OVERFLOW = 2, 3
POOL_SETTINGS = {"db_pool_size": APP_POOL_SIZE}


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def pg_url(database: str) -> str:
    base = POSTGRES_URL or ""
    if base.startswith("postgresql://"):
        base = "postgresql+asyncpg://" + base.removeprefix("postgresql://")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}"


async def pg_admin(sql: str) -> None:
    engine = make_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def provision_database(
    tmp_path_factory: pytest.TempPathFactory, suffix: str = "", *, migrate: bool = True
) -> Iterator[str]:
    """Create a database for this worker (named with ``suffix``), migrate once (unless the test
    migrates it itself), drop at the end."""
    if POSTGRES_URL:
        name = f"fp_test_{worker()}_{RUN_ID}{suffix}"
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        url = pg_url(name)
        if migrate:
            upgrade(url)
        yield url
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / f"fp_{worker()}{suffix}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if migrate:
            upgrade(url)
        yield url


async def truncate_all(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        for attempt in range(3):
            try:
                await _truncate(engine, tables)
                return
            except DBAPIError as e:
                # A live server's background job (the analytics rollup writes several tables in
                # one statement) may hold a table TRUNCATE needs while waiting for one it holds;
                # PostgreSQL aborts one of the two, and the job retries on its next round.
                if "deadlock detected" not in str(e) or attempt == 2:
                    raise
    finally:
        await engine.dispose()


async def _truncate(engine: AsyncEngine, tables: list[str]) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))


# Why Redis-only tests skip in the SQLite half: replicas share events only through Redis Streams,
# and `make test` runs them in its PostgreSQL + Redis half (CI sets FLOWPILOT_TEST_REDIS_URL).
REPLICAS_NEED_REDIS = (
    "needs Redis (replicas share events only through it); runs in the PostgreSQL + Redis half "
    "of `make test`, with FLOWPILOT_TEST_REDIS_URL set"
)

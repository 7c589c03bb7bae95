"""Test rig: a database per xdist worker, migrated once; tables truncated after each test.

Backends: SQLite always; PostgreSQL when FLOWPILOT_TEST_POSTGRES_URL is set and Redis when
FLOWPILOT_TEST_REDIS_URL is set. A set URL that cannot be reached fails the run (no skips).

Why truncate instead of a rolled-back outer transaction: the relay, dispatcher, SSE streams and
concurrent-claim tests use their own connections and must see committed rows, so every test
works with real commits and the worker's tables are emptied after it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import marks
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.base import Base
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.settings import Settings
from flowpilot.live.bus import Bus
from flowpilot.runtime.app import create_app
from flowpilot.runtime.migrate import upgrade
from tests.factories import Factory
from tests.live.helpers import MakeBus, start_bus
from tests.redis_keys import delete_prefix

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


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _pg_url(database: str) -> str:
    base = POSTGRES_URL or ""
    if base.startswith("postgresql://"):
        base = "postgresql+asyncpg://" + base.removeprefix("postgresql://")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}"


async def _pg_admin(sql: str) -> None:
    engine = make_engine(_pg_url("postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


def provision_database(
    tmp_path_factory: pytest.TempPathFactory, suffix: str = "", *, migrate: bool = True
) -> Iterator[str]:
    """Create a database for this worker (named with ``suffix``), migrate once (unless the test
    migrates it itself), drop at the end."""
    if POSTGRES_URL:
        name = f"fp_test_{_worker()}_{RUN_ID}{suffix}"
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
        if migrate:
            upgrade(url)
        yield url
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        path = tmp_path_factory.mktemp("db") / f"fp_{_worker()}{suffix}.db"
        url = f"sqlite+aiosqlite:///{path}"
        if migrate:
            upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's own database, migrated once (never rebuilt per test)."""
    yield from provision_database(tmp_path_factory)


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """This worker's Redis key prefix; every key under it is deleted when the worker ends."""
    prefix = f"fptest:{_worker()}:{RUN_ID}"
    yield prefix
    if REDIS_URL:
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture(params=["memory", "redis"] if REDIS_URL else ["memory"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    """Runs a test against every configured bus backend (Redis when its URL is set)."""
    return str(request.param)


@pytest.fixture
async def make_bus(bus_kind: str, redis_prefix: str) -> AsyncIterator[MakeBus]:
    """``await make_bus(queue_size=..., ticker=...)``: a started bus; all are stopped after.

    Redis buses made in one test share a fresh key prefix, like server processes sharing Redis.
    """
    buses: list[Bus] = []
    prefix = f"{redis_prefix}:{uuid.uuid4().hex[:8]}"

    async def make(**options: Any) -> Bus:
        bus = await start_bus(bus_kind, redis_url=REDIS_URL, prefix=prefix, **options)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that starts at the real current time and only moves when a test moves it."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_prefix: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        redis_prefix=redis_prefix,
        smtp_url=None,
        mailbox_dir=str(tmp_path / "mailbox"),
        secret_key="test-secret",
        run_workers=False,
        base_url="http://testserver",
        **POOL_SETTINGS,
    )


async def truncate_all(database_url: str) -> None:
    engine = make_engine(database_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    await conn.execute(text(f"DELETE FROM {name}"))
    finally:
        await engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on this worker's database; all tables are emptied after the test.

    It logs in as the test login (a superuser) without the app role, like the system path: it
    builds and inspects data across accounts. The app under test runs its requests as the app
    role, under row-level security on PostgreSQL.
    """
    engine = make_engine(database_url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    try:
        yield make_sessionmaker(engine)
    finally:
        await marks.flush(engine)  # batched "mark published" writes still queued
        await engine.dispose()
        await truncate_all(database_url)


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock, db: async_sessionmaker[AsyncSession]):  # type: ignore[no-untyped-def]
    application = create_app(settings, clock=clock)
    async with LifespanManager(application, startup_timeout=30, shutdown_timeout=30):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def factory(db: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Factory:
    return Factory(db, clock)

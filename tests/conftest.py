"""Test rig: a database per xdist worker, migrated once; tables truncated after each test.

Backends: SQLite always; PostgreSQL when FLOWPILOT_TEST_POSTGRES_URL is set and Redis when
FLOWPILOT_TEST_REDIS_URL is set. A set URL that cannot be reached fails the run (no skips).

Why truncate instead of a rolled-back outer transaction: the relay, dispatcher, SSE streams and
concurrent-claim tests use their own connections and must see committed rows, so every test
works with real commits and the worker's tables are emptied after it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import marks
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.db.engines import make_engine, make_sessionmaker
from flowpilot.kernel.settings import Settings
from flowpilot.live.bus import Bus
from flowpilot.runtime.app import create_app
from tests.databases import (
    MAX_OVERFLOW,
    POOL_SETTINGS,
    POOL_SIZE,
    POSTGRES_URL,
    REDIS_URL,
    RUN_ID,
    provision_database,
    truncate_all,
    worker,
)
from tests.factories import Factory
from tests.live.helpers import MakeBus, start_bus
from tests.redis_keys import delete_prefix


@pytest.fixture(scope="session")
def backend() -> str:
    return "postgresql" if POSTGRES_URL else "sqlite"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's own database, migrated once (never rebuilt per test)."""
    yield from provision_database(tmp_path_factory)


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """This worker's Redis key prefix; every key under it is deleted when the worker ends."""
    prefix = f"fptest:{worker()}:{RUN_ID}"
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

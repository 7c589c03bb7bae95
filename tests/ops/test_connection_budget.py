"""A test run keeps to ~40 PostgreSQL connections, so two runs on one default server (100)
both pass: pools are bounded per xdist worker, and the run's connections are counted."""

from __future__ import annotations

import os

from sqlalchemy import text

from flowpilot.kernel.db.engines import make_engine
from tests.databases import APP_POOL_SIZE, MAX_OVERFLOW, POOL_SIZE, POSTGRES_URL, RUN_ID, pg_url

RUN_BUDGET = 40


def workers() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def test_the_pools_of_a_worker_fit_its_share_of_the_budget(settings):
    assert settings.db_pool_size == APP_POOL_SIZE
    app = APP_POOL_SIZE + min(5, APP_POOL_SIZE) + min(10, APP_POOL_SIZE)  # requests + system path
    own = POOL_SIZE + MAX_OVERFLOW  # the test's own engine
    # On each worker of a `-n auto` run on the two cores CI has.
    assert (app + own) * min(workers(), 2) <= RUN_BUDGET


async def test_the_run_holds_at_most_its_budget_of_connections(app, client, factory):
    team = await factory.team()
    for _ in range(3):
        assert (await client.get("/api/v1/sessions", headers=team["tech"].headers)).status_code
    if not POSTGRES_URL:
        return  # SQLite: no server connections to count
    admin = make_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with admin.connect() as conn:
            n = await conn.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname LIKE :pattern"),
                {"pattern": f"%{RUN_ID}%"},
            )
    finally:
        await admin.dispose()
    assert 0 < int(n or 0) <= RUN_BUDGET

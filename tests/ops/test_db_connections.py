"""Pooled PostgreSQL connections the server closed are replaced, not handed to a request.

The pool does no per-checkout round trip (see ``kernel.db.engines._refuse_closed_connection``),
so this is the behaviour that replaces ``pool_pre_ping``: after PostgreSQL drops the app's
connections (restart, idle kill, ``pg_terminate_backend``), the next request still succeeds.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from flowpilot.kernel.db.engines import make_engine
from tests.databases import POSTGRES_URL, pg_url

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL-only (server-side kill)")


async def _kill_backends_of(database: str) -> None:
    """Terminate every other connection to ``database`` and wait until they are gone."""
    admin = make_engine(pg_url("postgres"), isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        async with admin.connect() as conn:
            others = "datname = :db AND pid <> pg_backend_pid()"
            killed = (
                await conn.execute(
                    text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"),
                    {"db": database},
                )
            ).all()
            assert killed, "the app had no open connection to kill"
            for _ in range(500):
                left = (
                    await conn.execute(
                        text(f"SELECT count(*) FROM pg_stat_activity WHERE {others}"),
                        {"db": database},
                    )
                ).scalar_one()
                if left == 0:
                    return
            raise AssertionError("terminated backends did not exit")
    finally:
        await admin.dispose()


async def _client_saw_the_close(engine: AsyncEngine) -> None:
    """Let the event loop read the EOF the killed backends sent to the app's pooled connections.

    The server removes a backend from ``pg_stat_activity`` a moment before its socket closes;
    the check on checkout is for connections the client already knows are closed.
    """
    # The idle connections of the QueuePool (SQLAlchemy internals: fails loudly if they move).
    idle = engine.sync_engine.pool._pool._queue._queue  # type: ignore[attr-defined]
    assert idle, "the app's pool holds no idle connection"
    for _ in range(500):
        if all(entry.driver_connection.is_closed() for entry in list(idle)):
            return
        await asyncio.sleep(0.01)  # socket I/O being read, not an app timer
    raise AssertionError("the client never saw the killed connections close")


async def test_requests_succeed_after_the_database_drops_the_pools_connections(
    app, client, factory, database_url
):
    admin = await factory.user(role="admin")
    before = await client.get("/api/v1/users", headers=admin.headers)
    assert before.status_code == 200, before.text

    await _kill_backends_of(database_url.rpartition("/")[2])
    await _client_saw_the_close(app.state.ctx.engine)

    after = await client.get("/api/v1/users", headers=admin.headers)
    assert after.status_code == 200, after.text
    assert after.json() == before.json()

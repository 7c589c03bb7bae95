"""When every database connection stays busy, a request answers 503 with Retry-After, not 500.

The request pool is bounded (`FLOWPILOT_DB_POOL_SIZE`, no overflow); a request that waits longer
than `FLOWPILOT_DB_POOL_TIMEOUT_SECONDS` for a connection never reached the database, so nothing
was written and the client may send it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from flowpilot.auth.passwords import HASH_LIMITER, HASH_THREADS
from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.settings import Settings
from flowpilot.runtime.app import create_app
from tests.factories import PASSWORD, Factory


@asynccontextmanager
async def one_connection_app(
    settings: Settings, clock: FrozenClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with a pool of one connection (waits 0.3 s for it) and no caller cache, and a
    client for it."""
    busy = settings.model_copy(
        update={"db_pool_size": 1, "db_pool_timeout_seconds": 0.3, "auth_cache_seconds": 0}
    )
    app = create_app(busy, clock=clock)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            yield app, api


async def test_a_request_finding_every_connection_busy_answers_503_then_works_again(
    settings: Settings, clock: FrozenClock, factory: Factory
) -> None:
    team = await factory.team()
    async with one_connection_app(settings, clock) as (app, api):
        held = await app.state.ctx.engine.connect()  # the pool's only connection
        try:
            await held.exec_driver_sql("SELECT 1")
            refused = await api.get("/api/v1/me", headers=team["eng"].headers)
        finally:
            await held.close()
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        assert "try again" in refused.json()["detail"]
        again = await api.get("/api/v1/me", headers=team["eng"].headers)
        assert again.status_code == 200, again.text
        assert again.json()["email"] == team["eng"].email


async def test_logins_waiting_for_a_hashing_thread_hold_no_connection(
    settings: Settings, clock: FrozenClock, factory: Factory
) -> None:
    """A burst of logins queues for the password hash's threads, not for the pool: with one
    connection in the pool, other requests answer while two logins wait."""
    team = await factory.team()
    async with one_connection_app(settings, clock) as (_app, api):

        async def login(email: str, password: str) -> httpx.Response:
            body = {"email": email, "password": password}
            return await api.post("/api/v1/auth/login", json=body)

        threads = [object() for _ in range(HASH_THREADS)]  # every hashing thread taken
        for holder in threads:
            await HASH_LIMITER.acquire_on_behalf_of(holder)
        try:
            right = asyncio.create_task(login(team["eng"].email, PASSWORD))
            wrong = asyncio.create_task(login(team["eng2"].email, "not-the-password"))
            for _ in range(1000):  # until both logins wait for a thread
                if HASH_LIMITER.statistics().tasks_waiting == 2:
                    break
                await asyncio.sleep(0.01)
            assert HASH_LIMITER.statistics().tasks_waiting == 2
            me = await api.get("/api/v1/me", headers=team["admin"].headers)
            assert me.status_code == 200, me.text
            assert not right.done() and not wrong.done()
        finally:
            for holder in threads:
                HASH_LIMITER.release_on_behalf_of(holder)
        ok, refused = await right, await wrong
        assert ok.status_code == 200, ok.text
        assert ok.json()["user"]["email"] == team["eng"].email
        assert refused.status_code == 401, refused.text
        me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {ok.json()['token']}"})
        assert me.status_code == 200 and me.json()["id"] == team["eng"].id

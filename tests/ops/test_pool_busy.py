"""When every database connection stays busy, a request answers 503 with Retry-After, not 500.

The request pool is bounded (`FLOWPILOT_DB_POOL_SIZE`, no overflow); a request that waits longer
than `FLOWPILOT_DB_POOL_TIMEOUT_SECONDS` for a connection never reached the database, so nothing
was written and the client may send it again.
"""

from __future__ import annotations

import httpx
from asgi_lifespan import LifespanManager

from flowpilot.kernel.clock import FrozenClock
from flowpilot.kernel.settings import Settings
from flowpilot.runtime.app import create_app
from tests.factories import Factory


async def test_a_request_finding_every_connection_busy_answers_503_then_works_again(
    settings: Settings, clock: FrozenClock, factory: Factory
) -> None:
    team = await factory.team()
    busy = settings.model_copy(
        update={"db_pool_size": 1, "db_pool_timeout_seconds": 0.3, "auth_cache_seconds": 0}
    )
    app = create_app(busy, clock=clock)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
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

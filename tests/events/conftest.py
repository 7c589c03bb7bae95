"""Fixtures for the event bus and the live stream.

``bus_kind`` runs a test against every configured backend: the in-process bus always, Redis
Streams when FLOWPILOT_TEST_REDIS_URL is set (an unreachable URL fails at ``start()``).
``sse_server`` serves the test's ``app`` with a real uvicorn on a loopback port in this event
loop (httpx's ASGITransport buffers whole responses, so it cannot read an endless stream),
which also lets a test reach the app's bus and swap in a ``ManualTicker``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import service as events_service
from flowpilot.kernel.db.uow import commit
from flowpilot.live.bus import Bus
from flowpilot.live.memory import MemoryBus
from flowpilot.live.redis_bus import RedisBus
from flowpilot.live.ticker import Ticker
from flowpilot.models import Event
from flowpilot.runtime import gcpolicy
from tests.conftest import REDIS_URL
from tests.servers import free_port

BUS_KINDS = ["memory", "redis"] if REDIS_URL else ["memory"]


@pytest.fixture(params=BUS_KINDS)
def bus_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


MakeBus = Callable[..., Awaitable[Bus]]


@pytest.fixture
async def make_bus(bus_kind: str, redis_prefix: str) -> AsyncIterator[MakeBus]:
    """``await make_bus(queue_size=..., ticker=...)``: a started bus; all are stopped after.

    Redis buses made in one test share a fresh key prefix, like server processes sharing Redis.
    """
    buses: list[Bus] = []
    prefix = f"{redis_prefix}:{uuid.uuid4().hex[:8]}"

    async def make(
        *, queue_size: int = 256, heartbeat_seconds: float = 25.0, ticker: Ticker | None = None
    ) -> Bus:
        bus: Bus
        if bus_kind == "redis":
            assert REDIS_URL
            bus = RedisBus(
                REDIS_URL,
                history=100,
                prefix=prefix,
                queue_size=queue_size,
                heartbeat_seconds=heartbeat_seconds,
                ticker=ticker,
                block_ms=1000,
            )
        else:
            bus = MemoryBus(
                queue_size=queue_size, heartbeat_seconds=heartbeat_seconds, ticker=ticker
            )
        await bus.start()
        gcpolicy.attach(bus.fanout)  # the process policy the runtime installs at start
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.stop()


@dataclass
class Tenant:
    account_id: str


async def emit(
    db: async_sessionmaker[AsyncSession],
    *,
    account_id: str,
    bus: Bus | None,
    now: Any,
    type: str = "handoff.created",
    payload: dict[str, Any] | None = None,
) -> Event:
    """Append one event and commit it the way a request does (publish after commit)."""
    async with db() as session:
        event = await events_service.append(
            session,
            tenant=Tenant(account_id),
            type=type,
            payload=payload or {"id": f"h-{uuid.uuid4().hex[:6]}", "status": "open"},
            now=now,
            bus=bus,
        )
        await commit(session)
        return event


@dataclass
class SSEServer:
    url: str
    app: FastAPI

    @property
    def bus(self) -> Bus:
        return self.app.state.ctx.bus  # type: ignore[no-any-return]


@pytest.fixture
async def sse_server(app: FastAPI) -> AsyncIterator[SSEServer]:
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",  # the ``app`` fixture already ran it
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)  # waiting for a socket to listen, not for an app timer
    assert server.started, "uvicorn did not start"
    try:
        yield SSEServer(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await task

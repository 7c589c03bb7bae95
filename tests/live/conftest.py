"""Fixtures for the live stream.

``sse_server`` serves the test's ``app`` with a real uvicorn on a loopback port in this event
loop (httpx's ASGITransport buffers whole responses, so it cannot read an endless stream),
which also lets a test reach the app's bus and swap in a ``ManualTicker``. ``replicas``: two
server processes sharing the database and Redis (the tests that use it skip without Redis).
The bus fixtures (``bus_kind``, ``make_bus``) live in ``tests/conftest.py``: the event-log
tests use them too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from tests import servers
from tests.databases import REDIS_URL
from tests.live.helpers import SSEServer
from tests.servers import free_port


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


@pytest.fixture
def replicas(database_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[list[str]]:
    assert REDIS_URL
    settings = {
        "FLOWPILOT_DATABASE_URL": database_url,
        "FLOWPILOT_REDIS_URL": REDIS_URL,
        "FLOWPILOT_REDIS_PREFIX": f"{redis_prefix}:replicas:{uuid.uuid4().hex[:6]}",
        "FLOWPILOT_RUN_WORKERS": "false",
    }
    with servers.running((tmp_path / "a", settings), (tmp_path / "b", settings)) as started:
        yield [server.url for server in started]

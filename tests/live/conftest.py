"""Fixtures for the live stream.

``sse_server`` serves the test's ``app`` with a real uvicorn on a loopback port in this event
loop (httpx's ASGITransport buffers whole responses, so it cannot read an endless stream),
which also lets a test reach the app's bus and swap in a ``ManualTicker``. The bus fixtures
(``bus_kind``, ``make_bus``) live in ``tests/conftest.py``: the event-log tests use them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fastapi import FastAPI

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

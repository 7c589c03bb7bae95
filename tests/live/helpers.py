"""Helpers for live-push tests: started buses of every configured backend, the served app.

``start_bus`` makes the in-process bus or Redis Streams (when FLOWPILOT_TEST_REDIS_URL is set;
an unreachable URL fails at ``start()``); the ``bus_kind``/``make_bus`` fixtures in
``tests/conftest.py`` run a test against each. ``SSEServer`` is what the ``sse_server`` fixture
(``tests/live/conftest.py``) yields: the app served by a real uvicorn on a loopback port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI

from flowpilot.live.bus import Bus
from flowpilot.live.memory import MemoryBus
from flowpilot.live.redis_bus import RedisBus
from flowpilot.live.ticker import Ticker
from flowpilot.runtime import gcpolicy

MakeBus = Callable[..., Awaitable[Bus]]


async def start_bus(
    kind: str,
    *,
    redis_url: str | None,
    prefix: str,
    queue_size: int = 256,
    heartbeat_seconds: float = 25.0,
    ticker: Ticker | None = None,
) -> Bus:
    """A started bus of ``kind`` ("memory" or "redis") with the runtime's GC policy attached."""
    bus: Bus
    if kind == "redis":
        assert redis_url
        bus = RedisBus(
            redis_url,
            history=100,
            prefix=prefix,
            queue_size=queue_size,
            heartbeat_seconds=heartbeat_seconds,
            ticker=ticker,
            block_ms=1000,
        )
    else:
        bus = MemoryBus(queue_size=queue_size, heartbeat_seconds=heartbeat_seconds, ticker=ticker)
    await bus.start()
    gcpolicy.attach(bus.fanout)  # the process policy the runtime installs at start
    return bus


@dataclass
class SSEServer:
    url: str
    app: FastAPI

    @property
    def bus(self) -> Bus:
        return self.app.state.ctx.bus  # type: ignore[no-any-return]

"""Timers the live stream waits on, injectable so tests move time instead of sleeping (rule 7).

``LoopTicker`` is the real thing (monotonic time, ``asyncio.sleep``). ``ManualTicker`` only
moves when a test calls ``advance``; the heartbeat loop and stream lifetimes then fire exactly
as they would after that much real time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Ticker(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopTicker:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualTicker:
    """A ticker that only moves when told to (tests)."""

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    @property
    def sleepers(self) -> int:
        return sum(1 for _, fut in self._sleepers if not fut.done())

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds, fut)
        self._sleepers.append(entry)
        try:
            await fut
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    async def advance(self, seconds: float) -> None:
        """Move time forward; wake every sleeper that is due, then let them run."""
        self._now += seconds
        for due, fut in list(self._sleepers):
            if due <= self._now and not fut.done():
                fut.set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)

    async def wait_for_sleepers(self, n: int = 1, *, attempts: int = 1000) -> None:
        """Yield to the loop until ``n`` tasks are asleep on this ticker (no wall-clock wait)."""
        for _ in range(attempts):
            if self.sleepers >= n:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"expected {n} sleepers on the ticker, found {self.sleepers}")

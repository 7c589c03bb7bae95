"""Delivery outcomes recorded in small batches while a round goes on.

A mail the SMTP server accepted must be recorded ``sent`` before much else happens: a worker
killed after the acceptance but before the record sends it again when the lease expires. So
outcomes are not kept for the end of a round: a flusher commits them every ``max_delay``
seconds, or as soon as ``max_rows`` are waiting, one transaction each (one statement for all
the ``sent`` rows). What a kill can resend is what was in flight plus at most one such batch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.notifications import repository as repo

log = logging.getLogger("flowpilot.notifications")


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    channel: str
    attempts: int
    status: str
    error: str | None
    next_attempt_at: datetime | None = None


Count = Callable[[str, str, int], None]  # (channel, status, how many) recorded


async def record(ctx: Context, outcomes: list[Outcome], count: Count) -> None:
    """Commit ``outcomes`` in one transaction, each fenced by its attempt count; ``count``
    them once per (channel, status)."""
    if not outcomes:
        return
    async with unit_of_work(ctx.system.sessionmaker) as session:
        recorded = await repo.finish_many(
            session,
            [
                repo.Finish(o.delivery_id, o.attempts, o.status, o.error, o.next_attempt_at)
                for o in outcomes
            ],
            now=ctx.clock.now(),
        )
    tally: collections.Counter[tuple[str, str]] = collections.Counter()
    for outcome in outcomes:
        if outcome.delivery_id in recorded:
            tally[(outcome.channel, outcome.status)] += 1
        else:
            log.warning(
                "delivery %s: lease lost before recording %s", outcome.delivery_id, outcome.status
            )
    for (channel, status), n in tally.items():
        count(channel, status, n)


class Recorder:
    """Collects a round's outcomes and commits them in small, prompt batches."""

    def __init__(
        self,
        ctx: Context,
        count: Count,
        *,
        max_rows: int = 50,
        max_delay: float = 0.05,
    ) -> None:
        self.ctx = ctx
        self.count = count
        self.max_rows = max_rows
        self.max_delay = max_delay
        self._waiting: list[Outcome] = []
        self._full = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Recorder:
        self._task = asyncio.create_task(self._run(), name="delivery-outcomes")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._full.set()
        if self._task is not None:
            await self._task

    def add(self, outcome: Outcome) -> None:
        self._waiting.append(outcome)
        if len(self._waiting) >= self.max_rows:
            self._full.set()

    async def _run(self) -> None:
        while True:
            if not self._waiting and not self._closing:
                await self._full.wait()  # nothing to record: wait for the first outcome
                self._full.clear()
            if not self._closing and len(self._waiting) < self.max_rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.max_delay)
                self._full.clear()
            batch, self._waiting = self._waiting, []
            try:
                await record(self.ctx, batch, self.count)
            except Exception:
                # The rows stay leased: when the lease expires they are taken again.
                log.exception("recording %d delivery outcomes failed", len(batch))
            if self._closing and not self._waiting:
                return

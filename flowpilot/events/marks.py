"""Batched "mark published": one short transaction per batch of events, not one per event.

After a commit, ``append`` publishes its event at once and hands its id to this engine's
:class:`Marker`, which writes ``published_at`` for every id collected over ``LINGER_SECONDS``
(or ``MAX_BATCH`` ids) in one UPDATE from one background task. Until that UPDATE commits the
row stays ``published_at IS NULL``: if the process dies first, the relay publishes the event
again after its grace period (``relay_grace_seconds``, far longer than the linger) and
consumers drop the duplicate by id, exactly as when a per-event mark transaction was lost.
``flush()`` writes what is pending without waiting (shutdown, tests).

A batch spans accounts, so it is the system path's work: the app registers its request engine
with :func:`write_with` and the marks go through the system engine (under row-level security
the app role may not update events at all; the event log is append-only for requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from flowpilot.events import repository as repo

log = logging.getLogger("flowpilot.events")

LINGER_SECONDS = 0.05
MAX_BATCH = 500


class Marker:
    """One per engine: the ids waiting to be marked and the task that marks them.

    ``bind`` is the engine the marks are written with.
    """

    def __init__(self, bind: AsyncEngine, *, linger: float = LINGER_SECONDS) -> None:
        self._bind = weakref.ref(bind)  # the registry below is keyed weakly by the engine
        self.linger = linger
        self._ids: list[int] = []
        self._now: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def mark(self, ids: list[int], *, now: datetime) -> None:
        """Queue ``ids`` (published at ``now``) for the next batch; returns at once."""
        self._ids.extend(ids)
        self._now = now if self._now is None else max(self._now, now)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            loop = asyncio.get_running_loop()
            # A fresh context, not the committing request's: the system path refuses requests.
            self._task = loop.create_task(
                self._run(), name="events-mark-published", context=contextvars.Context()
            )
        elif len(self._ids) >= MAX_BATCH:
            self._wake.set()

    async def _run(self) -> None:
        while self._ids:
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.linger)
            ids, now = self._ids[:MAX_BATCH], self._now
            del self._ids[:MAX_BATCH]
            if not self._ids:
                self._now = None
            bind = self._bind()
            if bind is None or now is None:
                return  # engine gone: nothing to write with (the relay covers these rows)
            try:
                await _write(bind, ids, now)
            except Exception:  # the rows stay unmarked: the relay publishes them again
                log.exception("marking events %s published failed", ids)

    async def flush(self) -> None:
        """Write every mark queued so far, now (no linger)."""
        while self._task is not None and not self._task.done():
            self._wake.set()
            await asyncio.shield(self._task)


async def _write(bind: AsyncEngine, ids: list[int], now: datetime) -> None:
    """One UPDATE. On PostgreSQL in autocommit: a single statement is atomic by itself, and
    BEGIN and COMMIT would be two more round trips (a socket write and a wake-up each) in every
    batch, beside the requests' own (BENCHMARKS.md, "Over real HTTP")."""
    if bind.dialect.name == "postgresql":
        async with bind.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await repo.mark_published(conn, ids, now=now)
        return
    async with bind.begin() as conn:
        await repo.mark_published(conn, ids, now=now)


_markers: weakref.WeakKeyDictionary[AsyncEngine, Marker] = weakref.WeakKeyDictionary()


def write_with(engine: AsyncEngine, writer: AsyncEngine) -> None:
    """Write the marks of events committed through ``engine`` with ``writer`` instead."""
    _markers[engine] = Marker(writer)


def marker(bind: AsyncEngine) -> Marker:
    """The marker for events committed through ``bind`` (writes with ``bind`` unless
    :func:`write_with` said otherwise)."""
    found = _markers.get(bind)
    if found is None:
        found = _markers[bind] = Marker(bind)
    return found


async def flush(bind: AsyncEngine) -> None:
    """Write the queued marks of ``bind`` (call before disposing the engine)."""
    found = _markers.get(bind)
    if found is not None:
        await found.flush()

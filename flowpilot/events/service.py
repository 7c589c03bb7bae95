"""Append events in the caller's transaction; publish them only after it commits (rule 3)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from flowpilot.events import marks
from flowpilot.events import repository as repo
from flowpilot.kernel.bus import BusEvent, Publisher
from flowpilot.kernel.db.uow import after_commit
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import Event

log = logging.getLogger("flowpilot.events")

# An answer waits at most this long for its after-commit publish; a slower publish (a hung
# bus) finishes in the background, and the relay publishes whatever it could not.
PUBLISH_WAIT_SECONDS = 0.2
_in_flight: set[asyncio.Task[bool]] = set()


class ThrottledLog:
    """One warning line per ``every`` seconds at most, saying how many it held back: an outage
    of the bus must not write a traceback per event."""

    def __init__(self, logger: logging.Logger, every: float = 10.0) -> None:
        self.logger = logger
        self.every = every
        self.next_at = 0.0
        self.held = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()  # log pacing, not domain time
        if now < self.next_at:
            self.held += 1
            return
        held, self.held, self.next_at = self.held, 0, now + self.every
        suffix = f" ({held} more like it since the last line)" if held else ""
        self.logger.warning(message + suffix, *args)


_failures = ThrottledLog(log)


def to_bus_event(event: Event, *, relayed: bool = False) -> BusEvent:
    return BusEvent(
        id=event.id,
        account_id=event.account_id,
        type=event.type,
        data=event.payload,
        relayed=relayed,
    )


async def publish_and_mark(
    bus: Publisher,
    bind: AsyncEngine,
    events: Sequence[BusEvent],
    *,
    now: datetime,
    batched: bool = False,
) -> bool:
    """Publish committed events, then mark them published in a short transaction of its own.

    ``batched``: queue the mark for this engine's batched marker instead (see ``marks``).

    Never raises: whatever fails here stays ``published_at IS NULL`` and the relay retries it
    (a publish that worked but was not marked is published twice; consumers dedupe by id).
    """
    try:
        for event in events:
            await bus.publish(event)
    except Exception as exc:
        _failures.warning(
            "publishing events %s failed (%s: %s); the relay will retry",
            [e.id for e in events],
            type(exc).__name__,
            exc,
        )
        return False
    if batched:
        marks.marker(bind).mark([e.id for e in events], now=now)
        return True
    try:
        async with bind.begin() as conn:
            await repo.mark_published(conn, [e.id for e in events], now=now)
    except Exception:
        log.exception("marking events %s published failed", [e.id for e in events])
        return False
    return True


async def append(
    session: AsyncSession,
    *,
    tenant: Tenant,
    type: str,
    payload: dict[str, Any],
    now: datetime,
    bus: Publisher | None,
    handoff_id: str | None = None,
    session_id: str | None = None,
    actor_id: str | None = None,
    appended_id: int | None = None,
) -> Event:
    """Write an event row in the current transaction; after commit, publish it to ``bus``.

    If the process dies between commit and publish, the relay publishes it later
    (``published_at`` stays NULL until then). Consumers dedupe by event id. ``appended_id``:
    the database already appended this event (``fp_claim``), in the session's transaction or in
    a statement that committed by itself (then the session has none and it is published at
    once): only its snapshot is made and its publishing arranged.
    """
    values = _values(tenant, type, payload, now, handoff_id, session_id, actor_id)
    if appended_id is None:
        appended_id = await repo.insert(session, values)
    # A detached snapshot of the inserted row (callers read it; it is not in the session).
    event = Event(id=appended_id, published_at=None, **values)
    _publish_after_commit(session, event, bus=bus, now=now)
    return event


def _values(
    tenant: Tenant,
    type: str,
    payload: dict[str, Any],
    now: datetime,
    handoff_id: str | None,
    session_id: str | None,
    actor_id: str | None,
) -> dict[str, Any]:
    return {
        "account_id": tenant.account_id,
        "type": type,
        "handoff_id": handoff_id,
        "session_id": session_id,
        "actor_id": actor_id,
        "payload": payload,
        "created_at": now,
    }


def _publish_after_commit(
    session: AsyncSession, event: Event, *, bus: Publisher | None, now: datetime
) -> None:
    bind = session.bind
    if bus is not None and isinstance(bind, AsyncEngine):
        bus_event = to_bus_event(event)

        async def _publish() -> None:
            task = asyncio.create_task(
                publish_and_mark(bus, bind, [bus_event], now=now, batched=True)
            )
            _in_flight.add(task)
            task.add_done_callback(_in_flight.discard)
            await asyncio.wait({task}, timeout=PUBLISH_WAIT_SECONDS)

        after_commit(session, _publish)


async def timeline(
    session: AsyncSession,
    *,
    tenant: Tenant,
    handoff_id: str | None = None,
    session_id: str | None = None,
) -> Sequence[tuple[Event, str | None]]:
    return await repo.timeline(session, tenant, handoff_id=handoff_id, session_id=session_id)


async def replay(
    session: AsyncSession,
    tenant: Tenant,
    *,
    after_id: int,
    types: Sequence[str],
    limit: int,
    session_id: str | None = None,
) -> Sequence[Event]:
    """The tenant's events of ``types`` after ``after_id``, in order (a live stream's catch-up);
    with ``session_id``, only that AI session's."""
    return await repo.replay(
        session, tenant, after_id=after_id, types=types, limit=limit, session_id=session_id
    )


async def head_id(session: AsyncSession, *, tenant: Tenant | None = None) -> int:
    """The newest event id (of the tenant's log, or of the whole log); 0 when empty."""
    return await repo.head_id(session, tenant)

"""Append events in the caller's transaction; publish them only after it commits (rule 3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.db import after_commit
from flowpilot.events import repository as repo
from flowpilot.events.bus import Bus, BusEvent
from flowpilot.models import Event
from flowpilot.tenancy import Tenant


def to_bus_event(event: Event) -> BusEvent:
    return BusEvent(id=event.id, account_id=event.account_id, type=event.type, data=event.payload)


async def append(
    session: AsyncSession,
    *,
    tenant: Tenant,
    type: str,
    payload: dict[str, Any],
    now: datetime,
    bus: Bus | None,
    handoff_id: str | None = None,
    session_id: str | None = None,
    actor_id: str | None = None,
) -> Event:
    """Write an event row in the current transaction; after commit, publish it to ``bus``.

    If the process dies between commit and publish, the relay publishes it later
    (``published_at`` stays NULL until then). Consumers dedupe by event id.
    """
    event = await repo.add(
        session,
        Event(
            account_id=tenant.account_id,
            type=type,
            handoff_id=handoff_id,
            session_id=session_id,
            actor_id=actor_id,
            payload=payload,
            created_at=now,
        ),
    )
    if bus is not None:
        bus_event = to_bus_event(event)

        async def _publish() -> None:
            await bus.publish(bus_event)

        after_commit(session, _publish)
    return event


async def timeline(
    session: AsyncSession,
    *,
    tenant: Tenant,
    handoff_id: str | None = None,
    session_id: str | None = None,
) -> Sequence[tuple[Event, str | None]]:
    return await repo.timeline(session, tenant, handoff_id=handoff_id, session_id=session_id)

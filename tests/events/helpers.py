"""Helpers for tests that write the event log: a tenant holder and ``emit``."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import service as events_service
from flowpilot.kernel.bus import BusEvent
from flowpilot.kernel.db.uow import commit
from flowpilot.live.bus import Bus, Subscription
from flowpilot.models import Event


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


async def next_event(sub: Subscription, within: float = 10.0) -> BusEvent:
    """The subscription's next event, passing over heartbeats (a loaded box may tick one in)."""

    async def _next() -> BusEvent:
        while True:
            item = await sub.get()
            if isinstance(item, BusEvent):
                return item

    return await asyncio.wait_for(_next(), within)

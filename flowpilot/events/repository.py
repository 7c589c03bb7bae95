"""All SQL for the event log."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import Event, User
from flowpilot.tenancy import Tenant


async def add(session: AsyncSession, event: Event) -> Event:
    session.add(event)
    await session.flush()
    return event


async def timeline(
    session: AsyncSession,
    tenant: Tenant,
    *,
    handoff_id: str | None = None,
    session_id: str | None = None,
) -> Sequence[tuple[Event, str | None]]:
    """Audit timeline (oldest first) of a handoff or an AI session, with actor names."""
    stmt = (
        select(Event, User.name)
        .outerjoin(User, User.id == Event.actor_id)
        .where(Event.account_id == tenant.account_id)
    )
    if handoff_id is not None:
        stmt = stmt.where(Event.handoff_id == handoff_id)
    if session_id is not None:
        stmt = stmt.where(Event.session_id == session_id)
    stmt = stmt.order_by(Event.id)
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]

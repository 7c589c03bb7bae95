"""Helpers: escalate a session the way the handoffs service does (rows + event + deliveries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.events import service as events_service
from flowpilot.models import AiSession, Delivery, Event, Handoff, User
from flowpilot.notifications import service as notifications_service
from tests.factories import TestUser


def handoff_payload(handoff: Handoff, ai_session: AiSession, escalator_name: str) -> dict[str, Any]:
    return {
        "id": handoff.id,
        "session_id": handoff.session_id,
        "account_id": handoff.account_id,
        "status": handoff.status,
        "reason": handoff.reason,
        "urgency": handoff.urgency,
        "escalated_by_id": handoff.escalated_by_id,
        "claimed_by_id": None,
        "created_at": handoff.created_at.isoformat(),
        "claimed_at": None,
        "resolved_at": None,
        "session_title": ai_session.title,
        "customer": ai_session.customer,
        "asset": ai_session.asset,
        "escalated_by_name": escalator_name,
        "claimed_by_name": None,
    }


async def escalate_in(
    session: AsyncSession,
    *,
    owner: TestUser,
    session_id: str,
    now: datetime,
    urgency: str = "normal",
    reason: str = "Tried the usual; still offline",
) -> Handoff:
    """Handoff row + handoff.created event + plan_deliveries in the caller's transaction."""
    ai_session = (
        await session.execute(select(AiSession).where(AiSession.id == session_id))
    ).scalar_one()
    handoff = Handoff(
        account_id=owner.account_id,
        session_id=session_id,
        status="open",
        reason=reason,
        urgency=urgency,
        escalated_by_id=owner.id,
        created_at=now,
        updated_at=now,
    )
    session.add(handoff)
    await session.flush()
    event = await events_service.append(
        session,
        tenant=owner,
        type="handoff.created",
        payload=handoff_payload(handoff, ai_session, owner.name),
        now=now,
        bus=None,
        handoff_id=handoff.id,
        session_id=session_id,
        actor_id=owner.id,
    )
    await notifications_service.plan_deliveries(session, handoff=handoff, event=event, now=now)
    return handoff


async def escalate(
    db: async_sessionmaker[AsyncSession],
    *,
    owner: TestUser,
    session_id: str,
    now: datetime,
    urgency: str = "normal",
    reason: str = "Tried the usual; still offline",
) -> str:
    async with db() as session:
        handoff = await escalate_in(
            session, owner=owner, session_id=session_id, now=now, urgency=urgency, reason=reason
        )
        await session.commit()
        return handoff.id


async def deliveries(
    db: async_sessionmaker[AsyncSession], handoff_id: str | None = None
) -> Sequence[Delivery]:
    async with db() as session:
        stmt = select(Delivery).order_by(Delivery.created_at, Delivery.id)
        if handoff_id is not None:
            stmt = stmt.where(Delivery.handoff_id == handoff_id)
        return (await session.execute(stmt)).scalars().all()


async def count_deliveries(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return int((await session.execute(select(func.count(Delivery.id)))).scalar_one())


async def set_handoff_status(
    db: async_sessionmaker[AsyncSession], handoff_id: str, status: str, *, claimer: str | None
) -> None:
    async with db() as session:
        handoff = await session.get(Handoff, handoff_id)
        assert handoff is not None
        handoff.status = status
        handoff.claimed_by_id = claimer
        await session.commit()


async def events_of(db: async_sessionmaker[AsyncSession], handoff_id: str) -> list[Event]:
    async with db() as session:
        stmt = select(Event).where(Event.handoff_id == handoff_id).order_by(Event.id)
        return list((await session.execute(stmt)).scalars().all())


async def user_emails(db: async_sessionmaker[AsyncSession], ids: Sequence[str | None]) -> set[str]:
    async with db() as session:
        stmt = select(User.email).where(User.id.in_([i for i in ids if i]))
        return set((await session.execute(stmt)).scalars().all())

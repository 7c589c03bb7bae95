"""Building blocks for assistant tests: resolved sessions and handoff rows written directly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.ai_sessions import service as sessions_service
from flowpilot.handoffs import service as handoffs_service
from flowpilot.models import AiSession, Handoff, Step
from tests.factories import TestUser, add_step, open_session


async def resolved_session(
    client: httpx.AsyncClient,
    db: async_sessionmaker[AsyncSession],
    owner: TestUser,
    *,
    resolver: TestUser,
    title: str,
    problem: str,
    resolution: str,
    actions: list[tuple[str, str]] = (),  # type: ignore[assignment]
    when: datetime,
    **fields: Any,
) -> str:
    """A session opened by ``owner`` with action/result steps, resolved by ``resolver``."""
    s = await open_session(client, owner, title=title, problem=problem, **fields)
    for action, result in actions:
        await add_step(client, owner, s["id"], kind="action", content=action)
        await add_step(client, owner, s["id"], kind="result", content=result)
    async with db() as session:
        ai_session = (
            await session.execute(select(AiSession).where(AiSession.id == s["id"]))
        ).scalar_one()
        await sessions_service.resolve(
            session, ai_session=ai_session, resolution=resolution, actor_id=resolver.id, now=when
        )
        await session.commit()
    return str(s["id"])


async def handoff_row(
    db: async_sessionmaker[AsyncSession],
    *,
    session_id: str,
    escalator: TestUser,
    now: datetime,
    reason: str = "Stuck after trying the usual fixes",
    urgency: str = "high",
) -> str:
    """An open handoff, escalated through the handoffs service (``escalator`` owns the session)."""
    async with db() as session:
        row = await handoffs_service.escalate(
            session,
            actor=escalator.actor,
            session_id=session_id,
            reason=reason,
            urgency=urgency,
            now=now,
            bus=None,
        )
        await session.commit()
        return row.handoff.id


async def steps_of(db: async_sessionmaker[AsyncSession], session_id: str) -> list[Step]:
    async with db() as session:
        stmt = select(Step).where(Step.session_id == session_id).order_by(Step.created_at, Step.id)
        return list((await session.execute(stmt)).scalars().all())


async def summary_generated_at(db: async_sessionmaker[AsyncSession], handoff_id: str) -> Any:
    async with db() as session:
        handoff = await session.get(Handoff, handoff_id)
        assert handoff is not None
        return handoff.summary_generated_at

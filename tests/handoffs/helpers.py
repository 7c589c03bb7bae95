"""Shared helpers for the escalation tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.models import AiSession, Delivery, Event, Handoff
from tests.factories import TestUser, open_session


async def escalate(
    client: httpx.AsyncClient,
    user: TestUser,
    session_id: str,
    reason: str = "Stuck after driver reinstall",
    urgency: str = "high",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/sessions/{session_id}/handoff",
        json={"reason": reason, "urgency": urgency},
        headers=user.headers,
    )


async def escalated(
    client: httpx.AsyncClient, user: TestUser, *, urgency: str = "high", **session_fields: Any
) -> dict[str, Any]:
    """Open a session as ``user`` and escalate it; the handoff JSON."""
    ai_session = await open_session(client, user, **session_fields)
    response = await escalate(client, user, ai_session["id"], urgency=urgency)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def claim(client: httpx.AsyncClient, user: TestUser, handoff_id: str) -> dict[str, Any]:
    """Claim as ``user``; the handoff JSON."""
    response = await post(client, user, f"/api/v1/handoffs/{handoff_id}/claim")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def claimed(client: httpx.AsyncClient, tech: TestUser, eng: TestUser) -> dict[str, Any]:
    """Escalated by ``tech`` and claimed by ``eng``; the handoff JSON."""
    return await claim(client, eng, (await escalated(client, tech))["id"])


async def post(
    client: httpx.AsyncClient, user: TestUser | None, path: str, json: Any = None
) -> httpx.Response:
    headers = user.headers if user else {}
    return await client.post(path, json=json, headers=headers)


async def handoff_row(db: async_sessionmaker[AsyncSession], handoff_id: str) -> Handoff:
    async with db() as s:
        return (await s.execute(select(Handoff).where(Handoff.id == handoff_id))).scalar_one()


async def session_row(db: async_sessionmaker[AsyncSession], session_id: str) -> AiSession:
    async with db() as s:
        return (await s.execute(select(AiSession).where(AiSession.id == session_id))).scalar_one()


async def events_of(db: async_sessionmaker[AsyncSession], handoff_id: str) -> list[Event]:
    async with db() as s:
        stmt = select(Event).where(Event.handoff_id == handoff_id).order_by(Event.id)
        return list((await s.execute(stmt)).scalars().all())


async def deliveries_of_event(db: async_sessionmaker[AsyncSession], event: Event) -> list[Delivery]:
    async with db() as s:
        stmt = select(Delivery).where(Delivery.event_id == event.id)
        return list((await s.execute(stmt)).scalars().all())


def snapshot(h: Handoff) -> dict[str, Any]:
    return {
        c: getattr(h, c)
        for c in (
            "status",
            "claimed_by_id",
            "claimed_at",
            "resolved_at",
            "resolved_by_id",
            "resolution",
            "cancelled_at",
            "updated_at",
        )
    }

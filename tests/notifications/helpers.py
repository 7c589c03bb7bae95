"""Helpers: escalate through the API or the handoffs service, read deliveries and events back;
what the real SMTP server and webhook receiver (fixtures in conftest.py) collect."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.handoffs import service as handoffs_service
from flowpilot.models import Delivery, Event, Handoff, User
from tests.factories import TestUser, open_session


async def escalate_in(
    session: AsyncSession,
    *,
    owner: TestUser,
    session_id: str,
    now: datetime,
    urgency: str = "normal",
    reason: str = "Tried the usual; still offline",
) -> Handoff:
    """Escalate through the real handoffs service, in the caller's (uncommitted) transaction."""
    row = await handoffs_service.escalate(
        session,
        actor=owner.actor,
        session_id=session_id,
        reason=reason,
        urgency=urgency,
        now=now,
        bus=None,
    )
    return row.handoff


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


async def enable_webhook(client: httpx.AsyncClient, admin: TestUser, url: str) -> str:
    response = await client.patch(
        "/api/v1/account/notifications",
        json={"webhook_url": url, "webhook_enabled": True},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    secret = response.json()["webhook_secret"]
    assert secret and secret.startswith("whsec_")
    return str(secret)


async def escalate_api(client: httpx.AsyncClient, owner: TestUser, **fields: Any) -> dict[str, Any]:
    ai = await open_session(client, owner, title="VPN drops every 5 minutes", customer="Initech")
    response = await client.post(
        f"/api/v1/sessions/{ai['id']}/handoff",
        json={"reason": "Tunnel keeps flapping", "urgency": "high", **fields},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: Any = None  # the client's (address, port): one per SMTP connection

    @property
    def delivery_id(self) -> str:
        return str(self.message["X-FlowPilot-Delivery"])

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())  # type: ignore[attr-defined]


class Collector:
    def __init__(self) -> None:
        self.messages: list[Mail] = []
        self.lock = threading.Lock()
        # Hang up right after accepting each message (as a server's idle timeout would).
        self.hang_up_after_each = False
        # A slow server: when set, each message waits (in the server) until it is released.
        self.release: threading.Event | None = None
        self.waiting = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.release is not None:
            with self.lock:
                self.waiting += 1
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            with self.lock:
                self.waiting -= 1
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                Mail(envelope.mail_from, list(envelope.rcpt_tos), msg, session.peer)  # type: ignore[arg-type]
            )
        if self.hang_up_after_each:
            # Runs once the "250" below has been written: the client gets it, then EOF.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    collector: Collector

    @property
    def messages(self) -> list[Mail]:
        with self.collector.lock:
            return list(self.collector.messages)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    delay_seconds: float = 0.0
    # Extra answer headers, e.g. {"Location": ...} with a 3xx status.
    answer_headers: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

"""One-time "claim from the email" links: issued when an escalation email is sent, found by
their secret when opened.

A link is ``<account id>.<secret>``: the account part lets a request that has no login act for
the right account (row-level security) before it looks the secret up; only the secret's
SHA-256 is stored, so the database alone cannot make a working link. One link per delivery:
a retried email gets a fresh secret (the earlier attempt's link stops working).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.context import Context
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.identity import AccountRef
from flowpilot.kernel.tenancy import act_for, scoped
from flowpilot.models import ClaimLink, Delivery
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import HandoffStatus
from flowpilot.models.notifications import Channel
from flowpilot.notifications import repository as repo

LIFETIME = timedelta(hours=24)
# The notices that ask the seniors to claim: these emails carry a link.
LINK_EVENTS = (EventType.HANDOFF_CREATED, EventType.HANDOFF_RENOTIFIED, EventType.HANDOFF_RELEASED)
MAX_TOKEN = 200


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def wants_link(job: repo.Job) -> bool:
    if job.channel != Channel.EMAIL or not job.recipient_id:
        return False
    if job.handoff_status != HandoffStatus.OPEN or job.event_type not in LINK_EVENTS:
        return False
    return job.event_type != EventType.HANDOFF_RELEASED or job.payload.get("reason") == (
        "no_first_action"
    )


async def issue(ctx: Context, job: repo.Job) -> str | None:
    """A fresh link for this email's recipient, or None when the email asks no one to claim."""
    if not wants_link(job) or job.recipient_id is None:
        return None
    now = ctx.clock.now()
    secret = secrets.token_urlsafe(32)
    async with unit_of_work(ctx.system.sessionmaker) as session:  # the dispatcher's path
        stmt = select(Delivery.account_id).where(Delivery.id == job.delivery_id)
        account_id = (await session.execute(stmt)).scalar_one()
        found = select(ClaimLink).where(ClaimLink.delivery_id == job.delivery_id)
        link = (await session.execute(found)).scalar_one_or_none()
        if link is None:
            link = ClaimLink(
                account_id=account_id,
                handoff_id=job.handoff_id,
                recipient_id=job.recipient_id,
                delivery_id=job.delivery_id,
            )
            session.add(link)
        elif link.used_at is not None:
            return None  # already used: a retry of this email carries no second link
        link.token_hash = _digest(secret)
        link.created_at = now
        link.expires_at = now + LIFETIME
        await session.flush()
    return f"{ctx.settings.base_url.rstrip('/')}/claim/{account_id}.{secret}"


async def find(session: AsyncSession, *, token: str, for_update: bool = False) -> ClaimLink | None:
    """The link a token names (its request then acts for the link's account), or None."""
    account_id, _, secret = token.partition(".")
    if not account_id or not secret or len(token) > MAX_TOKEN or not token.isascii():
        return None
    tenant = AccountRef(account_id)
    await act_for(session, tenant)
    stmt = scoped(select(ClaimLink), ClaimLink, tenant).where(
        ClaimLink.token_hash == _digest(secret)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_used(session: AsyncSession, link: ClaimLink, *, now: datetime) -> bool:
    """Use the link up: True for the one request that did (a conditional UPDATE)."""
    result = await session.execute(
        scoped(update(ClaimLink), ClaimLink, link)
        .where(ClaimLink.id == link.id, ClaimLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

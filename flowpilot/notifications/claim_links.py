"""One-time "claim from the email" links: issued when an escalation email is leased for
sending (a whole lease in two statements), found by their secret when opened.

A link is ``<account id>.<secret>``: the account part lets a request that has no login act for
the right account (row-level security) before it looks the secret up; only the secret's
SHA-256 is stored, so the database alone cannot make a working link. One link per delivery:
a retried email gets a fresh secret (the earlier attempt's link stops working).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.db.base import new_id
from flowpilot.kernel.identity import AccountRef
from flowpilot.kernel.tenancy import act_for, scoped
from flowpilot.models import ClaimLink
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


async def issue_many(
    session: AsyncSession, jobs: Sequence[repo.Job], *, now: datetime, base_url: str
) -> dict[str, str]:
    """Fresh links for the recipients of these leased emails, in the leasing transaction:
    {delivery id: link}. A delivery whose earlier link was used gets none (a retry of that
    email carries no second link). Two statements for the whole batch: the deliveries are
    locked by the lease, so no other worker writes their links meanwhile."""
    jobs = [j for j in jobs if wants_link(j) and j.recipient_id is not None]
    if not jobs:
        return {}
    existing = dict(
        (
            await session.execute(
                select(ClaimLink.delivery_id, ClaimLink.used_at).where(
                    ClaimLink.delivery_id.in_([j.delivery_id for j in jobs])
                )
            )
        ).all()
    )
    links: dict[str, str] = {}
    fresh: list[dict[str, object]] = []
    renewed: list[dict[str, object]] = []
    for job in jobs:
        if existing.get(job.delivery_id) is not None:
            continue  # already used
        secret = secrets.token_urlsafe(32)
        links[job.delivery_id] = f"{base_url.rstrip('/')}/claim/{job.account_id}.{secret}"
        values = {"token_hash": _digest(secret), "created_at": now, "expires_at": now + LIFETIME}
        if job.delivery_id in existing:
            renewed.append({"b_delivery_id": job.delivery_id, **values})
        else:
            fresh.append(
                {
                    "id": new_id(),
                    "account_id": job.account_id,
                    "handoff_id": job.handoff_id,
                    "recipient_id": job.recipient_id,
                    "delivery_id": job.delivery_id,
                    **values,
                }
            )
    table = cast(Table, ClaimLink.__table__)
    if fresh:
        await session.execute(insert(table), fresh)
    if renewed:
        await session.execute(
            update(table)
            .where(table.c.delivery_id == bindparam("b_delivery_id"), table.c.used_at.is_(None))
            .values(
                token_hash=bindparam("token_hash"),
                created_at=bindparam("created_at"),
                expires_at=bindparam("expires_at"),
            ),
            renewed,
        )
    return links


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

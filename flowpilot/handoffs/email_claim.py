"""Claim from the email: what a link shows, and the claim it makes as its recipient.

Opening a link (GET) reads only. Submitting it claims through the ordinary atomic claim
(``service.claim``: the same statement, event and metrics) as the link's recipient, with no
password and no login session: afterwards the page shows the context, and anything further
needs an ordinary login. A link is dead once used, once the escalation left ``open``, after 24
hours, or when its recipient is no longer an active engineer or admin; the page says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.handoffs import repository as repo
from flowpilot.handoffs import service
from flowpilot.handoffs.repository import HandoffRow
from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.errors import Conflict, NotFound
from flowpilot.kernel.identity import SENIOR_ROLES, AccountRef, Actor
from flowpilot.models import ClaimLink, User
from flowpilot.models.handoffs import HandoffStatus
from flowpilot.notifications import service as notifications_service

INVALID = "This link is not valid (it may have been cut short). Open the escalation in FlowPilot."


@dataclass(frozen=True)
class EmailClaim:
    """What a link shows: the escalation and its recipient, or why it no longer works."""

    row: HandoffRow | None = None
    recipient: User | None = None
    dead: str | None = None  # in words; None: the link works
    claimed: bool = False

    @property
    def actor(self) -> Actor:
        """The recipient as the claimer (no login session: this request only)."""
        u = self.recipient
        assert u is not None, "only a link with a recipient claims"
        return Actor(u.id, u.account_id, u.role, u.email, u.name, "", "", "email-link")


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "earlier"
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"


def _why_dead(
    link: ClaimLink, row: HandoffRow, recipient: User | None, now: datetime
) -> str | None:
    h = row.handoff
    if h.status == HandoffStatus.CLAIMED:
        who = "You" if h.claimed_by_id == link.recipient_id else row.claimed_by_name or "Someone"
        return f"{who} claimed this {_ago(h.claimed_at, now)}."
    if h.status == HandoffStatus.RESOLVED:
        return f"This escalation was resolved {_ago(h.resolved_at, now)}."
    if h.status == HandoffStatus.CANCELLED:
        who = row.escalated_by_name or "The technician"
        return f"{who} withdrew this escalation {_ago(h.cancelled_at, now)}."
    if link.used_at is not None:
        return f"This link was already used {_ago(link.used_at, now)}."
    if now >= link.expires_at:
        return f"This link expired {_ago(link.expires_at, now)}: a link works for 24 hours."
    if recipient is None or not recipient.active or recipient.role not in SENIOR_ROLES:
        return "This link's recipient can no longer claim escalations in this account."
    return None


async def inspect(
    session: AsyncSession, *, token: str, now: datetime, for_update: bool = False
) -> EmailClaim:
    """The escalation a link names and whether it still works; writes nothing."""
    link = await notifications_service.find_claim_link(session, token=token, for_update=for_update)
    if link is None:
        return EmailClaim(dead=INVALID)
    tenant = AccountRef(link.account_id)
    row = await repo.get_row(session, tenant, link.handoff_id)
    if row is None:
        return EmailClaim(dead=INVALID)
    try:
        recipient: User | None = await accounts_service.get_user(
            session, actor=tenant, user_id=link.recipient_id
        )
    except NotFound:
        recipient = None
    return EmailClaim(row=row, recipient=recipient, dead=_why_dead(link, row, recipient, now))


async def claim(
    session: AsyncSession, *, token: str, now: datetime, bus: Publisher | None
) -> EmailClaim:
    """Claim as the link's recipient (an ordinary claim), using the link up; or say why not."""
    found = await inspect(session, token=token, now=now, for_update=True)
    if found.dead is not None:
        return found
    link = await notifications_service.find_claim_link(session, token=token)
    assert link is not None, "inspect found it in this transaction"
    if not await notifications_service.use_claim_link(session, link=link, now=now):
        return await inspect(session, token=token, now=now)  # used meanwhile: say so
    try:
        row = await service.claim(
            session, actor=found.actor, handoff_id=link.handoff_id, now=now, bus=bus
        )
    except Conflict:
        # Someone claimed it first: the link is spent either way; say who has it.
        return await inspect(session, token=token, now=now)
    return EmailClaim(row=row, recipient=found.recipient, claimed=True)

"""Hand an escalation to a named senior (``POST /handoffs/{id}/assign``).

The current claimer may hand what they hold to another engineer or admin of the account; an
admin may also hand an open or someone else's escalation. The new holder's time to first
action (and the idle guard) counts from the hand-over: ``assigned_at``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.ai_sessions import service as ai_sessions_service
from flowpilot.handoffs import repository as repo
from flowpilot.handoffs import service
from flowpilot.handoffs.repository import HandoffRow
from flowpilot.kernel.bus import Publisher
from flowpilot.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from flowpilot.kernel.identity import SENIOR_ROLES, Actor
from flowpilot.models import User
from flowpilot.models.events import EventType
from flowpilot.models.handoffs import LIVE_STATUSES, HandoffStatus


async def _new_holder(session: AsyncSession, actor: Actor, user_id: str) -> User:
    """An active engineer or admin of the caller's account, else 422 naming ``user_id``."""
    try:
        user = await accounts_service.get_user(session, actor=actor, user_id=user_id)
    except NotFound:
        user = None  # another account's user is simply not one of ours
    if user is None or not user.active or user.role not in SENIOR_ROLES:
        raise Invalid("user_id", "must be an active engineer or admin of this account")
    return user


async def assign(
    session: AsyncSession,
    *,
    actor: Actor,
    handoff_id: str,
    user_id: str,
    now: datetime,
    bus: Publisher | None,
) -> HandoffRow:
    """Hand the escalation to ``user_id``: it is claimed by them from now on."""
    if not actor.is_senior:
        raise Forbidden("only engineers and admins may hand an escalation to someone")
    handoff = await repo.get(session, actor, handoff_id, for_update=True)
    if handoff.status not in LIVE_STATUSES:
        raise Conflict(
            f"handoff is {handoff.status}; only an open or claimed handoff can be handed on",
            status=handoff.status,
            claimed_by_id=handoff.claimed_by_id,
        )
    if not actor.is_admin and (
        handoff.status != HandoffStatus.CLAIMED or handoff.claimed_by_id != actor.id
    ):
        raise Forbidden("only the claimer or an admin may hand this escalation to someone")
    holder = await _new_holder(session, actor, user_id)
    if holder.id == handoff.claimed_by_id:
        raise Invalid("user_id", f"{holder.name} already holds this escalation")
    previous_id = handoff.claimed_by_id
    if handoff.status == HandoffStatus.OPEN:
        handoff.status = HandoffStatus.CLAIMED
        handoff.claimed_at = now
        if handoff.breached_at is None and handoff.claim_due_at and handoff.claim_due_at <= now:
            handoff.breached_at = now  # handed on after the due time: the breach counts
    handoff.claimed_by_id = holder.id
    handoff.assigned_at = now
    # The new holder's first action is theirs to make: it counts from the hand-over.
    handoff.first_action_at = None
    handoff.idle_nudged_at = None
    handoff.updated_at = now
    await session.flush()
    row = await repo.get_row(session, actor, handoff_id)
    assert row is not None and row.ai_session is not None, "the row this request just locked"
    await ai_sessions_service.assign(
        session, ai_session=row.ai_session, assignee_id=holder.id, now=now
    )
    await service.record(
        session,
        tenant=actor,
        row=row,
        type=EventType.HANDOFF_ASSIGNED,
        now=now,
        bus=bus,
        by=actor.id,
        extra={"previous_claimed_by_id": previous_id, "assigned_by_name": actor.name},
        notify=True,
    )
    return row

"""All SQL for AI sessions and steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.tenancy import (
    Tenant,
    get_scoped,
    scoped,
    select_scoped,
    tenant_column,
    tenant_params,
)
from flowpilot.models import AiSession, Handoff, Step, User
from flowpilot.models.handoffs import CLAIMED_STATUSES, LIVE_STATUSES, RollupState


async def add(session: AsyncSession, obj: AiSession | Step) -> None:
    session.add(obj)
    await session.flush()


@cache
def _set_assignee_stmt() -> Any:
    return (
        update(AiSession)
        .where(AiSession.id == bindparam("p_id"), tenant_column(AiSession.account_id))
        .values(assignee_id=bindparam("p_assignee"), updated_at=bindparam("p_now"))
        .execution_options(synchronize_session=False)
    )


async def set_assignee(
    session: AsyncSession, tenant: Tenant, session_id: str, *, assignee_id: str, now: datetime
) -> None:
    """One Core UPDATE built once (no load, no flush): the claim's hot path."""
    params = tenant_params(tenant, p_id=session_id, p_assignee=assignee_id, p_now=now)
    await session.execute(_set_assignee_stmt(), params)


async def get_session(
    session: AsyncSession, tenant: Tenant, session_id: str, *, for_update: bool = False
) -> AiSession:
    return await get_scoped(
        session, AiSession, session_id, tenant, what="session", for_update=for_update
    )


async def list_sessions(
    session: AsyncSession,
    tenant: Tenant,
    *,
    user_id: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> Sequence[AiSession]:
    """The account's sessions; with ``user_id``, only those the user owns or is assigned."""
    stmt = select_scoped(AiSession, tenant)
    if user_id is not None:
        stmt = stmt.where(or_(AiSession.owner_id == user_id, AiSession.assignee_id == user_id))
    if status is not None:
        stmt = stmt.where(AiSession.status == status)
    stmt = (
        stmt.order_by(AiSession.created_at.desc(), AiSession.id.desc()).limit(limit).offset(offset)
    )
    return (await session.execute(stmt)).scalars().all()


async def list_steps(
    session: AsyncSession, tenant: Tenant, session_id: str
) -> Sequence[tuple[Step, str | None]]:
    """A session's steps in order, each with its author's name."""
    stmt = (
        scoped(select(Step, User.name), Step, tenant)
        .outerjoin(User, User.id == Step.actor_id)
        .where(Step.session_id == session_id)
        .order_by(Step.created_at, Step.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def live_handoff_id(session: AsyncSession, tenant: Tenant, session_id: str) -> str | None:
    """The session's open or claimed escalation, if any (read-only; handoffs own the writes)."""
    stmt = (
        select_scoped(Handoff, tenant)
        .where(Handoff.session_id == session_id, Handoff.status.in_(LIVE_STATUSES))
        .with_only_columns(Handoff.id)
    )
    return (await session.execute(stmt)).scalars().first()


# A resolved escalation the analytics pre-aggregate counted with no first action: its first
# action is now to be rolled up too (``analytics/rollup.py``).
_first_action_since = case(
    (Handoff.rollup_state == RollupState.NO_FIRST_ACTION, int(RollupState.FIRST_ACTION_SINCE)),
    else_=Handoff.rollup_state,
)


async def stamp_first_action(
    session: AsyncSession, tenant: Tenant, *, session_id: str, actor_id: str, at: datetime
) -> list[tuple[str, datetime]]:
    """Stamp ``at`` (a new step's time) as the first action on the session's handoffs that
    ``actor_id`` holds, claimed at or before ``at``, and that have none yet.

    ``handoffs.first_action_at`` (time to first action) is written on the steps' write path, so
    analytics aggregates over handoffs alone; release clears it together with the claim, so an
    open handoff never carries one and the claim needs no change.
    """
    stmt = (
        scoped(update(Handoff), Handoff, tenant)
        .where(
            Handoff.session_id == session_id,
            Handoff.claimed_by_id == actor_id,
            Handoff.first_action_at.is_(None),
            Handoff.claimed_at <= at,
            Handoff.status.in_(CLAIMED_STATUSES),
        )
        .values(first_action_at=at, rollup_state=_first_action_since)
        .returning(Handoff.urgency, Handoff.claimed_at)
        .execution_options(synchronize_session=False)
    )
    # (urgency, claimed_at) of each handoff stamped, for the time-to-first-action histogram.
    return [(r.urgency, r.claimed_at) for r in (await session.execute(stmt)).all()]

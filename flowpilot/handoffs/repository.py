"""All SQL for escalations (handoffs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flowpilot.models import AiSession, Handoff, User
from flowpilot.models.handoffs import LIVE_STATUSES
from flowpilot.tenancy import Tenant, get_scoped, scoped


@dataclass(frozen=True)
class HandoffRow:
    """A handoff with what a person needs to recognise it (session, customer, names)."""

    handoff: Handoff
    session_title: str
    customer: str | None
    asset: str | None
    escalated_by_name: str | None
    claimed_by_name: str | None
    ai_session: AiSession | None = None


_escalator = aliased(User, name="escalator")
_claimer = aliased(User, name="claimer")


@cache
def _base_stmt(with_session: bool) -> Any:
    # Built once: statement construction is a measurable share of a queue call. Lists load
    # only the session's display columns; single rows load the session too (a claim
    # re-assigns it, the context screen reads it).
    session_cols: tuple[Any, ...] = (
        (AiSession,) if with_session else (AiSession.title, AiSession.customer, AiSession.asset)
    )
    return (
        select(Handoff, *session_cols, _escalator.name, _claimer.name)
        .join(AiSession, AiSession.id == Handoff.session_id)
        .outerjoin(_escalator, _escalator.id == Handoff.escalated_by_id)
        .outerjoin(_claimer, _claimer.id == Handoff.claimed_by_id)
    )


def _rows_stmt(tenant: Tenant, *, with_session: bool = False) -> Any:
    return scoped(_base_stmt(with_session), Handoff, tenant)


def _row(r: Any) -> HandoffRow:
    if len(r) == 4:
        handoff, ai_session, escalated_by_name, claimed_by_name = r
        return HandoffRow(
            handoff,
            ai_session.title,
            ai_session.customer,
            ai_session.asset,
            escalated_by_name,
            claimed_by_name,
            ai_session,
        )
    return HandoffRow(r[0], r[1], r[2], r[3], r[4], r[5])


async def add(session: AsyncSession, handoff: Handoff) -> Handoff:
    session.add(handoff)
    await session.flush()
    return handoff


async def get(
    session: AsyncSession, tenant: Tenant, handoff_id: str, *, for_update: bool = False
) -> Handoff:
    """The tenant's handoff (fresh from the database), or 404."""
    return await get_scoped(
        session, Handoff, handoff_id, tenant, what="handoff", for_update=for_update
    )


async def reload(session: AsyncSession, tenant: Tenant, handoff_id: str) -> Handoff:
    """Re-read a handoff, overwriting whatever this session had cached for it."""
    stmt = (
        scoped(select(Handoff), Handoff, tenant)
        .where(Handoff.id == handoff_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def get_row(session: AsyncSession, tenant: Tenant, handoff_id: str) -> HandoffRow | None:
    stmt = _rows_stmt(tenant, with_session=True).where(Handoff.id == handoff_id)
    r = (await session.execute(stmt.execution_options(populate_existing=True))).first()
    return _row(r) if r is not None else None


async def live_for_session(
    session: AsyncSession, tenant: Tenant, session_id: str
) -> Handoff | None:
    stmt = scoped(select(Handoff), Handoff, tenant).where(
        Handoff.session_id == session_id, Handoff.status.in_(LIVE_STATUSES)
    )
    return (await session.execute(stmt)).scalars().first()


async def claim_if_open(
    session: AsyncSession, tenant: Tenant, *, handoff_id: str, claimer_id: str, now: datetime
) -> bool:
    """The atomic claim: one conditional UPDATE; True only for the single winner."""
    stmt = (
        update(Handoff)
        .where(
            Handoff.id == handoff_id,
            Handoff.account_id == tenant.account_id,
            Handoff.status == "open",
        )
        .values(status="claimed", claimed_by_id=claimer_id, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = await session.execute(stmt)  # type: ignore[assignment]
    return result.rowcount == 1


async def holder(
    session: AsyncSession, tenant: Tenant, handoff_id: str
) -> tuple[str, str | None, str | None] | None:
    """(status, claimed_by_id, claimer's name) of a handoff: what a refused claimer is told."""
    base: Any = select(Handoff.status, Handoff.claimed_by_id, _claimer.name).outerjoin(
        _claimer, _claimer.id == Handoff.claimed_by_id
    )
    stmt = scoped(base, Handoff, tenant).where(Handoff.id == handoff_id)
    r = (await session.execute(stmt)).first()
    return (r[0], r[1], r[2]) if r is not None else None


async def queue(
    session: AsyncSession,
    tenant: Tenant,
    *,
    statuses: Sequence[str] | None,
    limit: int,
    before: tuple[datetime, str] | None,
) -> list[HandoffRow]:
    """Newest first, keyset-paginated on (created_at, id); ``limit`` rows at most."""
    stmt = _rows_stmt(tenant)
    if statuses is not None:
        if len(statuses) == 1:
            stmt = stmt.where(Handoff.status == statuses[0])
        else:
            stmt = stmt.where(Handoff.status.in_(statuses))
    if before is not None:
        created_at, handoff_id = before
        # The leading "<=" lets the (account_id, status, created_at) index bound the scan.
        stmt = stmt.where(
            Handoff.created_at <= created_at,
            or_(
                Handoff.created_at < created_at,
                and_(Handoff.created_at == created_at, Handoff.id < handoff_id),
            ),
        )
    stmt = stmt.order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(limit)
    return [_row(r) for r in (await session.execute(stmt)).all()]


async def for_session(session: AsyncSession, tenant: Tenant, session_id: str) -> list[HandoffRow]:
    """A session's handoffs, newest first."""
    stmt = (
        _rows_stmt(tenant)
        .where(Handoff.session_id == session_id)
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
    )
    return [_row(r) for r in (await session.execute(stmt)).all()]

"""All SQL for escalations (handoffs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from flowpilot.kernel.tenancy import (
    Tenant,
    get_scoped,
    scoped,
)
from flowpilot.models import AiSession, Handoff, User
from flowpilot.models.handoffs import LIVE_STATUSES, HandoffStatus


class HandoffRow(NamedTuple):
    """A handoff with what a person needs to recognise it (session, customer, names).

    A named tuple: a queue page makes 51 (a frozen dataclass's ``__init__`` cost 3 x as much)."""

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


# The columns of :func:`list_stmt` after the handoff's own, in order.
LIST_DISPLAY = ("session_title", "customer", "asset", "escalated_by_name", "claimed_by_name")


@cache
def list_stmt(columns: tuple[str, ...]) -> Any:
    """The handoff's ``columns`` then :data:`LIST_DISPLAY`, for lists (unscoped: scope it, then
    narrow it).

    Plain columns, not ORM entities: a page's rows are only read (loading 50 entities into the
    session was most of a queue page's CPU); and only the columns a list shows (every column,
    the summary text among them, was a third more to fetch and decode)."""
    table = Handoff.__table__.c
    return (
        select(*(table[c] for c in columns), AiSession.title, AiSession.customer, AiSession.asset)
        .add_columns(_escalator.name, _claimer.name)
        .join(AiSession, AiSession.id == Handoff.session_id)
        .outerjoin(_escalator, _escalator.id == Handoff.escalated_by_id)
        .outerjoin(_claimer, _claimer.id == Handoff.claimed_by_id)
    )


def list_getter(columns: tuple[str, ...], names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The columns ``names`` (of ``columns`` or :data:`LIST_DISPLAY`) of a row of
    ``list_stmt(columns)``, by position, in one call (a page reads them 1,000 times: by name,
    that was most of its encoding)."""
    keys = [*columns, *LIST_DISPLAY]
    return itemgetter(*(keys.index(n) for n in names))


async def list_rows(
    session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None
) -> list[HandoffRow]:
    """Rows of :func:`list_stmt`; each ``handoff`` is the row itself (read-only, with the
    columns asked for as attributes; :func:`list_getter` reads it)."""
    return [
        HandoffRow(cast(Handoff, r), r[-5], r[-4], r[-3], r[-2], r[-1])
        for r in await session.run_sync(_all_rows, stmt, params)
    ]


def _all_rows(session: Session, stmt: Any, params: dict[str, Any] | None) -> Any:
    # Core on the session's connection, in one greenlet: the rows are plain columns, and the
    # ORM's execute and result layers were a measurable share of a queue page's CPU.
    return session.connection().execute(stmt, params).all()


async def for_session(session: AsyncSession, tenant: Tenant, session_id: str) -> list[HandoffRow]:
    """A session's handoffs, newest first."""
    stmt = (
        _rows_stmt(tenant)
        .where(Handoff.session_id == session_id)
        .order_by(Handoff.created_at.desc(), Handoff.id.desc())
    )
    return [_row(r) for r in (await session.execute(stmt)).all()]


# The breach job (every account: the system path) ------------------------------------------
# Written out literally, as the partial index ``ix_handoffs_breach_due`` says it, so PostgreSQL
# can prove the index applies even with a generic prepared plan.
_BREACH_PENDING = text("handoffs.status = 'open' AND handoffs.breached_at IS NULL")


async def breach_candidates(session: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    """Open, not yet breached handoffs whose claim is due (any account), earliest due first."""
    stmt = (
        select(Handoff.id)
        .where(_BREACH_PENDING, Handoff.claim_due_at <= now)
        .order_by(Handoff.claim_due_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars().all())


async def mark_breached(session: AsyncSession, *, handoff_id: str, now: datetime) -> str | None:
    """Stamp ``breached_at`` if the handoff is still open and due: its account for the winner.

    A conditional UPDATE, so of two workers exactly one gets the row (PostgreSQL re-checks the
    condition after waiting on the other's row lock).
    """
    result = await session.execute(
        update(Handoff)
        .where(
            Handoff.id == handoff_id,
            Handoff.status == HandoffStatus.OPEN,
            Handoff.breached_at.is_(None),
            Handoff.claim_due_at <= now,
        )
        .values(breached_at=now)
        .returning(Handoff.account_id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()

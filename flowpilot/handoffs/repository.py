"""All SQL for escalations (handoffs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    case,
    exists,
    literal,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from flowpilot.kernel.db.base import UTCDateTime
from flowpilot.kernel.tenancy import Tenant, get_scoped, scoped, tenant_column, tenant_params
from flowpilot.models import AiSession, Handoff, User
from flowpilot.models.handoffs import LIVE_STATUSES, HandoffStatus


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


def _name_of(user_id: Any) -> Any:
    return select(User.name).where(User.id == user_id).scalar_subquery()


def _session_col(column: Any, session_id: Any) -> Any:
    return select(column).where(AiSession.id == session_id).scalar_subquery()


def _claim_update(h: Table) -> Any:
    return (
        update(h)
        .where(
            h.c.id == bindparam("p_handoff_id"),
            tenant_column(h.c.account_id),
            # IS NOT DISTINCT FROM (the same test: status is never NULL) keeps PostgreSQL on
            # the primary key: without statistics, "= 'open'" let it prefer the queue's index
            # (account_id, status, created_at, id), which reads every open handoff of the
            # account to find this one (BENCHMARKS.md, "Over real HTTP").
            h.c.status.is_not_distinct_from(HandoffStatus.OPEN),
        )
        .values(
            status=HandoffStatus.CLAIMED,
            claimed_by_id=bindparam("p_claimer_id"),
            claimed_at=bindparam("p_now"),
            updated_at=bindparam("p_now"),
            # A claim after the due time records the breach the job had not noticed yet.
            breached_at=case(
                (
                    and_(h.c.breached_at.is_(None), h.c.claim_due_at <= _now_param()),
                    _now_param(),
                ),
                else_=h.c.breached_at,
            ),
        )
    )


def _now_param() -> Any:
    return bindparam("p_now", type_=UTCDateTime())


@cache
def _claim_stmt() -> Any:
    # SQLite: one statement decides the winner AND returns what the answer and the event need,
    # so the winner does not reload: the handoff's columns plus its session's display columns
    # and both names as scalar subqueries (SQLite's RETURNING cannot name an UPDATE ... FROM
    # table). The service then re-assigns the session in a second statement.
    h = cast(Table, Handoff.__table__)
    return _claim_update(h).returning(
        *h.c,
        _session_col(AiSession.title, h.c.session_id).label("title"),
        _session_col(AiSession.customer, h.c.session_id).label("customer"),
        _session_col(AiSession.asset, h.c.session_id).label("asset"),
        _name_of(h.c.escalated_by_id).label("escalated_by_name"),
        _name_of(h.c.claimed_by_id).label("claimed_by_name"),
    )


@cache
def _claim_stmt_pg() -> Any:
    """PostgreSQL: the whole claim decision in ONE round trip (data-modifying CTEs).

    ``claimed`` is the conditional UPDATE (exactly one concurrent caller gets its row);
    ``assigned`` re-assigns the session to the winner in the same statement. The winner gets
    one row with ``won`` true and everything the answer and the event need. A refused caller
    gets the handoff as it is now (``won`` false; a winner that committed while this UPDATE
    waited on the row lock included), or no row when the handoff is not the tenant's. A
    refused row that still reads ``open`` is re-read by :func:`holder`.
    """
    h = cast(Table, Handoff.__table__)
    s = cast(Table, AiSession.__table__)
    claimed = _claim_update(h).returning(*h.c).cte("claimed")
    assigned = (
        update(s)
        .where(s.c.id == claimed.c.session_id, tenant_column(s.c.account_id))
        .values(assignee_id=bindparam("p_claimer_id"), updated_at=bindparam("p_now"))
        .returning(s.c.id, s.c.title, s.c.customer, s.c.asset)
        .cte("assigned")
    )
    won = select(
        literal(True).label("won"),
        *claimed.c,
        assigned.c.title,
        assigned.c.customer,
        assigned.c.asset,
        _name_of(claimed.c.escalated_by_id).label("escalated_by_name"),
        _name_of(claimed.c.claimed_by_id).label("claimed_by_name"),
    ).join_from(claimed, assigned, assigned.c.id == claimed.c.session_id)
    # FOR SHARE: a row changed by a transaction that committed while this statement waited is
    # read as it is now (READ COMMITTED follows a locked row to its latest version), not as
    # the snapshot saw it. Only a refused caller takes it, until its transaction ends. (FOR KEY
    # SHARE would not do: it may lock the old version, as the winner changed no key.)
    latest = (
        select(h)
        .where(
            h.c.id == bindparam("p_handoff_id"),
            tenant_column(h.c.account_id),
            ~exists(select(claimed.c.id)),
        )
        .with_for_update(read=True)
        .cte("latest")
    )
    refused = select(
        literal(False).label("won"),
        *latest.c,
        null().label("title"),
        null().label("customer"),
        null().label("asset"),
        null().label("escalated_by_name"),
        _name_of(latest.c.claimed_by_id).label("claimed_by_name"),
    )
    return union_all(won, refused)


Holder = tuple[str, str | None, str | None]
"""(status, claimed_by_id, claimer's name) of a handoff: what a refused claimer is told."""


@dataclass(frozen=True)
class ClaimOutcome:
    """The claim's result: ``row`` for the single winner, ``holder`` for a refused caller.

    Both None: no such handoff in the tenant. ``session_assigned``: the statement already
    re-assigned the AI session to the winner (PostgreSQL).
    """

    row: HandoffRow | None = None
    holder: Holder | None = None
    session_assigned: bool = False


def _claimed_row(session: AsyncSession, m: Any, handoff_id: str) -> HandoffRow:
    # A transient snapshot of the row as the UPDATE left it (not added to the session). A copy
    # of the row this session loaded earlier would now be stale: expire it so it reloads.
    cached = session.identity_map.get(session.identity_key(Handoff, handoff_id))
    if cached is not None:
        session.expire(cached)
    handoff = Handoff(**{c.key: m[c.key] for c in Handoff.__table__.c})
    return HandoffRow(
        handoff,
        m["title"],
        m["customer"],
        m["asset"],
        m["escalated_by_name"],
        m["claimed_by_name"],
    )


def _first_row(session: Session, stmt: Any, params: dict[str, Any]) -> Any:
    return session.connection().execute(stmt, params).first()


async def claim(
    session: AsyncSession, tenant: Tenant, *, handoff_id: str, claimer_id: str, now: datetime
) -> ClaimOutcome:
    """The atomic claim: one conditional UPDATE; of N concurrent callers exactly one wins."""
    params = tenant_params(tenant, p_handoff_id=handoff_id, p_claimer_id=claimer_id, p_now=now)
    # On the session's connection, not through the ORM's execute: the statement loads no
    # entities, and the ORM layer was a measurable share of a claim's CPU (BENCHMARKS.md).
    # Beginning the transaction and the statement in ONE greenlet (run_sync): each awaited
    # session call spawns one, and a new greenlet maps and unmaps a fresh frame stack.
    if session.get_bind().dialect.name == "postgresql":
        r = await session.run_sync(_first_row, _claim_stmt_pg(), params)
        if r is None:
            return ClaimOutcome()
        m = r._mapping
        if m["won"]:
            return ClaimOutcome(row=_claimed_row(session, m, handoff_id), session_assigned=True)
        if m["status"] != HandoffStatus.OPEN:
            return ClaimOutcome(holder=(m["status"], m["claimed_by_id"], m["claimed_by_name"]))
        return ClaimOutcome(holder=await holder(session, tenant, handoff_id))
    r = await session.run_sync(_first_row, _claim_stmt(), params)
    if r is not None:
        return ClaimOutcome(row=_claimed_row(session, r._mapping, handoff_id))
    return ClaimOutcome(holder=await holder(session, tenant, handoff_id))


@cache
def _holder_stmt() -> Any:
    # Built once (statement construction costs more than the query): scoped by parameter.
    return (
        select(Handoff.status, Handoff.claimed_by_id, _claimer.name)
        .outerjoin(_claimer, _claimer.id == Handoff.claimed_by_id)
        .where(Handoff.id == bindparam("p_handoff_id"))
        .where(tenant_column(Handoff.account_id))
    )


async def holder(session: AsyncSession, tenant: Tenant, handoff_id: str) -> Holder | None:
    """(status, claimed_by_id, claimer's name) of a handoff: what a refused claimer is told."""
    params = tenant_params(tenant, p_handoff_id=handoff_id)
    r = (await session.execute(_holder_stmt(), params)).first()
    return (r[0], r[1], r[2]) if r is not None else None


@cache
def list_stmt() -> Any:
    """Handoffs with their display columns, for lists (unscoped: scope it, then narrow it).

    Plain columns, not ORM entities: a page's rows are only read (loading 50 entities into the
    session was most of a queue page's CPU)."""
    return (
        select(*Handoff.__table__.c, AiSession.title, AiSession.customer, AiSession.asset)
        .add_columns(_escalator.name, _claimer.name)
        .join(AiSession, AiSession.id == Handoff.session_id)
        .outerjoin(_escalator, _escalator.id == Handoff.escalated_by_id)
        .outerjoin(_claimer, _claimer.id == Handoff.claimed_by_id)
    )


def list_getter(names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The handoff columns ``names`` of a row of :func:`list_stmt`, by position (a page reads
    them 1,000 times: by name, that was most of its encoding)."""
    keys = list(Handoff.__table__.c.keys())
    return itemgetter(*(keys.index(n) for n in names))


async def list_rows(
    session: AsyncSession, stmt: Any, params: dict[str, Any] | None = None
) -> list[HandoffRow]:
    """Rows of :func:`list_stmt`; each ``handoff`` is the row itself (read-only, with every
    column of the handoff as an attribute)."""
    return [
        HandoffRow(cast(Handoff, r), r[-5], r[-4], r[-3], r[-2], r[-1])
        for r in (await session.execute(stmt, params)).all()
    ]


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

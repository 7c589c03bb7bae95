"""The atomic claim's SQL: of N concurrent callers exactly one wins, in one statement.

SQLite: one conditional UPDATE ... RETURNING decides the winner and returns what the answer and
the event need; the service then re-assigns the session and appends the event. PostgreSQL: one
call of ``fp_claim`` (migration 0010) does all of it, and outside a transaction it commits by
itself: a claim is one round trip (BENCHMARKS.md, "Over real HTTP").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Engine,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, aliased
from sqlalchemy.util import greenlet_spawn

from flowpilot.handoffs.repository import HandoffRow
from flowpilot.kernel.db.base import UTCDateTime
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.tenancy import TENANT_PARAM, Tenant, tenant_column, tenant_params
from flowpilot.models import AiSession, Handoff, User
from flowpilot.models.handoffs import HandoffStatus

_claimer = aliased(User, name="claimer")


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


# PostgreSQL: the whole claim in ONE database call, ``fp_claim`` (migration 0010): it acts for
# the account, makes the conditional UPDATE above (written out in SQL), re-assigns the session
# and, for the single winner, appends the ``handoff.claimed`` event, its payload the handoff as
# the API writes it. A refused caller gets the handoff's status and holder as they are now.
_CLAIM_CALL = (
    text(
        "SELECT won, status, claimed_by_id, claimed_by_name, event_id, payload"
        f" FROM fp_claim(:{TENANT_PARAM}, :p_handoff_id, :p_claimer_id, :p_now)"
    )
    .bindparams(bindparam("p_now", type_=UTCDateTime()))
    .columns(
        column("won", Boolean),
        column("status", String),
        column("claimed_by_id", String),
        column("claimed_by_name", String),
        column("event_id", BigInteger),
        column("payload", JSON),
    )
)
_TIMES = frozenset(c.key for c in Handoff.__table__.c if isinstance(c.type, UTCDateTime))
_COLUMNS = frozenset(c.key for c in Handoff.__table__.c)


Holder = tuple[str, str | None, str | None]
"""(status, claimed_by_id, claimer's name) of a handoff: what a refused claimer is told."""


@dataclass(frozen=True)
class ClaimOutcome:
    """The claim's result: ``row`` for the single winner, ``holder`` for a refused caller.

    Both None: no such handoff in the tenant. ``event``: the winner's ``handoff.claimed`` event
    the database already appended (its id and payload; PostgreSQL), None where the caller
    re-assigns the session and appends it (SQLite).
    """

    row: HandoffRow | None = None
    holder: Holder | None = None
    event: tuple[int, dict[str, Any]] | None = None


def _expire_cached(session: AsyncSession, handoff_id: str) -> None:
    # A copy of the row this session loaded before the claim is stale now: it reloads.
    cached = session.identity_map.get(session.identity_key(Handoff, handoff_id))
    if cached is not None:
        session.expire(cached)


def _claimed_row(session: AsyncSession, m: Any, handoff_id: str) -> HandoffRow:
    # A transient snapshot of the row as the UPDATE left it (not added to the session).
    _expire_cached(session, handoff_id)
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


def _first_row_autocommit(engine: Engine, stmt: Any, params: dict[str, Any]) -> Any:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn.execute(stmt, params).first()


def _payload_row(session: AsyncSession, payload: dict[str, Any]) -> HandoffRow:
    # A transient handoff from the event's payload (the handoff's columns the answer shows).
    _expire_cached(session, payload["id"])
    values = {
        k: (datetime.fromisoformat(v) if k in _TIMES and v is not None else v)
        for k, v in payload.items()
        if k in _COLUMNS
    }
    return HandoffRow(
        Handoff(**values),
        payload["session_title"],
        payload["customer"],
        payload["asset"],
        payload["escalated_by_name"],
        payload["claimed_by_name"],
    )


async def _claim_pg(session: AsyncSession, params: dict[str, Any]) -> ClaimOutcome:
    if session.in_transaction():
        r = await session.run_sync(_first_row, _CLAIM_CALL, params)
    else:
        # No transaction yet (a remembered caller read nothing): the call is one statement that
        # commits by itself, so a claim is ONE round trip, not BEGIN, the claim, the event and
        # COMMIT. One greenlet for the connection and the statement (see events/repository.py).
        engine = cast(AsyncEngine, session.bind).sync_engine
        r = await greenlet_spawn(_first_row_autocommit, engine, _CLAIM_CALL, params)
    if r is None:
        return ClaimOutcome()
    won, status, claimed_by_id, claimed_by_name, event_id, payload = r
    if won:
        return ClaimOutcome(row=_payload_row(session, payload), event=(event_id, payload))
    # Read by the function's next statement, a fresh snapshot: nothing to read again here.
    return ClaimOutcome(holder=(status, claimed_by_id, claimed_by_name))


async def claim(
    session: AsyncSession, claimer: Actor, *, handoff_id: str, now: datetime
) -> ClaimOutcome:
    """The atomic claim by ``claimer`` (for its account): one conditional UPDATE; of N
    concurrent callers exactly one wins."""
    params = tenant_params(claimer, p_handoff_id=handoff_id, p_claimer_id=claimer.id, p_now=now)
    if session.get_bind().dialect.name == "postgresql":
        return await _claim_pg(session, params)
    # On the session's connection, not through the ORM's execute: the statement loads no
    # entities, and the ORM layer was a measurable share of a claim's CPU (BENCHMARKS.md).
    # Beginning the transaction and the statement in ONE greenlet (run_sync): each awaited
    # session call spawns one, and a new greenlet maps and unmaps a fresh frame stack.
    r = await session.run_sync(_first_row, _claim_stmt(), params)
    if r is not None:
        return ClaimOutcome(row=_claimed_row(session, r._mapping, handoff_id))
    return ClaimOutcome(holder=await holder(session, claimer, handoff_id))


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

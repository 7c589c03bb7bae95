"""All SQL for the event log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy import insert as insert_stmt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from flowpilot.kernel.tenancy import Tenant, scoped
from flowpilot.models import Event, User

_events = cast(Table, Event.__table__)
# Built once: statement construction is a measurable share of a short transaction.
_INSERT = insert_stmt(_events).returning(_events.c.id)
_COLUMNS = ("account_id", "type", "handoff_id", "session_id", "actor_id", "payload", "created_at")
# PostgreSQL: serialise event-writing transactions of one account until they end. Ids come
# from a sequence, so two concurrent transactions could commit ids out of order (11 visible and
# streamed before 10); a consumer that dedupes by "id <= last seen" would then skip 10. The
# transaction-scoped advisory lock, taken by the INSERT itself before its row gets an id and
# held to COMMIT, makes an account's event ids commit in id order. (The lock sits in a FROM
# subquery with a volatile function, which PostgreSQL never flattens into the outer query, so
# it is evaluated before the row and its nextval().)
_ACCOUNT_LOG_LOCK = select(
    func.pg_advisory_xact_lock(func.hashtext(bindparam("lock_key"))).label("locked")
).subquery("account_log_lock")
_INSERT_LOCKED = (
    insert_stmt(_events)
    .from_select(
        list(_COLUMNS),
        select(*(bindparam(c, type_=_events.c[c].type) for c in _COLUMNS)).select_from(
            _ACCOUNT_LOG_LOCK
        ),
    )
    .returning(_events.c.id)
)
_MARK = (
    update(_events)
    .where(_events.c.id.in_(bindparam("ids", expanding=True)), _events.c.published_at.is_(None))
    .values(published_at=bindparam("now"))
)


async def insert(session: AsyncSession, values: dict[str, Any]) -> int:
    """Append one event row; its id; on PostgreSQL under the account's log lock.

    SQLite already serialises writers, so it is a plain INSERT ... RETURNING id. On PostgreSQL
    the statement itself takes the transaction-scoped account lock before the row (and its
    sequence id) is made, one round trip instead of two; see ``_INSERT_LOCKED``.
    """
    if session.new:
        await session.flush()  # rows the event may reference (autoflush is off)
    # Core on the session's connection: the ORM's execute layer adds nothing to an INSERT. One
    # greenlet (run_sync) for connection and statement: each awaited session call spawns one,
    # and a new greenlet maps and unmaps a fresh frame stack.
    if session.get_bind().dialect.name == "postgresql":
        params = {**values, "lock_key": f"events:{values['account_id']}"}
        return int(await session.run_sync(_scalar, _INSERT_LOCKED, params))
    return int(await session.run_sync(_scalar, _INSERT, values))


def _scalar(session: Session, stmt: Any, params: dict[str, Any]) -> Any:
    return session.connection().execute(stmt, params).scalar_one()


async def timeline(
    session: AsyncSession,
    tenant: Tenant,
    *,
    handoff_id: str | None = None,
    session_id: str | None = None,
) -> Sequence[tuple[Event, str | None]]:
    """Audit timeline (oldest first) of a handoff or an AI session, with actor names."""
    stmt = scoped(select(Event, User.name), Event, tenant).outerjoin(
        User, User.id == Event.actor_id
    )
    if handoff_id is not None:
        stmt = stmt.where(Event.handoff_id == handoff_id)
    if session_id is not None:
        stmt = stmt.where(Event.session_id == session_id)
    stmt = stmt.order_by(Event.id)
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def mark_published(
    session: AsyncSession | AsyncConnection, ids: Sequence[int], *, now: datetime
) -> None:
    await session.execute(_MARK, {"ids": list(ids), "now": now})


async def unpublished(session: AsyncSession, *, before: datetime, limit: int) -> Sequence[Event]:
    """Committed events never published, oldest first (every account: the relay's scan)."""
    stmt = (
        select(Event)
        .where(Event.published_at.is_(None), Event.created_at < before)
        .order_by(Event.id)
        .limit(limit)
    )
    return (await session.execute(stmt)).scalars().all()


async def replay(
    session: AsyncSession,
    tenant: Tenant,
    *,
    after_id: int,
    types: Sequence[str],
    limit: int,
    session_id: str | None = None,
) -> Sequence[Event]:
    """The tenant's events of ``types`` with id > ``after_id``, in order (at most ``limit``);
    with ``session_id``, only that AI session's (``ix_events_session_id_id``)."""
    stmt = scoped(select(Event), Event, tenant).where(
        Event.id > after_id, Event.type.in_(list(types))
    )
    if session_id is not None:
        stmt = stmt.where(Event.session_id == session_id)
    stmt = stmt.order_by(Event.id).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def head_id(session: AsyncSession, tenant: Tenant | None = None) -> int:
    """The highest event id (of the tenant, or of the whole log); 0 when there is none."""
    stmt = select(func.max(Event.id))
    if tenant is not None:
        stmt = scoped(stmt, Event, tenant)
    return int((await session.execute(stmt)).scalar_one_or_none() or 0)

"""All SQL for analytics: escalation timings and the manual baseline.

A window is one pass over the account's handoffs: time to claim is ``claimed_at - created_at``
and time to first action ``first_action_at - held_at`` (``held_at``: the hand-over to the current
holder, else the claim), columns of the handoff (the first action is stamped when the holder
writes a step). The escalations stats, the savings sample, weekly, seniors and the export all
count it the same way.
PostgreSQL aggregates (``avg``, ``percentile_cont``) in the database; on SQLite the service
aggregates the per-handoff durations in Python with the same percentile definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Select,
    case,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.tenancy import Tenant, get_scoped, scoped, select_scoped
from flowpilot.models import BaselineObservation, Handoff, User
from flowpilot.models.handoffs import HandoffStatus

PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Timing:
    """One escalation in the window: when it was created, claimed, first acted on."""

    created_at: datetime
    claimed_at: datetime | None
    first_action_at: datetime | None
    # Since when the current holder has it (handed to them, else their claim): the first
    # action counts from here.
    held_at: datetime | None = None


@dataclass(frozen=True)
class Aggregate:
    """Count, average and percentiles (0.5, 0.9) of one duration, computed in the database."""

    n: int
    avg: float | None
    median: float | None
    p90: float | None


def is_postgres(session: AsyncSession) -> bool:
    """Whether the database aggregates (PostgreSQL) or the caller does (SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def held_at() -> Any:
    """When the current holder got the escalation: the hand-over (assign), else the claim. A
    time to first action counts from it (the new holder's first step is theirs to make)."""
    return func.coalesce(Handoff.assigned_at, Handoff.claimed_at)


def micros_pg(later: Any, earlier: Any) -> Any:
    """PostgreSQL: ``later - earlier`` in whole microseconds, a float8 (NULL if either is).
    The interval's float seconds are within an ulp or two of the exact value, far under half a
    microsecond below a century, so rounding them gives the exact count; a third of the cost
    of ``EXTRACT``'s exact numeric."""
    epoch = func.date_part("epoch", later - earlier)
    return func.round(epoch * literal_column("1000000"), type_=Float)


def seconds_pg(later: Any, earlier: Any) -> Any:
    """The duration in float8 seconds: the exact microseconds / 10^6, correctly rounded, the
    same float as ``timedelta.total_seconds()`` (and as ``EXTRACT``'s numeric cast to float8)."""
    return micros_pg(later, earlier) / literal_column("1000000", Float)


def _window(
    tenant: Tenant, since: datetime, until: datetime
) -> Select[datetime, datetime | None, datetime | None, datetime | None]:
    """The tenant's handoffs created in ``(since, until]`` with their claim and first action.

    ``claimed_at`` is the current claim only: release clears it and a re-claim sets it again,
    and resolve keeps it, so "claimed" means "currently claimed, or resolved after a claim".
    ``first_action_at`` is stamped by the steps write path (``handoffs.first_action``) and
    cleared with the claim, so this reads the handoffs alone.
    """
    stmt = select(
        Handoff.created_at.label("created_at"),
        Handoff.claimed_at.label("claimed_at"),
        Handoff.first_action_at.label("first_action_at"),
        held_at().label("held_at"),
    ).where(Handoff.created_at > since, Handoff.created_at <= until)
    return scoped(stmt, Handoff, tenant)


async def timings(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> list[Timing]:
    """Per-escalation timestamps in the window (used where the database cannot aggregate)."""
    rows = (await session.execute(_window(tenant, since, until))).all()
    return [Timing(r.created_at, r.claimed_at, r.first_action_at, r.held_at) for r in rows]


def aggregate_pg_statement(tenant: Tenant, *, since: datetime, until: datetime) -> Select[Any]:
    """PostgreSQL: count, then (n, avg, median, p90) of time to claim and time to first action."""
    w = _window(tenant, since, until).subquery("w")
    # float8 (what percentile_cont takes) sorts and averages faster than EXTRACT's numeric.
    ttc = seconds_pg(w.c.claimed_at, w.c.created_at)
    ttfa = seconds_pg(w.c.first_action_at, w.c.held_at)
    d = select(ttc.label("ttc"), ttfa.label("ttfa")).subquery("d")
    cols: list[Any] = [func.count()]
    for col in (d.c.ttc, d.c.ttfa):
        cols.append(func.count(col))
        cols.append(func.avg(col))
        cols.extend(func.percentile_cont(p).within_group(col) for p in PERCENTILES)
    return select(*cols).select_from(d)


async def aggregate_pg(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> tuple[int, Aggregate, Aggregate]:
    """PostgreSQL: ``(n_escalated, time to claim, time to first action)`` in one query."""
    stmt = aggregate_pg_statement(tenant, since=since, until=until)
    # JIT would compile this plan once a long window's cost estimate crosses jit_above_cost,
    # which takes longer than the aggregate itself; the 30-day window stays far below.
    await session.execute(text("SET LOCAL jit = off"))
    row = (await session.execute(stmt)).one()
    return (
        int(row[0]),
        Aggregate(int(row[1]), _f(row[2]), _f(row[3]), _f(row[4])),
        Aggregate(int(row[5]), _f(row[6]), _f(row[7]), _f(row[8])),
    )


async def first_action_seconds(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> list[float]:
    """Every time to first action (seconds) of escalations created in the window."""
    w = _window(tenant, since, until).where(Handoff.first_action_at.is_not(None)).subquery("w")
    if is_postgres(session):
        seconds = seconds_pg(w.c.first_action_at, w.c.held_at)
        return [float(v) for v in (await session.execute(select(seconds))).scalars().all()]
    rows = (await session.execute(select(w.c.held_at, w.c.first_action_at))).all()
    return [(r.first_action_at - r.held_at).total_seconds() for r in rows if r.held_at]


async def baseline_seconds(session: AsyncSession, tenant: Tenant) -> list[float]:
    """Every baseline observation's seconds for the tenant's account."""
    stmt = scoped(select(BaselineObservation.seconds), BaselineObservation, tenant)
    return [float(v) for v in (await session.execute(stmt)).scalars().all()]


async def baseline_median_pg(session: AsyncSession, tenant: Tenant) -> tuple[int, float | None]:
    """PostgreSQL: ``(n, median)`` of the account's baseline observations."""
    col = BaselineObservation.seconds
    stmt = scoped(
        select(func.count(col), func.percentile_cont(0.5).within_group(col)),
        BaselineObservation,
        tenant,
    )
    row = (await session.execute(stmt)).one()
    return int(row[0]), _f(row[1])


async def list_baseline(
    session: AsyncSession, tenant: Tenant, *, limit: int, offset: int
) -> Sequence[BaselineObservation]:
    stmt = (
        select_scoped(BaselineObservation, tenant)
        .order_by(
            BaselineObservation.observed_at.desc(),
            BaselineObservation.created_at.desc(),
            BaselineObservation.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(stmt)).scalars().all()


async def get_baseline(
    session: AsyncSession, tenant: Tenant, observation_id: str
) -> BaselineObservation:
    return await get_scoped(
        session, BaselineObservation, observation_id, tenant, what="baseline observation"
    )


async def add_baseline(session: AsyncSession, observation: BaselineObservation) -> None:
    session.add(observation)
    await session.flush()


async def delete_baseline(session: AsyncSession, observation: BaselineObservation) -> None:
    await session.delete(observation)
    await session.flush()


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


# Weekly, per senior, per escalation --------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """One group's counts and medians (seconds): a week, or a senior's claims."""

    key: Any
    n_escalated: int
    n_claimed: int
    n_with_action: int
    n_resolved: int
    ttc_median: float | None
    ttfa_median: float | None


def _durations(stmt: Select[Any]) -> Select[Any]:
    """``stmt``'s rows with their time to claim and time to first action (float8 seconds)."""
    w = stmt.subquery("w")
    ttc = seconds_pg(w.c.claimed_at, w.c.created_at)
    ttfa = seconds_pg(w.c.first_action_at, w.c.held_at)
    return select(w, ttc.label("ttc"), ttfa.label("ttfa"))


def _rows(tenant: Tenant, since: datetime, until: datetime, *, half_open: bool) -> Select[Any]:
    """The tenant's handoffs created in ``[since, until)`` (``half_open``) or ``(since, until]``."""
    created = Handoff.created_at
    when = (created >= since, created < until) if half_open else (created > since, created <= until)
    stmt: Any = select(
        Handoff.created_at.label("created_at"),
        Handoff.claimed_at.label("claimed_at"),
        Handoff.first_action_at.label("first_action_at"),
        held_at().label("held_at"),
        Handoff.claimed_by_id.label("claimed_by_id"),
        Handoff.status.label("status"),
    ).where(*when)
    return scoped(stmt, Handoff, tenant)


def _pg_groups(key: Any, d: Any) -> Select[Any]:
    return select(
        key.label("key"),
        func.count(),
        func.count(d.c.claimed_at),
        func.count(d.c.ttfa),
        func.count(case((d.c.status == HandoffStatus.RESOLVED, 1))),
        func.percentile_cont(0.5).within_group(d.c.ttc),
        func.percentile_cont(0.5).within_group(d.c.ttfa),
    ).group_by(key)


def _group(row: Any) -> Group:
    return Group(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4]), _f(row[5]), _f(row[6]))


async def weekly_pg(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> list[Group]:
    """PostgreSQL: one group per Monday (UTC) week with escalations in ``[since, until)``;
    ``key`` is the week's Monday as a naive UTC datetime."""
    d = _durations(_rows(tenant, since, until, half_open=True)).subquery("d")
    week = func.date_trunc("week", func.timezone("UTC", d.c.created_at))
    await session.execute(text("SET LOCAL jit = off"))
    return [_group(r) for r in (await session.execute(_pg_groups(week, d))).all()]


async def seniors_pg(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> list[Group]:
    """PostgreSQL: one group per claimer of escalations created in ``(since, until]``."""
    rows = _rows(tenant, since, until, half_open=False).where(Handoff.claimed_at.is_not(None))
    d = _durations(rows).subquery("d")
    await session.execute(text("SET LOCAL jit = off"))
    return [_group(r) for r in (await session.execute(_pg_groups(d.c.claimed_by_id, d))).all()]


async def window_rows(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime, half_open: bool
) -> list[Any]:
    """Per-escalation timestamps, claimer and status (where the database cannot aggregate)."""
    return list((await session.execute(_rows(tenant, since, until, half_open=half_open))).all())


async def user_names(session: AsyncSession, tenant: Tenant, ids: Sequence[str]) -> dict[str, str]:
    """The tenant's users' names by id."""
    if not ids:
        return {}
    stmt = scoped(select(User.id, User.name).where(User.id.in_(list(ids))), User, tenant)
    return {r.id: r.name for r in (await session.execute(stmt)).all()}


def _export_columns() -> tuple[Any, ...]:
    h = Handoff
    return (
        h.id,
        h.created_at,
        h.urgency,
        h.status,
        h.claimed_at,
        h.claimed_by_id,
        h.first_action_at,
        h.resolved_at,
        h.breached_at,
        h.claim_due_at,
        h.assigned_at,
    )


async def export_rows(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> Sequence[Any]:
    """The export's columns of the tenant's handoffs created in ``(since, until]``, oldest
    first (plain rows, no ORM entities: an export is tens of thousands of them)."""
    stmt: Any = select(*_export_columns()).where(
        Handoff.created_at > since, Handoff.created_at <= until
    )
    stmt = scoped(stmt, Handoff, tenant).order_by(Handoff.created_at, Handoff.id)
    return (await session.execute(stmt)).all()

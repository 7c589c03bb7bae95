"""All SQL for analytics: escalation timings and the manual baseline.

Time to first action is one correlated ``MIN`` per claimed handoff, which PostgreSQL and SQLite
answer with a seek on ``ix_steps_session_id_created_at`` (session, then time from the claim on).
PostgreSQL also aggregates (``avg``, ``percentile_cont``) in the database; on SQLite the service
aggregates the per-handoff durations in Python with the same percentile definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, extract, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import BaselineObservation, Handoff, Step
from flowpilot.tenancy import Tenant, get_scoped, scoped, select_scoped

PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Timing:
    """One escalation in the window: when it was created, claimed, first acted on."""

    created_at: datetime
    claimed_at: datetime | None
    first_action_at: datetime | None


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


def _first_action_at() -> Any:
    """Correlated subquery: the claimer's first step in the session at or after the claim."""
    return (
        select(func.min(Step.created_at))
        .where(
            Step.session_id == Handoff.session_id,
            Step.created_at >= Handoff.claimed_at,
            Step.actor_id == Handoff.claimed_by_id,
            Step.account_id == Handoff.account_id,
        )
        .correlate(Handoff)
        .scalar_subquery()
    )


def _window(tenant: Tenant, since: datetime, until: datetime) -> Select[Any]:
    """The tenant's handoffs created in ``(since, until]`` with their claim and first action."""
    # claimed_at is the current claim only: release clears it and a re-claim sets it again,
    # and resolve keeps it, so "claimed" means "currently claimed, or resolved after a claim".
    stmt = select(
        Handoff.created_at.label("created_at"),
        Handoff.claimed_at.label("claimed_at"),
        _first_action_at().label("first_action_at"),
    ).where(Handoff.created_at > since, Handoff.created_at <= until)
    return scoped(stmt, Handoff, tenant)


async def timings(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> list[Timing]:
    """Per-escalation timestamps in the window (used where the database cannot aggregate)."""
    rows = (await session.execute(_window(tenant, since, until))).all()
    return [Timing(r.created_at, r.claimed_at, r.first_action_at) for r in rows]


def aggregate_pg_statement(tenant: Tenant, *, since: datetime, until: datetime) -> Select[Any]:
    """PostgreSQL: count, then (n, avg, median, p90) of time to claim and time to first action."""
    w = _window(tenant, since, until).subquery("w")
    ttc = extract("epoch", w.c.claimed_at - w.c.created_at)
    ttfa = extract("epoch", w.c.first_action_at - w.c.claimed_at)
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
    row = (await session.execute(stmt)).one()
    return (
        int(row[0]),
        Aggregate(int(row[1]), _f(row[2]), _f(row[3]), _f(row[4])),
        Aggregate(int(row[5]), _f(row[6]), _f(row[7]), _f(row[8])),
    )


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

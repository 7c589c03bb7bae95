"""Escalation metrics broken down: by Monday (UTC) week and by senior (the per-escalation
export is ``export.py``).

PostgreSQL groups and takes medians in the database; SQLite hands the rows over and this module
groups them with the same median definition, so both give the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics import bootstrap
from flowpilot.analytics import repository as repo
from flowpilot.analytics.schemas import SeniorRow, WeekRow
from flowpilot.analytics.service import MIN_SAMPLE, check_days, percentile, round_seconds
from flowpilot.kernel.errors import Invalid
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models.handoffs import HandoffStatus

MIN_WEEKS, MAX_WEEKS = 1, 104


def check_weeks(weeks: int) -> int:
    """The number of weeks, or 422 naming ``weeks``."""
    if not MIN_WEEKS <= weeks <= MAX_WEEKS:
        raise Invalid("weeks", f"must be between {MIN_WEEKS} and {MAX_WEEKS}")
    return weeks


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _median(values: Iterable[float]) -> float | None:
    return percentile(sorted(values), 0.5)


def _groups(rows: Iterable[Any], key: Any) -> list[repo.Group]:
    """Python's version of ``repository._pg_groups`` over ``window_rows``."""
    buckets: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        buckets[key(r)].append(r)
    out = []
    for k, members in buckets.items():
        ttc = [(r.claimed_at - r.created_at).total_seconds() for r in members if r.claimed_at]
        ttfa = [
            (r.first_action_at - r.held_at).total_seconds()
            for r in members
            if r.held_at and r.first_action_at
        ]
        resolved = sum(1 for r in members if r.status == HandoffStatus.RESOLVED)
        out.append(
            repo.Group(k, len(members), len(ttc), len(ttfa), resolved, _median(ttc), _median(ttfa))
        )
    return out


async def weekly(
    session: AsyncSession, *, tenant: Tenant, weeks: int, now: datetime
) -> list[WeekRow]:
    """The last ``weeks`` Monday (UTC) weeks, this one included, oldest first; empty weeks too."""
    check_weeks(weeks)
    current = week_start(now)
    since, until = current - timedelta(weeks=weeks - 1), current + timedelta(weeks=1)
    if repo.is_postgres(session):
        groups = await repo.weekly_pg(session, tenant, since=since, until=until)
        by_week = {g.key.replace(tzinfo=UTC): g for g in groups}
    else:
        rows = await repo.window_rows(session, tenant, since=since, until=until, half_open=True)
        by_week = {g.key: g for g in _groups(rows, lambda r: week_start(r.created_at))}
    items = []
    for i in range(weeks):
        start = since + timedelta(weeks=i)
        g = by_week.get(start)
        items.append(
            WeekRow(
                week_start=start,
                n_escalated=g.n_escalated if g else 0,
                n_claimed=g.n_claimed if g else 0,
                n_with_action=g.n_with_action if g else 0,
                time_to_claim_median_seconds=round_seconds(g.ttc_median) if g else None,
                time_to_first_action_median_seconds=round_seconds(g.ttfa_median) if g else None,
            )
        )
    return items


async def seniors(
    session: AsyncSession, *, tenant: Tenant, days: int, now: datetime
) -> list[SeniorRow]:
    """Per claimer, escalations created in the last ``days``: most claims first, then by name."""
    check_days(days)
    since = now - timedelta(days=days)
    if repo.is_postgres(session):
        groups = await repo.seniors_pg(session, tenant, since=since, until=now)
    else:
        rows = await repo.window_rows(session, tenant, since=since, until=now, half_open=False)
        groups = _groups((r for r in rows if r.claimed_at), lambda r: r.claimed_by_id)
    names = await repo.user_names(session, tenant, [g.key for g in groups])
    items = [
        SeniorRow(
            user_id=g.key,
            name=names.get(g.key, ""),
            n_claimed=g.n_escalated,
            n_with_action=g.n_with_action,
            time_to_first_action_median_seconds=round_seconds(g.ttfa_median),
            n_resolved=g.n_resolved,
        )
        for g in groups
    ]
    return sorted(items, key=lambda s: (-s.n_claimed, s.name, s.user_id))


@dataclass(frozen=True)
class WeekSavings:
    """One Monday (UTC) week's hours saved and its 95 % interval; null below the minimum
    sample on either side (the same rule as the window's verdict)."""

    week_start: datetime
    hours: float | None
    low: float | None
    high: float | None


async def weekly_savings(
    session: AsyncSession, *, tenant: Tenant, weeks: int, now: datetime
) -> list[WeekSavings]:
    """Per week, oldest first: all baseline times against that week's times to first action,
    at that week's escalation rate (escalations created in it, per week)."""
    check_weeks(weeks)
    current = week_start(now)
    since, until = current - timedelta(weeks=weeks - 1), current + timedelta(weeks=1)
    baseline = await repo.baseline_seconds(session, tenant)
    rows = await repo.window_rows(session, tenant, since=since, until=until, half_open=True)
    created: dict[datetime, int] = defaultdict(int)
    acted: dict[datetime, list[float]] = defaultdict(list)
    for r in rows:
        start = week_start(r.created_at)
        created[start] += 1
        if r.held_at and r.first_action_at:
            acted[start].append((r.first_action_at - r.held_at).total_seconds())
    base_median = percentile(sorted(baseline), 0.5)
    out = []
    for i in range(weeks):
        start = since + timedelta(weeks=i)
        values = acted.get(start, [])
        if len(baseline) < MIN_SAMPLE or len(values) < MIN_SAMPLE or base_median is None:
            out.append(WeekSavings(start, None, None, None))
            continue
        per_week = float(created[start])
        point = (base_median - (percentile(sorted(values), 0.5) or 0.0)) * per_week / 3600
        interval = bootstrap.hours_interval(baseline, values, per_week)
        out.append(
            WeekSavings(start, round(point, 4), round(interval.low, 4), round(interval.high, 4))
        )
    return out

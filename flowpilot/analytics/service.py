"""Escalation metrics, the manual baseline and hours saved per week: the rules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics import bootstrap, claim_targets, window_pg
from flowpilot.analytics import repository as repo
from flowpilot.analytics.schemas import (
    MAX_BASELINE_SECONDS,
    DurationStats,
    EscalationStats,
    Savings,
    Verdict,
)
from flowpilot.kernel.errors import Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.tenancy import Tenant
from flowpilot.models import BaselineObservation

MIN_DAYS, MAX_DAYS = 1, 365
BAR_HOURS_PER_WEEK = 1.0
MIN_SAMPLE = 5
# Seconds are reported to the millisecond, so SQLite and PostgreSQL give identical numbers.
DECIMALS = 3
# An observation may be dated a little ahead of the server's clock (a browser's clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)

METRIC_DEFINITION = (
    "Escalations created in the {days} days before {end} (the window). "
    "Time to claim: from the escalation's creation to its current claim; an escalation that was "
    "released and claimed again counts from the final claim, and one that is not claimed now "
    "(never claimed, released, or cancelled) is left out. "
    "Time to first action: from that claim to the first session step made by the claimer at or "
    "after the claim; steps by anyone else, steps before the claim and assistant suggestions do "
    "not count, and a claimed escalation with no such step is left out. An escalation handed to "
    "a named senior counts from the hand-over, for the new holder's own first step. "
    "Averages, medians and 90th percentiles (linear interpolation) are in seconds; "
    "null means no data."
)

SAVINGS_DEFINITION = (
    "hours_saved_per_week = (baseline median - in-product median time to first action) "
    "x escalations per week / 3600. The baseline median is over ALL of the account's manual "
    "stopwatch observations (they are usually taken before or early in a pilot, so they are not "
    "limited to the window); the in-product median is over escalations created in the last "
    "{days} days that have a first action; escalations per week = escalations in the window / "
    "({days} / 7). The low and high values are a {confidence:g} % bootstrap interval: both "
    "samples are resampled with replacement, independently, and the interval holds the middle "
    "{confidence:g} % of the resulting hours saved (computed exactly, so the same data always "
    "gives the same interval). Verdict: insufficient_data when either sample has fewer than "
    "{min_sample}; otherwise above_bar when the whole interval is above {bar} hour/week, "
    "below_bar when it is all below, inconclusive when it contains {bar}. "
    "Negative means slower than the baseline."
)


def check_days(days: int) -> int:
    """The window length in days, or 422 naming ``days``."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise Invalid("days", f"must be between {MIN_DAYS} and {MAX_DAYS}")
    return days


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Linear-interpolation percentile: the same definition as PostgreSQL's ``percentile_cont``."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * p
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def round_seconds(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _stats(values: Sequence[float]) -> DurationStats:
    ordered = sorted(values)
    avg = sum(ordered) / len(ordered) if ordered else None
    return DurationStats(
        avg_seconds=round_seconds(avg),
        median_seconds=round_seconds(percentile(ordered, 0.5)),
        p90_seconds=round_seconds(percentile(ordered, 0.9)),
    )


def _stats_from(agg: repo.Aggregate) -> DurationStats:
    return DurationStats(
        avg_seconds=round_seconds(agg.avg),
        median_seconds=round_seconds(agg.median),
        p90_seconds=round_seconds(agg.p90),
    )


@dataclass(frozen=True)
class _Window:
    n_escalated: int
    n_claimed: int
    n_with_action: int
    time_to_claim: DurationStats
    time_to_first_action: DurationStats
    # Claim-target counts by urgency, when the pre-aggregate answered (else measured apart).
    targets: dict[str, tuple[int, int]] | None = None


async def _measure(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> _Window:
    if repo.is_postgres(session):
        m = await window_pg.measure(session, tenant, since=since, until=until)
        if m is not None:
            stats = _stats_from(m.ttc), _stats_from(m.ttfa)
            return _Window(m.n_escalated, m.ttc.n, m.ttfa.n, *stats, targets=m.targets)
        n, ttc, ttfa = await repo.aggregate_pg(session, tenant, since=since, until=until)
        return _Window(n, ttc.n, ttfa.n, _stats_from(ttc), _stats_from(ttfa))
    rows = await repo.timings(session, tenant, since=since, until=until)
    to_claim = [(r.claimed_at - r.created_at).total_seconds() for r in rows if r.claimed_at]
    to_action = [
        (r.first_action_at - (r.held_at or r.claimed_at)).total_seconds()
        for r in rows
        if r.claimed_at and r.first_action_at
    ]
    return _Window(len(rows), len(to_claim), len(to_action), _stats(to_claim), _stats(to_action))


async def escalation_stats(
    session: AsyncSession, *, tenant: Tenant, days: int, now: datetime
) -> EscalationStats:
    """Time to claim and time to first action over escalations created in the last ``days``."""
    check_days(days)
    since = now - timedelta(days=days)
    w = await _measure(session, tenant, since=since, until=now)
    return EscalationStats(
        days=days,
        window_start=since,
        window_end=now,
        n_escalated=w.n_escalated,
        n_claimed=w.n_claimed,
        n_with_action=w.n_with_action,
        time_to_claim=w.time_to_claim,
        time_to_first_action=w.time_to_first_action,
        metric_definition=METRIC_DEFINITION.format(
            days=days, end=now.strftime("%Y-%m-%d %H:%M UTC")
        ),
        claim_target_met=claim_targets.summarize(w.targets)
        if w.targets is not None
        else await claim_targets.measure(session, tenant, since=since, until=now),
    )


@dataclass(frozen=True)
class WeekPoint:
    """One week of the chart: escalations created in ``(start, end]``."""

    start: datetime
    end: datetime
    n_escalated: int
    median_time_to_claim: float | None
    median_time_to_first_action: float | None


async def weekly_medians(
    session: AsyncSession, *, tenant: Tenant, now: datetime, weeks: int = 12
) -> list[WeekPoint]:
    """Median time to claim and to first action per week, oldest week first."""
    points = []
    for i in range(weeks, 0, -1):
        end = now - timedelta(weeks=i - 1)
        start = end - timedelta(weeks=1)
        w = await _measure(session, tenant, since=start, until=end)
        points.append(
            WeekPoint(
                start,
                end,
                w.n_escalated,
                w.time_to_claim.median_seconds,
                w.time_to_first_action.median_seconds,
            )
        )
    return points


async def baseline_median(session: AsyncSession, *, tenant: Tenant) -> tuple[int, float | None]:
    """``(n, median seconds)`` over all the account's baseline observations."""
    if repo.is_postgres(session):
        n, median = await repo.baseline_median_pg(session, tenant)
        return n, round_seconds(median)
    values = sorted(await repo.baseline_seconds(session, tenant))
    return len(values), round_seconds(percentile(values, 0.5))


def verdict(n_baseline: int, n_in_product: int, low: float | None, high: float | None) -> Verdict:
    """``insufficient_data`` below the minimum sample on either side, else the interval
    against the bar: ``above_bar`` when its low end is above, ``below_bar`` when its high end
    is below, ``inconclusive`` when it contains the bar."""
    if n_baseline < MIN_SAMPLE or n_in_product < MIN_SAMPLE or low is None or high is None:
        return "insufficient_data"
    if low > BAR_HOURS_PER_WEEK:
        return "above_bar"
    if high < BAR_HOURS_PER_WEEK:
        return "below_bar"
    return "inconclusive"


async def savings(
    session: AsyncSession,
    *,
    tenant: Tenant,
    days: int,
    now: datetime,
    stats: EscalationStats | None = None,
) -> Savings:
    """Hours saved per week against the manual baseline, with both sample sizes and a verdict."""
    check_days(days)
    if stats is None:
        stats = await escalation_stats(session, tenant=tenant, days=days, now=now)
    n_baseline, base_median = await baseline_median(session, tenant=tenant)
    in_product = stats.time_to_first_action.median_seconds
    per_week = stats.n_escalated / (days / 7)
    hours = low = high = None
    if base_median is not None and in_product is not None:
        hours = round((base_median - in_product) * per_week / 3600, 4)
        baseline_values = await repo.baseline_seconds(session, tenant)
        product_values = await repo.first_action_seconds(
            session, tenant, since=stats.window_start, until=stats.window_end
        )
        interval = bootstrap.hours_interval(baseline_values, product_values, per_week)
        low, high = round(interval.low, 4), round(interval.high, 4)
    return Savings(
        days=days,
        baseline_median_seconds=base_median,
        in_product_median_seconds=in_product,
        escalations_per_week=round(per_week, 4),
        hours_saved_per_week=hours,
        hours_saved_per_week_low=low,
        hours_saved_per_week_high=high,
        confidence=bootstrap.CONFIDENCE,
        n_baseline=n_baseline,
        n_in_product=stats.n_with_action,
        n_escalated=stats.n_escalated,
        verdict=verdict(n_baseline, stats.n_with_action, low, high),
        bar_hours_per_week=BAR_HOURS_PER_WEEK,
        min_sample=MIN_SAMPLE,
        definition=SAVINGS_DEFINITION.format(
            days=days,
            min_sample=MIN_SAMPLE,
            bar=BAR_HOURS_PER_WEEK,
            confidence=bootstrap.CONFIDENCE * 100,
        ),
    )


# Manual baseline --------------------------------------------------------------------------


def _check_seconds(seconds: float) -> float:
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_BASELINE_SECONDS):
        raise Invalid("seconds", f"must be more than 0 and at most {MAX_BASELINE_SECONDS}")
    return float(seconds)


def _check_observed_at(observed_at: datetime, now: datetime) -> datetime:
    if observed_at.tzinfo is None:
        raise Invalid("observed_at", "must include a timezone")
    if observed_at > now + FUTURE_TOLERANCE:
        raise Invalid("observed_at", "must not be in the future")
    return observed_at


def _check_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > 2000:
        raise Invalid("note", "must be at most 2000 characters")
    return note


async def list_baseline(
    session: AsyncSession, *, tenant: Tenant, limit: int = 200, offset: int = 0
) -> Sequence[BaselineObservation]:
    """The account's baseline observations, newest observation first."""
    return await repo.list_baseline(session, tenant, limit=limit, offset=offset)


async def add_baseline(
    session: AsyncSession,
    *,
    actor: Actor,
    seconds: float,
    note: str | None,
    observed_at: datetime | None,
    now: datetime,
) -> BaselineObservation:
    """Record one stopwatch time of an escalation handled the old way."""
    observation = BaselineObservation(
        account_id=actor.account_id,
        seconds=_check_seconds(seconds),
        note=_check_note(note),
        observed_at=_check_observed_at(observed_at or now, now),
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    await repo.add_baseline(session, observation)
    return observation


async def update_baseline(
    session: AsyncSession,
    *,
    actor: Actor,
    observation_id: str,
    changes: dict[str, Any],
    now: datetime,
) -> BaselineObservation:
    """Change an observation's seconds, note or time (only the fields given)."""
    observation = await repo.get_baseline(session, actor, observation_id)
    # Check every field before changing any, so a bad field never leaves a half-applied edit.
    updates: dict[str, Any] = {}
    for name in ("seconds", "observed_at"):
        if name in changes and changes[name] is None:
            raise Invalid(name, "must not be null")
    if "seconds" in changes:
        updates["seconds"] = _check_seconds(changes["seconds"])
    if "observed_at" in changes:
        updates["observed_at"] = _check_observed_at(changes["observed_at"], now)
    if "note" in changes:
        updates["note"] = _check_note(changes["note"])
    for name, value in updates.items():
        setattr(observation, name, value)
    observation.updated_at = now
    await session.flush()
    return observation


async def delete_baseline(session: AsyncSession, *, actor: Actor, observation_id: str) -> None:
    """Delete one of the account's observations (404 for other accounts' ids)."""
    observation = await repo.get_baseline(session, actor, observation_id)
    await repo.delete_baseline(session, observation)

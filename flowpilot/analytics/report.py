"""The operator's pilot report: every account's escalation metrics against the 1 h/week bar.

Built from the same service functions as the API (no SQL of its own); rendered as a rich
table, JSON or CSV by ``flowpilot pilot-report``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.analytics import breakdown, service
from flowpilot.kernel.identity import AccountRef

FORMATS = ("table", "json", "csv", "html")
TREND_WEEKS = 12


@dataclass(frozen=True)
class TrendWeek:
    """One Monday (UTC) week of an account's trend."""

    week_start: str
    n_escalated: int
    time_to_claim_median_seconds: float | None
    time_to_first_action_median_seconds: float | None
    hours_saved_per_week: float | None
    hours_saved_per_week_low: float | None
    hours_saved_per_week_high: float | None


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    account: str
    escalations: int
    claimed: int
    with_action: int
    median_time_to_claim_seconds: float | None
    median_time_to_first_action_seconds: float | None
    baseline_median_seconds: float | None
    n_baseline: int
    escalations_per_week: float
    hours_saved_per_week: float | None
    hours_saved_per_week_low: float | None
    hours_saved_per_week_high: float | None
    confidence: float
    verdict: str
    # Oldest week first, the current week last.
    weeks: list[TrendWeek]


async def pilot_report(
    session: AsyncSession,
    *,
    days: int,
    now: datetime,
    on_account: Callable[[int, int], None] | None = None,
) -> list[AccountRow]:
    """Every account's metrics over the last ``days``; ``on_account(done, total)`` after each."""
    service.check_days(days)
    accounts = await accounts_service.all_accounts(session)
    rows = []
    for i, account in enumerate(accounts, start=1):
        tenant = AccountRef(account.id)
        stats = await service.escalation_stats(session, tenant=tenant, days=days, now=now)
        saved = await service.savings(session, tenant=tenant, days=days, now=now, stats=stats)
        weekly = await breakdown.weekly(session, tenant=tenant, weeks=TREND_WEEKS, now=now)
        bands = await breakdown.weekly_savings(session, tenant=tenant, weeks=TREND_WEEKS, now=now)
        trend = [
            TrendWeek(
                week_start=w.week_start.date().isoformat(),
                n_escalated=w.n_escalated,
                time_to_claim_median_seconds=w.time_to_claim_median_seconds,
                time_to_first_action_median_seconds=w.time_to_first_action_median_seconds,
                hours_saved_per_week=b.hours,
                hours_saved_per_week_low=b.low,
                hours_saved_per_week_high=b.high,
            )
            for w, b in zip(weekly, bands, strict=True)
        ]
        rows.append(
            AccountRow(
                account_id=account.id,
                account=account.name,
                escalations=stats.n_escalated,
                claimed=stats.n_claimed,
                with_action=stats.n_with_action,
                median_time_to_claim_seconds=stats.time_to_claim.median_seconds,
                median_time_to_first_action_seconds=stats.time_to_first_action.median_seconds,
                baseline_median_seconds=saved.baseline_median_seconds,
                n_baseline=saved.n_baseline,
                escalations_per_week=saved.escalations_per_week,
                hours_saved_per_week=saved.hours_saved_per_week,
                hours_saved_per_week_low=saved.hours_saved_per_week_low,
                hours_saved_per_week_high=saved.hours_saved_per_week_high,
                confidence=saved.confidence,
                verdict=saved.verdict,
                weeks=trend,
            )
        )
        if on_account is not None:
            on_account(i, len(accounts))
    return rows


def duration(seconds: float | None) -> str:
    """Human duration: ``45.2s``, ``3m 05s``, ``2h 10m``; an em dash for no data."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def above_bar(rows: Sequence[AccountRow]) -> str:
    """The report's last line: how many pilots clear the bar."""
    k = sum(1 for r in rows if r.verdict == "above_bar")
    return f"{k} of {len(rows)} pilots above the bar"


def to_json(rows: Sequence[AccountRow], *, days: int, now: datetime) -> str:
    payload: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "days": days,
        "bar_hours_per_week": service.BAR_HOURS_PER_WEEK,
        "min_sample": service.MIN_SAMPLE,
        "accounts": [asdict(r) for r in rows],
        "n_above_bar": sum(1 for r in rows if r.verdict == "above_bar"),
        "summary": above_bar(rows),
    }
    return json.dumps(payload, indent=2)


def _trend_cell(weeks: Sequence[TrendWeek]) -> str:
    """The weekly trend in one CSV cell: ``week_start=hours[low..high]`` separated by ``;``."""
    parts = []
    for w in weeks:
        if w.hours_saved_per_week is None:
            parts.append(f"{w.week_start}=")
        else:
            parts.append(
                f"{w.week_start}={w.hours_saved_per_week}"
                f"[{w.hours_saved_per_week_low}..{w.hours_saved_per_week_high}]"
            )
    return ";".join(parts)


def to_csv(rows: Sequence[AccountRow]) -> str:
    out = io.StringIO()
    fields = list(AccountRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = {k: "" if v is None else v for k, v in asdict(row).items()}
        values["weeks"] = _trend_cell(row.weeks)
        writer.writerow(values)
    return out.getvalue()


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(weeks: Sequence[TrendWeek]) -> str:
    """Hours saved per week as block characters (a space for a week without a range)."""
    values = [w.hours_saved_per_week for w in weeks]
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    lo, hi = min(known), max(known)
    span = hi - lo or 1.0
    return "".join(
        " " if v is None else SPARK[round((v - lo) / span * (len(SPARK) - 1))] for v in values
    )


VERDICT_STYLE = {
    "above_bar": "green",
    "below_bar": "red",
    "inconclusive": "yellow",
    "insufficient_data": "yellow",
}


def to_table(rows: Sequence[AccountRow], *, days: int) -> Any:
    """A ``rich.table.Table`` of the report."""
    from rich.table import Table

    table = Table(
        title=f"Pilot report: last {days} days (bar: {service.BAR_HOURS_PER_WEEK:g} h/week saved)",
        caption=(
            "Medians; time to first action = claim -> the claimer's first step. "
            f"Range: 95 % bootstrap interval. Trend: hours saved, last {TREND_WEEKS} weeks. "
            + above_bar(rows)
        ),
    )
    for name, justify in (
        ("Account", "left"),
        ("Escalations", "right"),
        ("Claimed", "right"),
        ("With action", "right"),
        ("Claim (median)", "right"),
        ("First action (median)", "right"),
        ("Baseline median (n)", "right"),
        ("Saved h/week", "right"),
        ("95 % range", "right"),
        ("Weekly trend", "left"),
        ("Verdict", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "Account")  # type: ignore[arg-type]
    for r in rows:
        hours = "—" if r.hours_saved_per_week is None else f"{r.hours_saved_per_week:.2f}"
        low, high = r.hours_saved_per_week_low, r.hours_saved_per_week_high
        interval = "—" if low is None or high is None else f"{low:.2f} to {high:.2f}"
        style = VERDICT_STYLE.get(r.verdict, "")
        table.add_row(
            r.account,
            str(r.escalations),
            str(r.claimed),
            str(r.with_action),
            duration(r.median_time_to_claim_seconds),
            duration(r.median_time_to_first_action_seconds),
            f"{duration(r.baseline_median_seconds)} ({r.n_baseline})",
            hours,
            interval,
            sparkline(r.weeks),
            f"[{style}]{r.verdict}[/{style}]" if style else r.verdict,
        )
    return table

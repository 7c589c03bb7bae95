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
from flowpilot.analytics import service
from flowpilot.kernel.identity import AccountRef

FORMATS = ("table", "json", "csv")


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
    verdict: str


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
                verdict=saved.verdict,
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


def to_json(rows: Sequence[AccountRow], *, days: int, now: datetime) -> str:
    payload: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "days": days,
        "bar_hours_per_week": service.BAR_HOURS_PER_WEEK,
        "min_sample": service.MIN_SAMPLE,
        "accounts": [asdict(r) for r in rows],
    }
    return json.dumps(payload, indent=2)


def to_csv(rows: Sequence[AccountRow]) -> str:
    out = io.StringIO()
    fields = list(AccountRow.__dataclass_fields__)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in asdict(row).items()})
    return out.getvalue()


VERDICT_STYLE = {"above_bar": "green", "below_bar": "red", "insufficient_data": "yellow"}


def to_table(rows: Sequence[AccountRow], *, days: int) -> Any:
    """A ``rich.table.Table`` of the report."""
    from rich.table import Table

    table = Table(
        title=f"Pilot report: last {days} days (bar: {service.BAR_HOURS_PER_WEEK:g} h/week saved)",
        caption="Medians; time to first action = claim -> the claimer's first step.",
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
        ("Verdict", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "Account")  # type: ignore[arg-type]
    for r in rows:
        hours = "—" if r.hours_saved_per_week is None else f"{r.hours_saved_per_week:.2f}"
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
            f"[{style}]{r.verdict}[/{style}]" if style else r.verdict,
        )
    return table

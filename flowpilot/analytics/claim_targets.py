"""Claim target met: of the escalations whose claim was due, how many were claimed in time.

Kept apart from the timing statistics (``service.escalation_stats`` adds it as one field).

An escalation created in the window counts as *due* once its ``claim_due_at`` has passed (at
the end of the window), unless it was withdrawn before then (cancelled, never breached). It
*met* the target when it was never recorded open past its due time: no ``breached_at``, and not
still open now (an open one past its due time has breached even before the breach job stamped
it). One grouped count, the same SQL and the same integers on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.analytics.schemas import ClaimTargetMet, TargetCount
from flowpilot.kernel.tenancy import Tenant, scoped
from flowpilot.models import Handoff
from flowpilot.models.handoffs import TRIAGE_RANK, HandoffStatus


def _count(n_due: int, n_met: int) -> TargetCount:
    pct = round(100 * n_met / n_due, 1) if n_due else None
    return TargetCount(n_due=n_due, n_met=n_met, pct=pct)


async def measure(
    session: AsyncSession, tenant: Tenant, *, since: datetime, until: datetime
) -> ClaimTargetMet:
    """Overall and per urgency (most urgent first); ``pct`` is null when nothing was due."""
    withdrawn_in_time = and_(
        Handoff.status == HandoffStatus.CANCELLED, Handoff.breached_at.is_(None)
    )
    met = and_(Handoff.breached_at.is_(None), Handoff.status != HandoffStatus.OPEN)
    stmt = scoped(
        select(Handoff.urgency, func.count(), func.sum(case((met, 1), else_=0)))
        .where(
            Handoff.created_at > since,
            Handoff.created_at <= until,
            Handoff.claim_due_at <= until,
            not_(withdrawn_in_time),
        )
        .group_by(Handoff.urgency),
        Handoff,
        tenant,
    )
    counts = {u: (int(n), int(m or 0)) for u, n, m in (await session.execute(stmt)).all()}
    return summarize(counts)


def summarize(counts: dict[str, tuple[int, int]]) -> ClaimTargetMet:
    """``{urgency: (n_due, n_met)}`` as the field: overall and every urgency, most urgent first."""
    by_urgency = {
        u: _count(*counts.get(u, (0, 0))) for u in sorted(TRIAGE_RANK, key=TRIAGE_RANK.__getitem__)
    }
    n_due = sum(c.n_due for c in by_urgency.values())
    n_met = sum(c.n_met for c in by_urgency.values())
    return ClaimTargetMet(**_count(n_due, n_met).model_dump(), by_urgency=by_urgency)

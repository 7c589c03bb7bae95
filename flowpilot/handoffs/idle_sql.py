"""SQL of the claimed-but-idle guard (every account: the system path).

Both steps are conditional UPDATEs on the exact holding they were chosen for (same holder, same
claim and hand-over times, still no first action), so of two workers exactly one acts and
nothing happens to a handoff that moved on meanwhile (a step, a release, a hand-over, resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import Account, Handoff
from flowpilot.models.handoffs import HandoffStatus

# Written out literally, as the partial index ``ix_handoffs_idle`` says it.
_IDLE = text("handoffs.status = 'claimed' AND handoffs.first_action_at IS NULL")


@dataclass(frozen=True)
class Holding:
    """One claimed handoff whose holder has not acted yet, with its account's settings."""

    handoff_id: str
    claimed_by_id: str
    claimed_at: datetime
    assigned_at: datetime | None
    idle_nudged_at: datetime | None
    nudge_minutes: int
    release_minutes: int | None

    @property
    def held_since(self) -> datetime:
        return self.assigned_at or self.claimed_at


async def idle_holdings(session: AsyncSession, *, now: datetime, limit: int) -> list[Holding]:
    """Claimed handoffs without a first action, held at least a minute, with a step to do."""
    stmt = (
        select(
            Handoff.id,
            Handoff.claimed_by_id,
            Handoff.claimed_at,
            Handoff.assigned_at,
            Handoff.idle_nudged_at,
            Account.idle_claim_nudge_minutes,
            Account.idle_claim_release_minutes,
        )
        .join(Account, Account.id == Handoff.account_id)
        .where(
            _IDLE,
            Handoff.claimed_at <= now - timedelta(minutes=1),
            # Nudged and never released automatically: nothing left to do for this holding.
            or_(Handoff.idle_nudged_at.is_(None), Account.idle_claim_release_minutes.isnot(None)),
        )
        .order_by(Handoff.claimed_at)
        .limit(limit)
    )
    rows: list[Any] = list((await session.execute(stmt)).all())
    return [Holding(*row) for row in rows]


def _same_holding(h: Holding) -> list[Any]:
    assigned = (
        Handoff.assigned_at.is_(None)
        if h.assigned_at is None
        else Handoff.assigned_at == h.assigned_at
    )
    return [
        Handoff.id == h.handoff_id,
        Handoff.status == HandoffStatus.CLAIMED,
        Handoff.claimed_by_id == h.claimed_by_id,
        Handoff.claimed_at == h.claimed_at,
        assigned,
        Handoff.first_action_at.is_(None),
    ]


async def mark_nudged(session: AsyncSession, h: Holding, *, now: datetime) -> str | None:
    """Stamp ``idle_nudged_at`` on the still idle holding: its account for the one winner."""
    result = await session.execute(
        update(Handoff)
        .where(*_same_holding(h), Handoff.idle_nudged_at.is_(None))
        .values(idle_nudged_at=now)
        .returning(Handoff.account_id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def release_idle(session: AsyncSession, h: Holding, *, now: datetime) -> str | None:
    """Put the still idle holding back to ``open``: its account for the one winner."""
    result = await session.execute(
        update(Handoff)
        .where(*_same_holding(h))
        .values(
            status=HandoffStatus.OPEN,
            claimed_by_id=None,
            claimed_at=None,
            assigned_at=None,
            first_action_at=None,
            idle_nudged_at=None,
            updated_at=now,
        )
        .returning(Handoff.account_id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()

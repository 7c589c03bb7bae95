"""Delivery records and the escalation chain (issue 5 fills this in)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import Event, Handoff


async def plan_deliveries(
    session: AsyncSession, *, handoff: Handoff, event: Event, now: datetime
) -> None:
    """Create the pending delivery records for ``event`` in the caller's transaction.

    Called by the handoffs service for ``handoff.created`` (and by the escalation chain for
    re-notifications), so the records commit or roll back together with the escalation.
    """
    return None

"""The first action stamped on a handoff when its claimer writes a step (time to first action).

``handoffs.first_action_at`` is the claimer's first step in the handoff's session at or after
the current claim. The steps write path (``ai_sessions.service.add_step``) calls this module
for every step with a human author, before it locks the session (the lock order of claim,
release and resolve: handoff, then session); release clears the stamp together with the
claim, so an open handoff never carries one and the claim itself needs no change. Analytics
then aggregates over the handoffs alone. This lives apart from ``handoffs.service`` because
that module imports ``ai_sessions.service`` (claims re-assign sessions): importing it back
would be a cycle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.models import Handoff
from flowpilot.tenancy import Tenant, scoped

# The statuses in which a handoff has a claim (``claimed_at``): release clears it, cancel
# needs an open handoff.
CLAIMED_STATUSES = ("claimed", "resolved")


async def record(
    session: AsyncSession, tenant: Tenant, *, session_id: str, actor_id: str, at: datetime
) -> None:
    """Stamp ``at`` (a new step's time) as the first action on the session's handoffs that
    ``actor_id`` holds, claimed at or before ``at``, and that have none yet."""
    stmt = (
        scoped(update(Handoff), Handoff, tenant)
        .where(
            Handoff.session_id == session_id,
            Handoff.claimed_by_id == actor_id,
            Handoff.first_action_at.is_(None),
            Handoff.claimed_at <= at,
            Handoff.status.in_(CLAIMED_STATUSES),
        )
        .values(first_action_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)

"""The "Hand to…" control on the handoff context and the session view: whom it may go to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.assistant import service as assistant_service
from flowpilot.handoffs.schemas import HandoffOut
from flowpilot.kernel.identity import Actor


@dataclass(frozen=True)
class Choice:
    user_id: str
    name: str
    note: str  # e.g. "resolved 2 similar", or "" for the rest of the seniors


def may_hand_on(actor: Actor, handoff: HandoffOut) -> bool:
    """The claimer (of what they hold), and admins (of anything open or claimed)."""
    if handoff.status == "claimed":
        return handoff.claimed_by_id == actor.id or actor.is_admin
    return handoff.status == "open" and actor.is_admin


async def choices(session: AsyncSession, *, actor: Actor, handoff: HandoffOut) -> list[Choice]:
    """Active seniors of the account, the suggested ones (resolved similar sessions) first."""
    if not may_hand_on(actor, handoff):
        return []
    suggested = await assistant_service.suggested_seniors(
        session, tenant=actor, handoff_id=handoff.id
    )
    out: list[Choice] = []
    seen = {handoff.claimed_by_id}
    for s in suggested:
        if s["user_id"] in seen:
            continue
        n = s["resolved_similar"]
        out.append(Choice(s["user_id"], s["name"], f"resolved {n} similar"))
        seen.add(s["user_id"])
    for user in sorted(await accounts_service.seniors(session, tenant=actor), key=lambda u: u.name):
        if user.id not in seen:
            out.append(Choice(user.id, user.name, ""))
            seen.add(user.id)
    return out

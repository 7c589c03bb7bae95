"""Pydantic shapes for escalations (handoffs): inputs, the flat handoff view, context, queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, StringConstraints

from flowpilot.kernel.schemas import LongText, StrictInput
from flowpilot.models.handoffs import Urgency

QueueStatus = Literal["open", "claimed", "resolved", "cancelled", "live", "all"]
QueueSort = Literal["newest", "oldest", "urgency"]
ClaimedBy = Literal["me"]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class EscalateIn(StrictInput):
    reason: Reason
    urgency: Urgency = Urgency.NORMAL


class AssignIn(StrictInput):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ResolveIn(StrictInput):
    resolution: LongText


class HandoffOut(BaseModel):
    """The contract's handoff plus display fields; also the event payload / SSE ``data:``."""

    id: str
    session_id: str
    account_id: str
    status: str
    reason: str
    urgency: str
    escalated_by_id: str
    claimed_by_id: str | None
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    # created_at + the account's claim target for the urgency; breached_at: when it was
    # recorded still open at or after claim_due_at (null: not breached).
    claim_due_at: datetime | None
    breached_at: datetime | None
    # The holder's first step (null: no action yet) and when they were handed it (null: they
    # claimed it themselves); "claimed 12 min ago · no action yet" is read from these.
    first_action_at: datetime | None = None
    assigned_at: datetime | None = None
    session_title: str
    customer: str | None
    asset: str | None
    escalated_by_name: str | None
    claimed_by_name: str | None


class TimelineEntry(BaseModel):
    id: int
    type: str
    actor_id: str | None
    actor_name: str | None
    created_at: datetime
    payload: dict[str, Any]


class HandoffWithTimeline(HandoffOut):
    timeline: list[TimelineEntry]


class PersonRef(BaseModel):
    id: str
    name: str | None


class ProblemSection(BaseModel):
    title: str
    problem: str
    customer: str | None
    asset: str | None
    reason: str
    urgency: str
    escalated_by: PersonRef
    escalated_at: datetime


class TriedStep(BaseModel):
    id: str
    kind: str
    content: str
    author: PersonRef | None
    created_at: datetime


class NextSteps(BaseModel):
    open_questions: list[TriedStep]
    last_result: TriedStep | None
    suggestions: list[str]


class HandoffContext(BaseModel):
    problem: ProblemSection
    tried: list[TriedStep]
    environment: dict[str, Any]
    next_steps: NextSteps


class HandoffDetail(HandoffWithTimeline):
    context: HandoffContext


class QueuePage(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None


class SessionHandoffs(BaseModel):
    items: list[HandoffWithTimeline]

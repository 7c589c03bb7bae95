"""The handoff context: the four sections a senior reads before acting."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flowpilot.handoffs.repository import HandoffRow
from flowpilot.handoffs.schemas import (
    HandoffContext,
    NextSteps,
    PersonRef,
    ProblemSection,
    TriedStep,
)
from flowpilot.models import AiSession, Step
from flowpilot.models.ai_sessions import StepKind

_UNSURE = re.compile(r"\b(unknown|unclear)\b", re.IGNORECASE)


def tried_steps(steps: Sequence[tuple[Step, str | None]]) -> list[TriedStep]:
    """Every step of the session in order, with its author (None for assistant steps)."""
    return [
        TriedStep(
            id=step.id,
            kind=step.kind,
            content=step.content,
            author=PersonRef(id=step.actor_id, name=name) if step.actor_id else None,
            created_at=step.created_at,
        )
        for step, name in steps
    ]


def is_open_question(step: TriedStep) -> bool:
    """A note that asks something or admits something is not known yet."""
    if step.kind != StepKind.NOTE:
        return False
    text = step.content.strip()
    return text.endswith("?") or bool(_UNSURE.search(text))


def next_steps(tried: Sequence[TriedStep]) -> NextSteps:
    """Open questions and the last result; the assistant adds ``suggestions`` later."""
    results = [s for s in tried if s.kind == StepKind.RESULT]
    return NextSteps(
        open_questions=[s for s in tried if is_open_question(s)],
        last_result=results[-1] if results else None,
        suggestions=[],
    )


def build(
    row: HandoffRow, ai_session: AiSession, steps: Sequence[tuple[Step, str | None]]
) -> HandoffContext:
    """Problem, what was tried, environment and next steps for one handoff."""
    handoff = row.handoff
    tried = tried_steps(steps)
    return HandoffContext(
        problem=ProblemSection(
            title=ai_session.title,
            problem=ai_session.problem,
            customer=ai_session.customer,
            asset=ai_session.asset,
            reason=handoff.reason,
            urgency=handoff.urgency,
            escalated_by=PersonRef(id=handoff.escalated_by_id, name=row.escalated_by_name),
            escalated_at=handoff.created_at,
        ),
        tried=tried,
        environment=dict(ai_session.environment or {}),
        next_steps=next_steps(tried),
    )

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from flowpilot.kernel.schemas import Output, StrictInput

Question = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
# An answer as streamed: at most 20,000 characters plus the "answer cut" notice.
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20100)]


class AskIn(StrictInput):
    question: Question | None = None


class KeepIn(StrictInput):
    """An answer the assistant streamed, with the token its stream ended with."""

    answer: Answer
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SuggestedSenior(Output):
    user_id: str
    name: str
    resolved_similar: int


class SuggestedSeniors(Output):
    items: list[SuggestedSenior]


class HandoffSummary(BaseModel):
    """The handoff context's four sections; each has a readable ``text`` plus its facts."""

    problem: dict[str, Any]
    tried: dict[str, Any]
    environment: dict[str, Any]
    next_steps: dict[str, Any]
    similar: list[dict[str, Any]]
    generated_by: str
    # Who wrote it, in words: "Suggested from 3 similar resolved sessions".
    source: str | None = None
    generated_at: str | None = None
    fallback_reason: str | None = None
    version: int | None = None

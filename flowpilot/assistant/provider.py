"""The assistant's provider interface, the context it works from, and the configured choice.

A provider turns a session's context (its steps plus the most similar resolved sessions of the
account) into streamed text. Two real implementations: ``OfflineProvider`` (retrieval only, no
network, the default) and ``OpenAICompatProvider`` (any server speaking the OpenAI chat
completions API), chosen by configuration alone: ``FLOWPILOT_LLM_BASE_URL`` set means the model
(``service.build_provider``, once per process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flowpilot.assistant.retrieval import Hit
from flowpilot.kernel.errors import DomainError


class AssistantUnavailable(DomainError):
    """The configured model could not answer (unreachable, HTTP error, stalled, malformed)."""

    status_code = 502


@dataclass
class StepView:
    kind: str
    content: str
    actor_name: str | None
    created_at: datetime


@dataclass
class SessionContext:
    """Everything a provider may use, loaded before any streaming starts."""

    session_id: str
    title: str
    problem: str
    customer: str | None
    asset: str | None
    environment: dict[str, Any]
    status: str
    resolution: str | None
    steps: list[StepView]
    similar: list[Hit]
    reason: str | None = None  # the escalation's reason, for handoff summaries
    urgency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def human_steps(self) -> list[StepView]:
        return [s for s in self.steps if s.kind != "assistant"]

    def tried(self) -> list[dict[str, Any]]:
        """Actions paired with the results that followed them, in order; notes on their own."""
        items: list[dict[str, Any]] = []
        for step in self.human_steps():
            if step.kind == "result" and items and items[-1]["kind"] == "action":
                last = items[-1]
                last["result"] = (
                    f"{last['result']}\n{step.content}" if last["result"] else step.content
                )
                continue
            items.append(
                {
                    "kind": step.kind,
                    "action": step.content if step.kind == "action" else None,
                    "note": step.content if step.kind == "note" else None,
                    "result": step.content if step.kind == "result" else None,
                    "by": step.actor_name,
                    "at": step.created_at.isoformat(),
                }
            )
        return items


class Provider(Protocol):
    """What the assistant needs from a provider; every answer is a stream of text chunks."""

    @property
    def generated_by(self) -> str:
        """``OFFLINE`` or the model's name, recorded on what it produced."""
        ...

    def ask(self, ctx: SessionContext, question: str | None) -> AsyncIterator[str]:
        """Suggest next steps for the session (or answer ``question``)."""
        ...

    def writeup(self, ctx: SessionContext) -> AsyncIterator[str]:
        """A customer-ready write-up: problem, cause, fix, steps."""
        ...

    async def summarize(self, ctx: SessionContext) -> dict[str, Any]:
        """The handoff context's four sections (plus ``similar`` and ``generated_by``)."""
        ...


OFFLINE = "offline"
# How a provider waits between streamed pieces (``asyncio.sleep``; tests pass one that records).
Pause = Callable[[float], Awaitable[None]]


def source_words(generated_by: str, n_similar: int) -> str:
    """Who wrote an answer, in words: "Suggested from 3 similar resolved sessions"."""
    if n_similar == 1:
        similar = "1 similar resolved session"
    else:
        similar = f"{n_similar} similar resolved sessions"
    if generated_by == OFFLINE:
        if not n_similar:
            return "No resolved session looks like this one yet"
        return f"Suggested from {similar}"
    if not n_similar:
        return f"Written by the model {generated_by}; no resolved session looks like this one yet"
    return f"Written by the model {generated_by} from {similar}"

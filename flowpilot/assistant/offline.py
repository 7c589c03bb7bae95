"""The offline provider: no network, no model; answers from the account's resolved sessions.

Deterministic: the same session and corpus always give the same text. Answers are built line
by line and streamed as they are built, with a short pause between lines (injectable, so tests
never sleep) so that a person sees the answer arrive.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from flowpilot.assistant.provider import OFFLINE, Pause, SessionContext, source_words
from flowpilot.assistant.retrieval import Band, Hit
from flowpilot.assistant.text import TermKind

MAX_STEPS_PER_SOURCE = 3
SILENT = "No resolved session looks like this one yet"
# What a write-up says where the session does not tell; "Save as resolution" stays off for it.
CAUSE_UNKNOWN = "(Not determined yet: write what caused it.)"
FIX_UNKNOWN = "(Not found in the steps: write what fixed it.)"
# A result that says the action before it worked (and does not say it did not).
_WORKED = re.compile(
    r"\b(works?|worked|working|fixed|resolved|solved|back online|back to normal|prints?|printed"
    r"|connect(?:s|ed)|stable|gone|succeed(?:s|ed)?|ok|okay|normal(?:ly)?|restored|charging"
    r"|appear(?:s|ed)|signed in|synced|delivered|approved|no more|no longer|validates)\b",
    re.I,
)
_NOT_WORKED = re.compile(
    r"\b(not|no change|still|fail(?:s|ed|ing)?|error|but|won'?t|can'?t|doesn'?t|didn'?t|isn'?t"
    r"|keeps?|stuck|offline|then|same)\b",
    re.I,
)
_STATES_CAUSE = re.compile(r"\b(because|caused by|due to|root cause|the cause|culprit)\b", re.I)
_KINDS = (TermKind.MODEL, TermKind.ERROR, TermKind.SYMPTOM)
_KIND_WORDS = {TermKind.MODEL: "model", TermKind.ERROR: "error text", TermKind.SYMPTOM: "symptom"}
_BAND_WORDS = {Band.STRONG: "strong match", Band.FAIR: "fair match"}


def _clip(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def why(hit: Hit) -> dict[str, list[str]]:
    """The words the suggestion shares with the session, by kind (model, error, symptom)."""
    return {kind.value: hit.why(kind) for kind in _KINDS}


def why_text(hit: Hit) -> str:
    """``model: ZD420, Zebra; symptom: blank, labels`` (kinds with no shared word left out)."""
    parts = [
        f"{_KIND_WORDS[kind]}: {', '.join(words)}" for kind in _KINDS if (words := hit.why(kind))
    ]
    return "; ".join(parts) or "shared wording"


def band_words(band: str) -> str:
    return _BAND_WORDS.get(band, band)


def citation(hit: Hit, n: int) -> dict[str, Any]:
    """A similar session as cited in answers and summaries, with why it matches."""
    doc = hit.doc
    return {
        "n": n,
        "session_id": doc.session_id,
        "title": doc.title,
        "url": hit.url,
        "resolved_by_id": doc.resolved_by_id,
        "resolved_by_name": doc.resolved_by_name,
        "resolved_at": doc.resolved_at.isoformat() if doc.resolved_at else None,
        "score": round(hit.score, 4),
        "relevance": round(hit.relevance, 3),
        "band": hit.band,
        "why": why(hit),
        "why_text": why_text(hit),
    }


def source_actions(hit: Hit) -> list[str]:
    """The last few action steps of a similar session (the ones closest to its fix)."""
    actions = [_clip(c, 200) for kind, c in hit.doc.steps if kind == "action"]
    return actions[-MAX_STEPS_PER_SOURCE:]


def next_steps(similar: list[Hit]) -> list[dict[str, Any]]:
    """One suggestion per similar resolved session: its resolution and the actions behind it."""
    return [
        {
            "suggestion": _clip(hit.doc.resolution),
            "actions": source_actions(hit),
            "source": citation(hit, n),
        }
        for n, hit in enumerate(similar, start=1)
    ]


def _silent_lines() -> Iterator[str]:
    yield f"{SILENT}, so there is nothing to suggest."
    yield "Record each thing you try as an action step and what happened as a result step:"
    yield "once a session like this one is resolved, suggestions will come from it."


def next_steps_lines(similar: list[Hit]) -> Iterator[str]:
    """The suggestions as text, built one at a time (or the silence line)."""
    if not similar:
        yield from _silent_lines()
        return
    yield f"{source_words(OFFLINE, len(similar))}:"
    yield ""
    for n, hit in enumerate(similar, start=1):
        yield f"{n}. {_clip(hit.doc.resolution)}"
        yield f"   Why it matches: {why_text(hit)} ({band_words(hit.band)})"
        actions = source_actions(hit)
        if actions:
            yield f"   What was done there: {'; '.join(actions)}"
        yield (
            f"   [{n}] {hit.doc.title} ({hit.url}), "
            f"resolved by {hit.doc.resolved_by_name or 'an unknown user'}"
        )


def ask_lines(ctx: SessionContext, question: str | None) -> Iterator[str]:
    if question:
        yield f"You asked: {_clip(question, 300)}"
        yield ""
    yield from next_steps_lines(ctx.similar)
    tried = [t for t in ctx.tried() if t["kind"] == "action"]
    if tried and ctx.similar:
        done = {" ".join((t["action"] or "").lower().split()) for t in tried}
        repeats = [
            a
            for hit in ctx.similar
            for a in source_actions(hit)
            if " ".join(a.lower().split()) in done
        ]
        if repeats:
            yield ""
            yield f"Already tried in this session: {'; '.join(sorted(set(repeats)))}."


def environment_text(env: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in env.items()) or "No environment recorded."


def tried_text(items: list[dict[str, Any]]) -> str:
    if not items:
        return "Nothing recorded yet."
    lines = []
    for n, item in enumerate(items, start=1):
        if item["kind"] == "action":
            outcome = item["result"] or "no result recorded"
            lines.append(f"{n}. Tried: {item['action']} → {outcome}")
        elif item["kind"] == "note":
            lines.append(f"{n}. Note: {item['note']}")
        else:
            lines.append(f"{n}. Observed: {item['result']}")
    return "\n".join(lines)


def problem_text(ctx: SessionContext) -> str:
    who = " / ".join(x for x in (ctx.customer, ctx.asset) if x)
    head = f"{ctx.title}" + (f" ({who})" if who else "")
    text = f"{head}: {_clip(ctx.problem, 1000)}"
    if ctx.reason:
        text += f"\nEscalated ({ctx.urgency or 'normal'}): {_clip(ctx.reason, 1000)}"
    return text


def extractive_summary(ctx: SessionContext, *, generated_by: str = OFFLINE) -> dict[str, Any]:
    """The four handoff sections, taken verbatim from the session and similar resolved ones."""
    tried = ctx.tried()
    return {
        "problem": {
            "text": problem_text(ctx),
            "title": ctx.title,
            "customer": ctx.customer,
            "asset": ctx.asset,
            "symptom": ctx.problem,
            "reason": ctx.reason,
            "urgency": ctx.urgency,
        },
        "tried": {"text": tried_text(tried), "items": tried},
        "environment": {
            "text": environment_text(ctx.environment),
            "items": dict(ctx.environment),
        },
        "next_steps": {
            "text": "\n".join(next_steps_lines(ctx.similar)),
            "items": next_steps(ctx.similar),
        },
        "similar": [citation(h, n) for n, h in enumerate(ctx.similar, start=1)],
        "generated_by": generated_by,
        "source": source_words(generated_by, len(ctx.similar)),
    }


def worked(result: str | None) -> bool:
    """Whether a recorded result says the action before it worked."""
    return (
        bool(result) and bool(_WORKED.search(result or "")) and not _NOT_WORKED.search(result or "")
    )


def found_fix(ctx: SessionContext) -> str | None:
    """The session's fix as a person recorded it: its resolution, or the last action whose
    result says it worked."""
    if ctx.resolution:
        return ctx.resolution
    for item in reversed(ctx.tried()):
        if item["kind"] == "action" and worked(item["result"]):
            return f"{item['action']} (result: {item['result']})"
    return None


def found_cause(ctx: SessionContext) -> str | None:
    """A cause a person wrote down in a note or result ("... because ...", "caused by ...")."""
    for step in reversed(ctx.human_steps()):
        if step.kind in ("note", "result") and _STATES_CAUSE.search(step.content):
            return step.content
    return None


def writeup_lines(ctx: SessionContext) -> Iterator[str]:
    tried = ctx.tried()
    actions = [t for t in tried if t["kind"] == "action"]
    yield f"Subject: {ctx.title}"
    yield ""
    yield "Problem"
    yield problem_text(ctx).split("\nEscalated")[0]
    yield ""
    yield "Cause"
    yield _clip(found_cause(ctx) or CAUSE_UNKNOWN, 1000)
    yield ""
    yield "Fix"
    yield _clip(found_fix(ctx) or FIX_UNKNOWN, 1000)
    yield ""
    yield "Steps taken"
    if actions:
        for n, item in enumerate(actions, start=1):
            outcome = f" → {item['result']}" if item["result"] else ""
            yield f"{n}. {item['action']}{outcome}"
    else:
        yield "No steps recorded."
    if ctx.environment:
        yield ""
        yield "Environment"
        yield environment_text(ctx.environment)


class OfflineProvider:
    """Retrieval-only assistant: suggestions and summaries quoted from resolved sessions."""

    def __init__(self, *, pace_seconds: float = 0.0, pause: Pause = asyncio.sleep) -> None:
        self.pace_seconds = pace_seconds
        self.pause = pause

    @property
    def generated_by(self) -> str:
        return OFFLINE

    async def _stream(self, lines: Iterable[str]) -> AsyncIterator[str]:
        for n, line in enumerate(lines):
            if n and self.pace_seconds > 0:
                await self.pause(self.pace_seconds)
            yield line + "\n"

    def ask(self, ctx: SessionContext, question: str | None) -> AsyncIterator[str]:
        return self._stream(ask_lines(ctx, question))

    def writeup(self, ctx: SessionContext) -> AsyncIterator[str]:
        return self._stream(writeup_lines(ctx))

    async def summarize(self, ctx: SessionContext) -> dict[str, Any]:
        return extractive_summary(ctx)

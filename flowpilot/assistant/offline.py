"""The offline provider: no network, no model; answers from the account's resolved sessions.

Deterministic: the same session and corpus always give the same text, chunk for chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from flowpilot.assistant.provider import SessionContext
from flowpilot.assistant.retrieval import Hit

MAX_STEPS_PER_SOURCE = 3


def _clip(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _resolver(hit: Hit) -> str:
    return hit.doc.resolved_by_name or "an unknown user"


def citation(hit: Hit, n: int) -> dict[str, Any]:
    """A similar session as cited in answers and summaries."""
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


def _next_steps_lines(similar: list[Hit]) -> list[str]:
    if not similar:
        return [
            "No similar resolved sessions in this account yet, so there is nothing to draw on.",
            "Record each thing you try as an action step and what happened as a result step:",
            "once sessions like this one are resolved, suggestions will come from them.",
        ]
    lines = [f"Suggested next steps, from {len(similar)} similar resolved session(s):", ""]
    for item in next_steps(similar):
        src = item["source"]
        lines.append(f"{src['n']}. {item['suggestion']}")
        if item["actions"]:
            lines.append(f"   What was done there: {'; '.join(item['actions'])}")
        lines.append(
            f"   [{src['n']}] {src['title']} ({src['url']}), "
            f"resolved by {src['resolved_by_name'] or 'an unknown user'}"
        )
    return lines


def ask_lines(ctx: SessionContext, question: str | None) -> list[str]:
    lines: list[str] = []
    if question:
        lines += [f"You asked: {_clip(question, 300)}", ""]
    lines += _next_steps_lines(ctx.similar)
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
            lines += ["", f"Already tried in this session: {'; '.join(sorted(set(repeats)))}."]
    return lines


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


def extractive_summary(ctx: SessionContext, *, generated_by: str = "offline") -> dict[str, Any]:
    """The four handoff sections, taken verbatim from the session and similar resolved ones."""
    tried = ctx.tried()
    steps = next_steps(ctx.similar)
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
        "next_steps": {"text": "\n".join(_next_steps_lines(ctx.similar)), "items": steps},
        "similar": [citation(h, n) for n, h in enumerate(ctx.similar, start=1)],
        "generated_by": generated_by,
    }


def writeup_lines(ctx: SessionContext) -> list[str]:
    tried = ctx.tried()
    results = [t["result"] for t in tried if t["result"]]
    actions = [t for t in tried if t["kind"] == "action"]
    lines = [f"Subject: {ctx.title}", ""]
    lines += ["Problem", problem_text(ctx).split("\nEscalated")[0], ""]
    if results:
        cause = f"Findings so far: {results[-1]}"
    else:
        cause = "Not yet determined from the recorded steps."
    lines += ["Cause", _clip(cause, 1000), ""]
    if ctx.resolution:
        fix = ctx.resolution
    elif actions:
        last = actions[-1]
        outcome = f" (result: {last['result']})" if last["result"] else ""
        fix = f"Not resolved yet. Last attempt: {last['action']}{outcome}"
    else:
        fix = "Not resolved yet."
    lines += ["Fix", _clip(fix, 1000), ""]
    lines.append("Steps taken")
    if actions:
        for n, item in enumerate(actions, start=1):
            outcome = f" → {item['result']}" if item["result"] else ""
            lines.append(f"{n}. {item['action']}{outcome}")
    else:
        lines.append("No steps recorded.")
    if ctx.environment:
        lines += ["", "Environment", environment_text(ctx.environment)]
    return lines


async def _stream(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line + "\n"


class OfflineProvider:
    """Retrieval-only assistant: suggestions and summaries quoted from resolved sessions."""

    @property
    def generated_by(self) -> str:
        return "offline"

    def ask(self, ctx: SessionContext, question: str | None) -> AsyncIterator[str]:
        return _stream(ask_lines(ctx, question))

    def writeup(self, ctx: SessionContext) -> AsyncIterator[str]:
        return _stream(writeup_lines(ctx))

    async def summarize(self, ctx: SessionContext) -> dict[str, Any]:
        return extractive_summary(ctx)

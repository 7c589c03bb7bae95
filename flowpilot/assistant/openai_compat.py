"""The OpenAI-compatible provider: streamed chat completions from any server speaking that API.

``POST {base}/chat/completions`` with ``stream: true``; the answer arrives as server-sent events
``data: {"choices": [{"delta": {"content": "..."}}]}`` until ``data: [DONE]``. Every failure
(unreachable, HTTP error, stalled stream, malformed chunk) is one ``AssistantUnavailable``
whose message says what went wrong with which server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from flowpilot.assistant.offline import (
    CAUSE_UNKNOWN,
    FIX_UNKNOWN,
    band_words,
    citation,
    environment_text,
    extractive_summary,
    source_actions,
    tried_text,
)
from flowpilot.assistant.provider import AssistantUnavailable, SessionContext

SYSTEM_PROMPT = (
    "You are FlowPilot's assistant for IT and field-service technicians. You help with one "
    "customer problem, recorded as an AI session: a log of notes, actions and their results. "
    "Ground every suggestion in the session's steps and in the similar sessions this account "
    "has already resolved; cite a similar session as [n] with its link when you use it, and "
    "say who resolved it. Do not suggest what the session shows was already tried unless you "
    "say why to repeat it. Be concise and concrete; never invent facts about the customer."
)

SUMMARY_INSTRUCTIONS = (
    "Write the handoff context for a senior engineer taking over this escalated session. "
    "Answer with ONLY a JSON object with exactly these string fields: "
    '"problem" (the problem restated: customer, asset, symptom, escalation reason), '
    '"tried" (what has been tried, in order, each with its result), '
    '"environment" (the relevant environment), '
    '"next_steps" (concrete next steps, citing similar resolved sessions as [n]). '
    "No markdown fences, no text outside the JSON."
)

WRITEUP_INSTRUCTIONS = (
    "Write a customer-ready write-up of this session with the headings Problem, Cause, Fix "
    "and Steps taken, each heading alone on its line. Plain text, friendly and precise, no "
    "internal jargon, no invented facts. If the steps do not show the cause, write exactly "
    f"{CAUSE_UNKNOWN!r} under Cause; if they do not show what fixed it, write exactly "
    f"{FIX_UNKNOWN!r} under Fix."
)

ASK_INSTRUCTIONS = "Suggest the next steps for this session, most promising first."


# Bounds on what goes into a prompt, so a long session still fits a model's context window.
MAX_PROMPT_STEPS = 60
MAX_PROMPT_STEP_CHARS = 1500


def _clip_item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (
            v[:MAX_PROMPT_STEP_CHARS] + "…"
            if isinstance(v, str) and len(v) > MAX_PROMPT_STEP_CHARS
            else v
        )
        for k, v in item.items()
    }


def session_prompt(ctx: SessionContext) -> str:
    """The session and the similar resolved sessions, as the model reads them."""
    lines = [f"Session: {ctx.title}", f"Problem: {ctx.problem}"]
    if ctx.customer:
        lines.append(f"Customer: {ctx.customer}")
    if ctx.asset:
        lines.append(f"Asset: {ctx.asset}")
    if ctx.reason:
        lines.append(f"Escalated ({ctx.urgency or 'normal'}): {ctx.reason}")
    lines += ["Environment:", environment_text(ctx.environment)]
    tried = ctx.tried()
    lines.append("Steps so far:")
    if len(tried) > MAX_PROMPT_STEPS:
        lines.append(f"({len(tried) - MAX_PROMPT_STEPS} earlier steps left out)")
    lines.append(tried_text([_clip_item(t) for t in tried[-MAX_PROMPT_STEPS:]]))
    if ctx.resolution:
        lines.append(f"Resolution recorded: {ctx.resolution}")
    lines.append("")
    if ctx.similar:
        lines.append("Similar sessions this account has resolved:")
        for n, hit in enumerate(ctx.similar, start=1):
            cite = citation(hit, n)
            lines.append(
                f"[{n}] {cite['title']} ({cite['url']}), resolved by "
                f"{cite['resolved_by_name'] or 'unknown'}"
            )
            lines.append(f"    Matches on {cite['why_text']} ({band_words(hit.band)})")
            lines.append(f"    Problem: {hit.doc.problem}")
            actions = source_actions(hit)
            if actions:
                lines.append(f"    Actions: {'; '.join(actions)}")
            lines.append(f"    Resolution: {hit.doc.resolution}")
    else:
        lines.append(
            "No session this account has resolved looks like this one: cite none, and do not "
            "present fixes from other problems as if they fitted."
        )
    return "\n".join(lines)


def parse_summary(text: str) -> dict[str, str] | None:
    """The model's four sections, or None when its output is not the JSON asked for."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    sections: dict[str, str] = {}
    for key in ("problem", "tried", "environment", "next_steps"):
        value = data.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n".join(value)
        if not isinstance(value, str) or not value.strip():
            return None
        sections[key] = value.strip()
    return sections


class OpenAICompatProvider:
    """Streams chat completions from ``base_url``; the similar sessions go into the prompt."""

    def __init__(
        self, *, base_url: str, api_key: str | None, model: str, timeout_seconds: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        # read= applies to every chunk: a stream that stalls longer than this fails.
        self.timeout = httpx.Timeout(
            timeout_seconds, connect=min(timeout_seconds, 10.0), read=timeout_seconds
        )
        self.timeout_seconds = timeout_seconds

    @property
    def generated_by(self) -> str:
        return self.model

    def ask(self, ctx: SessionContext, question: str | None) -> AsyncIterator[str]:
        task = f"Question from the technician: {question}" if question else ASK_INSTRUCTIONS
        return self.complete(session_prompt(ctx) + "\n\n" + task)

    def writeup(self, ctx: SessionContext) -> AsyncIterator[str]:
        return self.complete(session_prompt(ctx) + "\n\n" + WRITEUP_INSTRUCTIONS)

    async def summarize(self, ctx: SessionContext) -> dict[str, Any]:
        """Generated sections over the extractive facts; extractive alone if the JSON is bad."""
        extractive = extractive_summary(ctx, generated_by=self.model)
        try:
            prompt = session_prompt(ctx) + "\n\n" + SUMMARY_INSTRUCTIONS
            text = "".join([c async for c in self.complete(prompt)])
        except AssistantUnavailable as exc:
            return {**extractive_summary(ctx), "fallback_reason": exc.detail}
        sections = parse_summary(text)
        if sections is None:
            return {
                **extractive_summary(ctx),
                "fallback_reason": f"the model {self.model} did not answer with the JSON asked for",
            }
        for key, value in sections.items():
            extractive[key] = {**extractive[key], "text": value}
        return extractive

    def _error(self, what: str) -> AssistantUnavailable:
        return AssistantUnavailable(f"the model at {self.base_url} {what}")

    async def complete(self, user_prompt: str) -> AsyncIterator[str]:
        """Stream the model's answer to ``user_prompt`` chunk by chunk."""
        headers = {"Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "model": self.model,
            "stream": True,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": user_prompt},
            ],
        }
        url = f"{self.base_url}/chat/completions"
        try:
            async with (
                httpx.AsyncClient(timeout=self.timeout) as client,
                client.stream("POST", url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raw = (await response.aread()).decode("utf-8", "replace")
                    raise self._error(
                        f"answered HTTP {response.status_code}: {_error_message(raw)}"
                    )
                if response.headers.get("content-type", "").startswith("application/json"):
                    # A server that ignores stream=true answers with one whole completion.
                    yield _whole_completion(await response.aread(), self)
                    return
                async for chunk in self._events(response):
                    yield chunk
        except AssistantUnavailable:
            raise
        except httpx.ReadTimeout:
            raise self._error(
                f"stopped responding (nothing received for {self.timeout_seconds:g} s)"
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise self._error(f"is unreachable: {exc or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise self._error(f"failed: {type(exc).__name__}: {exc}") from None

    async def _events(self, response: httpx.Response) -> AsyncIterator[str]:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": comments", "event:" and "id:" lines
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise self._error(f"sent a malformed stream chunk: {data[:120]!r}") from None
            if not isinstance(event, dict):
                raise self._error(f"sent a malformed stream chunk: {data[:120]!r}")
            if "error" in event:
                raise self._error(f"reported an error: {_error_message(json.dumps(event))}")
            try:
                choices = event.get("choices") or []
                content = choices[0].get("delta", {}).get("content") if choices else None
            except (AttributeError, IndexError, TypeError):
                raise self._error(f"sent a malformed stream chunk: {data[:120]!r}") from None
            if content is not None and not isinstance(content, str):
                raise self._error(f"sent a malformed stream chunk: {data[:120]!r}")
            if content:
                yield content
        raise self._error("ended the stream without [DONE]")


def _error_message(raw: str) -> str:
    try:
        data = json.loads(raw)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
    except ValueError:
        pass
    return raw.strip()[:300] or "(empty body)"


def _whole_completion(raw: bytes, provider: OpenAICompatProvider) -> str:
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise provider._error("sent a response that is not a chat completion") from None
    if not isinstance(content, str):
        raise provider._error("sent a response that is not a chat completion")
    return content

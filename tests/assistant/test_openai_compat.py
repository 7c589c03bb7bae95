"""The OpenAI-compatible provider against a real streaming HTTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowpilot.assistant.openai_compat import OpenAICompatProvider
from flowpilot.assistant.provider import AssistantUnavailable, SessionContext, StepView
from flowpilot.assistant.retrieval import Hit, ResolvedDoc
from tests.assistant.llm_server import SUMMARY, closed_port_url

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _ctx() -> SessionContext:
    similar = ResolvedDoc(
        session_id="sim1",
        title="Outlook keeps asking for password",
        problem="Password loop after MFA",
        customer=None,
        asset=None,
        environment={},
        resolution="Removed cached Office credentials",
        resolved_by_id="u-admin",
        resolved_by_name="Ada Admin",
        resolved_at=WHEN,
        steps=[("action", "Cleared Credential Manager")],
    )
    return SessionContext(
        session_id="cur",
        title="Outlook prompt loop",
        problem="Outlook asks for the password since MFA",
        customer="Acme",
        asset="LT-042",
        environment={"client": "Outlook 2021"},
        status="open",
        resolution=None,
        steps=[
            StepView("action", "Restarted Outlook", "Tech", WHEN),
            StepView("result", "Still prompting", "Tech", WHEN),
        ],
        similar=[Hit(similar, 3.2)],
    )


def _provider(
    url: str, model: str, timeout: float = 5.0, key: str | None = "k-123"
) -> OpenAICompatProvider:
    return OpenAICompatProvider(base_url=url, api_key=key, model=model, timeout_seconds=timeout)


async def _collect(provider: OpenAICompatProvider) -> tuple[list[str], AssistantUnavailable | None]:
    chunks: list[str] = []
    try:
        async for c in provider.ask(_ctx(), None):
            chunks.append(c)
    except AssistantUnavailable as exc:
        return chunks, exc
    return chunks, None


async def test_normal_stream_yields_deltas_and_sends_grounded_prompt(llm_server) -> None:  # type: ignore[no-untyped-def]
    chunks, error = await _collect(_provider(llm_server.url, "normal"))
    assert error is None
    assert chunks == ["Hel", "lo", " world"]
    sent = llm_server.requests[-1]
    assert sent["authorization"] == "Bearer k-123"
    assert sent["body"]["model"] == "normal"
    assert sent["body"]["stream"] is True
    system, user = sent["body"]["messages"]
    assert system["role"] == "system" and "FlowPilot" in system["content"]
    assert (
        "[1] Outlook keeps asking for password (/sessions/sim1), resolved by Ada Admin"
        in (user["content"])
    )
    assert "Removed cached Office credentials" in user["content"]
    assert "Tried: Restarted Outlook → Still prompting" in user["content"]


async def test_no_api_key_sends_no_authorization(llm_server) -> None:  # type: ignore[no-untyped-def]
    chunks, error = await _collect(_provider(llm_server.url, "normal", key=None))
    assert error is None and "".join(chunks) == "Hello world"
    assert llm_server.requests[-1]["authorization"] is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("http500", "answered HTTP 500: upstream exploded"),
        ("http401", "answered HTTP 401: invalid api key"),
        ("malformed", "sent a malformed stream chunk"),
        ("no-done", "ended the stream without [DONE]"),
    ],
)
async def test_errors_are_clear(llm_server, model: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    _, error = await _collect(_provider(llm_server.url, model))
    assert error is not None
    assert error.detail.startswith(f"the model at {llm_server.url} ")
    assert expected in error.detail


async def test_stalled_stream_hits_the_read_timeout(llm_server) -> None:  # type: ignore[no-untyped-def]
    chunks, error = await _collect(_provider(llm_server.url, "stall", timeout=0.5))
    assert chunks == ["partial "]
    assert error is not None
    assert "stopped responding (nothing received for 0.5 s)" in error.detail


async def test_unreachable_server() -> None:
    url = closed_port_url()
    _, error = await _collect(_provider(url, "normal"))
    assert error is not None
    assert error.detail.startswith(f"the model at {url} is unreachable")


async def test_server_ignoring_stream_flag_still_answers(llm_server) -> None:  # type: ignore[no-untyped-def]
    chunks, error = await _collect(_provider(llm_server.url, "whole"))
    assert error is None and chunks == ["One whole answer"]


async def test_summary_uses_model_json_over_extractive_facts(llm_server) -> None:  # type: ignore[no-untyped-def]
    summary = await _provider(llm_server.url, "summary-json").summarize(_ctx())
    assert summary["generated_by"] == "summary-json"
    assert summary["problem"]["text"] == SUMMARY["problem"]
    assert summary["tried"]["text"] == "Restarted Outlook: still prompting."
    assert summary["next_steps"]["text"] == SUMMARY["next_steps"]
    # Facts stay grounded in the steps and citations whatever the model wrote.
    assert summary["tried"]["items"][0]["result"] == "Still prompting"
    assert summary["similar"][0]["url"] == "/sessions/sim1"
    assert "fallback_reason" not in summary


async def test_summary_falls_back_to_extractive_on_bad_json_or_failure(llm_server) -> None:  # type: ignore[no-untyped-def]
    bad = await _provider(llm_server.url, "summary-bad").summarize(_ctx())
    assert bad["generated_by"] == "offline"
    assert "did not answer with the JSON" in bad["fallback_reason"]
    assert bad["tried"]["text"] == "1. Tried: Restarted Outlook → Still prompting"
    down = await _provider(llm_server.url, "http500").summarize(_ctx())
    assert down["generated_by"] == "offline"
    assert "HTTP 500" in down["fallback_reason"]

"""The HTTP paths with FLOWPILOT_LLM_BASE_URL pointing at a real loopback model server."""

from __future__ import annotations

import asyncio

import pytest

from flowpilot.assistant.service import build_provider
from tests.assistant.helpers import handoff_row, steps_of
from tests.assistant.llm_server import SUMMARY, closed_port_url
from tests.assistant.test_endpoints import split_answer
from tests.factories import add_step, open_session


@pytest.fixture
def settings(settings, llm_server):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "llm_base_url": llm_server.url,
            "llm_api_key": "k-123",
            "llm_model": "normal",
            "llm_timeout_seconds": 0.5,
        }
    )


def reconfigure(app, **changes):  # type: ignore[no-untyped-def]
    """Change the model settings of a running app (the provider is built once per process)."""
    ctx = app.state.ctx
    for name, value in changes.items():
        setattr(ctx.settings, name, value)
    ctx.provider = build_provider(ctx.settings)


async def _ask(client, user, session_id):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/sessions/{session_id}/assistant",
        json={"question": "what next?"},
        headers=user.headers,
    )


async def test_model_answer_streams_is_not_saved_and_can_be_kept(  # type: ignore[no-untyped-def]
    client, factory, db, llm_server
) -> None:
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await _ask(client, team["eng"], s["id"])
    assert response.status_code == 200
    assert response.headers["x-assistant-source"] == (
        "Written by the model normal; no resolved session looks like this one yet"
    )
    answer, token = split_answer(response.text)
    assert answer == "Hello world"
    assert "what next?" in llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert await steps_of(db, s["id"]) == []
    kept = await client.post(
        f"/api/v1/sessions/{s['id']}/assistant/keep",
        json={"answer": answer, "token": token},
        headers=team["tech"].headers,
    )
    assert kept.status_code == 201, kept.text
    steps = await steps_of(db, s["id"])
    assert [(st.kind, st.actor_id, st.content) for st in steps] == [
        ("assistant", None, "Hello world")
    ]


@pytest.mark.parametrize(
    ("model", "detail"), [("http500", "answered HTTP 500"), ("stall-first", "stopped responding")]
)
async def test_failure_before_first_chunk_is_502_and_saves_nothing(  # type: ignore[no-untyped-def]
    client, factory, db, app, model, detail
) -> None:
    reconfigure(app, llm_model=model)
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await _ask(client, team["tech"], s["id"])
    assert response.status_code == 502
    assert detail in response.json()["detail"]
    assert await steps_of(db, s["id"]) == []


async def test_unreachable_model_is_502(client, factory, app) -> None:  # type: ignore[no-untyped-def]
    reconfigure(app, llm_base_url=closed_port_url())
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await client.post(
        f"/api/v1/sessions/{s['id']}/writeup", headers=team["tech"].headers
    )
    assert response.status_code == 502
    assert "is unreachable" in response.json()["detail"]


async def test_stall_mid_stream_ends_with_error_line_and_saves_nothing(  # type: ignore[no-untyped-def]
    client, factory, db, app
) -> None:
    reconfigure(app, llm_model="stall")
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await _ask(client, team["tech"], s["id"])
    assert response.status_code == 200
    assert response.text.startswith("partial ")
    assert "[assistant error] the model at" in response.text
    assert "stopped responding" in response.text
    assert await steps_of(db, s["id"]) == []


async def test_model_handoff_summary_cached_with_model_name(
    client, factory, db, app, clock
) -> None:  # type: ignore[no-untyped-def]
    reconfigure(app, llm_model="summary-json")
    team = await factory.team()
    s = await open_session(client, team["tech"])
    hid = await handoff_row(db, session_id=s["id"], escalator=team["tech"], now=clock.now())
    body = (await client.get(f"/api/v1/handoffs/{hid}/summary", headers=team["eng"].headers)).json()
    assert body["generated_by"] == "summary-json"
    assert body["next_steps"]["text"] == SUMMARY["next_steps"]
    # Cached: even with the model now broken, the stored summary is served as it was.
    reconfigure(app, llm_model="summary-bad")
    again = (
        await client.get(f"/api/v1/handoffs/{hid}/summary", headers=team["eng"].headers)
    ).json()
    assert again == body
    regenerated = await client.post(f"/api/v1/handoffs/{hid}/summary", headers=team["eng"].headers)
    assert regenerated.json()["generated_by"] == "offline"
    assert "did not answer with the JSON" in regenerated.json()["fallback_reason"]


@pytest.mark.parametrize("action", ["assistant", "writeup", "summary"])
async def test_waiting_on_the_model_holds_no_database_lock(  # type: ignore[no-untyped-def]
    client, factory, db, app, llm_server, clock, action
) -> None:
    """While the model thinks, other requests write (on SQLite a held transaction would block
    every writer until the answer came)."""
    reconfigure(app, llm_model="gated")
    reconfigure(app, llm_timeout_seconds=60.0)
    team = await factory.team()
    tech = team["tech"]
    s1 = await open_session(client, tech)
    s2 = await open_session(client, tech)
    if action == "summary":
        hid = await handoff_row(db, session_id=s1["id"], escalator=tech, now=clock.now())
        url = f"/api/v1/handoffs/{hid}/summary"
    else:
        url = f"/api/v1/sessions/{s1['id']}/{action}"
    llm_server.waiting.clear()
    call = asyncio.create_task(client.post(url, headers=tech.headers))
    try:
        assert await asyncio.to_thread(llm_server.waiting.wait, 30)
        step = await add_step(client, tech, s2["id"], content="Meanwhile, rebooted")
        assert step["content"] == "Meanwhile, rebooted"
        assert not call.done()
    finally:
        llm_server.gate.set()
    response = await call
    assert response.status_code == 200, response.text
    if action == "summary":
        assert "did not answer with the JSON" in response.json()["fallback_reason"]
    elif action == "assistant":
        assert split_answer(response.text)[0] == "opened"
    else:
        assert response.text == "opened"  # a write-up has nothing to keep: no token
    assert await steps_of(db, s1["id"]) == []


async def test_runaway_answer_is_cut_and_kept_bounded(client, factory, db, app) -> None:  # type: ignore[no-untyped-def]
    reconfigure(app, llm_model="flood")
    team = await factory.team()
    s = await open_session(client, team["tech"])
    response = await _ask(client, team["tech"], s["id"])
    assert response.status_code == 200
    answer, token = split_answer(response.text)
    assert answer == "x" * 20_000 + "\n[answer cut at 20000 characters]"
    kept = await client.post(
        f"/api/v1/sessions/{s['id']}/assistant/keep",
        json={"answer": answer, "token": token},
        headers=team["tech"].headers,
    )
    assert kept.status_code == 201
    (step,) = await steps_of(db, s["id"])
    assert step.content == answer


async def test_the_prompt_holds_only_what_passes_the_relevance_rule(  # type: ignore[no-untyped-def]
    client, factory, db, llm_server, clock
) -> None:
    from datetime import timedelta

    from tests.assistant.helpers import resolved_session

    team = await factory.team()
    tech = team["tech"]
    when = clock.now() - timedelta(days=3)
    outlook = await resolved_session(
        client,
        db,
        tech,
        resolver=team["eng"],
        title="Outlook keeps asking for password",
        problem="Outlook 365 password prompt loop after MFA was enabled",
        resolution="Cleared the cached Office credentials in Credential Manager",
        when=when,
    )
    printer = await resolved_session(
        client,
        db,
        tech,
        resolver=team["eng2"],
        title="Printer asks for a PIN after the update",
        problem="HP printer keeps asking for a PIN code when printing after the update",
        resolution="Turned off secure print on the HP driver",
        when=when,
    )
    s = await open_session(
        client,
        tech,
        title="Outlook password prompt after MFA",
        problem="Since MFA was enabled Outlook keeps asking for the password",
    )
    assert (await _ask(client, tech, s["id"])).status_code == 200
    prompt = llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert f"[1] Outlook keeps asking for password (/sessions/{outlook}), resolved by" in prompt
    assert "    Matches on model: Outlook; symptom: password, asking, enabled, MFA (fair" in prompt
    assert "Cleared the cached Office credentials" in prompt
    # It shares "asks", "keeps", "after the update" with the question, but not the problem.
    assert printer not in prompt and "secure print" not in prompt and "[2]" not in prompt

    unrelated = await open_session(
        client, tech, title="Scanner not found", problem="The document scanner disappeared"
    )
    assert (await _ask(client, tech, unrelated["id"])).status_code == 200
    prompt = llm_server.requests[-1]["body"]["messages"][1]["content"]
    assert "No session this account has resolved looks like this one: cite none" in prompt
    assert outlook not in prompt and printer not in prompt

"""Ask, write-up, handoff summary and suggested seniors over HTTP with the offline provider."""

from __future__ import annotations

from datetime import timedelta

from tests.assistant.helpers import (
    handoff_row,
    resolved_session,
    steps_of,
    summary_generated_at,
)
from tests.factories import add_step, open_session

OUTLOOK = {
    "title": "Outlook asks for the password all the time",
    "problem": "Since MFA was enabled Outlook 365 shows a password prompt loop",
}


KEEP = "[assistant keep] "


def split_answer(text: str) -> tuple[str, str]:
    """The answer a person sees and the token its stream ended with."""
    answer, _, token = text.rpartition(KEEP)
    assert token.endswith("\n") and "\n" not in token.strip()
    return answer.strip(), token.strip()


async def test_ask_streams_a_cited_answer_and_saves_nothing(client, corpus, db) -> None:  # type: ignore[no-untyped-def]
    tech = corpus.a["tech"]
    s = await open_session(client, tech, **OUTLOOK)
    await add_step(client, tech, s["id"], kind="action", content="Restarted Outlook")
    async with client.stream(
        "POST", f"/api/v1/sessions/{s['id']}/assistant", json={}, headers=tech.headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["x-assistant-source"] == "Suggested from 1 similar resolved session"
        assert response.headers["x-assistant-similar"] == "1"
        chunks = [c async for c in response.aiter_text()]
    answer, token = split_answer("".join(chunks))
    assert answer.splitlines()[0] == "Suggested from 1 similar resolved session:"
    assert f"/sessions/{corpus.resolved[2]}" in answer
    assert (
        "   Why it matches: model: Outlook, 365; symptom: password, asks, prompt, enabled "
        "(strong match)\n" in answer
    )
    assert corpus.a["admin"].name in answer
    assert corpus.other_account_similar not in answer
    assert corpus.open_similar not in answer
    assert "Other account's secret fix" not in answer
    # The log stays the log: asking wrote nothing.
    assert [st.kind for st in await steps_of(db, s["id"])] == ["action"]

    url = f"/api/v1/sessions/{s['id']}/assistant/keep"
    kept = await client.post(url, json={"answer": answer, "token": token}, headers=tech.headers)
    assert kept.status_code == 201, kept.text
    assert kept.json()["kind"] == "assistant" and kept.json()["actor_id"] is None
    again = await client.post(url, json={"answer": answer, "token": token}, headers=tech.headers)
    assert again.status_code == 200 and again.json()["id"] == kept.json()["id"]
    steps = await steps_of(db, s["id"])
    assert [(st.kind, st.actor_id) for st in steps] == [("action", tech.id), ("assistant", None)]
    assert steps[1].content == answer
    got = (await client.get(f"/api/v1/sessions/{s['id']}", headers=tech.headers)).json()
    assert got["steps"][1]["kind"] == "assistant"
    assert got["steps"][1]["actor_id"] is None


async def test_only_the_assistants_own_answer_can_be_kept(client, corpus, db) -> None:  # type: ignore[no-untyped-def]
    tech, eng = corpus.a["tech"], corpus.a["eng"]
    s = await open_session(client, tech, **OUTLOOK)
    other = await open_session(client, tech, **OUTLOOK)
    asked = await client.post(f"/api/v1/sessions/{s['id']}/assistant", headers=tech.headers)
    answer, token = split_answer(asked.text)
    url = f"/api/v1/sessions/{s['id']}/assistant/keep"

    forged = await client.post(
        url,
        json={"answer": answer + " Also: wipe the laptop.", "token": token},
        headers=tech.headers,
    )
    assert forged.status_code == 422
    assert forged.json()["field"] == "token"
    elsewhere = await client.post(
        f"/api/v1/sessions/{other['id']}/assistant/keep",
        json={"answer": answer, "token": token},
        headers=tech.headers,
    )
    assert elsewhere.status_code == 422
    empty = await client.post(url, json={"answer": "  ", "token": token}, headers=tech.headers)
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "answer"
    # An engineer may read and ask, but only the assignee (or an admin) adds steps.
    not_assignee = await client.post(
        url, json={"answer": answer, "token": token}, headers=eng.headers
    )
    assert not_assignee.status_code == 403
    for outsider in corpus.b.values():
        response = await client.post(
            url, json={"answer": answer, "token": token}, headers=outsider.headers
        )
        assert response.status_code == 404
    assert await steps_of(db, s["id"]) == []
    resolved = await client.post(
        f"/api/v1/sessions/{s['id']}/resolve", json={"resolution": "Fixed"}, headers=tech.headers
    )
    assert resolved.status_code == 200
    late = await client.post(url, json={"answer": answer, "token": token}, headers=tech.headers)
    assert late.status_code == 409


async def test_below_the_threshold_nothing_is_suggested_anywhere(  # type: ignore[no-untyped-def]
    client, db, factory, clock
) -> None:
    """The reported case: a Zebra label printer printing blank labels must not be offered the
    HP driver fix, in the answer, the handoff context or the suggested seniors."""
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    await resolved_session(
        client,
        db,
        tech,
        resolver=eng,
        title="Print jobs stuck after driver update",
        problem="HP LaserJet jobs stuck in the print queue after the HP Universal driver update",
        resolution="Rolled back the HP Universal Print Driver to 7.0",
        asset="HP LaserJet M507",
        when=clock.now() - timedelta(days=2),
    )
    s = await open_session(
        client,
        tech,
        title="Label printer prints blank labels",
        problem="The Zebra label printer feeds labels but prints nothing on them",
        asset="Zebra ZD420",
    )
    asked = await client.post(f"/api/v1/sessions/{s['id']}/assistant", headers=tech.headers)
    assert asked.headers["x-assistant-source"] == "No resolved session looks like this one yet"
    answer, _ = split_answer(asked.text)
    assert answer.startswith("No resolved session looks like this one yet")
    assert "Universal" not in answer
    hid = await handoff_row(db, session_id=s["id"], escalator=tech, now=clock.now())
    summary = (await client.get(f"/api/v1/handoffs/{hid}/summary", headers=eng.headers)).json()
    assert summary["next_steps"]["items"] == [] and summary["similar"] == []
    assert summary["source"] == "No resolved session looks like this one yet"
    seniors = await client.get(f"/api/v1/handoffs/{hid}/suggested-seniors", headers=eng.headers)
    assert seniors.json() == {"items": []}
    detail = (await client.get(f"/api/v1/handoffs/{hid}", headers=eng.headers)).json()
    assert detail["context"]["next_steps"]["suggestions"] == []


async def test_question_steers_retrieval(client, corpus) -> None:  # type: ignore[no-untyped-def]
    tech = corpus.a["tech"]
    s = await open_session(client, tech, title="Customer call", problem="Several complaints")
    response = await client.post(
        f"/api/v1/sessions/{s['id']}/assistant",
        json={"question": "VPN disconnects on home wifi, what fixed it before?"},
        headers=tech.headers,
    )
    assert response.status_code == 200
    first_source = response.text.split("[1] ")[1]
    assert response.text.count("[1] ") == 1 and "[2] " not in response.text
    assert first_source.startswith("VPN drops every ten minutes")
    assert corpus.a["eng2"].name in first_source.splitlines()[0]


async def test_ask_validation_and_status(client, corpus) -> None:  # type: ignore[no-untyped-def]
    tech = corpus.a["tech"]
    s = await open_session(client, tech, **OUTLOOK)
    url = f"/api/v1/sessions/{s['id']}/assistant"
    bad = await client.post(url, json={"question": "x" * 2001}, headers=tech.headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "question"
    extra = await client.post(url, json={"prompt": "hi"}, headers=tech.headers)
    assert extra.status_code == 422
    resolved = await client.post(
        f"/api/v1/sessions/{corpus.resolved[0]}/assistant", headers=corpus.a["admin"].headers
    )
    assert resolved.status_code == 409


async def test_writeup_streams_sections_and_saves_nothing(client, corpus, db) -> None:  # type: ignore[no-untyped-def]
    tech = corpus.a["tech"]
    s = await open_session(client, tech, environment={"os": "Windows 11"}, **OUTLOOK)
    await add_step(client, tech, s["id"], kind="action", content="Cleared Credential Manager")
    await add_step(client, tech, s["id"], kind="result", content="Prompt gone after restart")
    response = await client.post(f"/api/v1/sessions/{s['id']}/writeup", headers=tech.headers)
    assert response.status_code == 200
    text = response.text
    for heading in ("Problem", "Cause", "Fix", "Steps taken", "Environment"):
        assert f"\n{heading}\n" in text
    assert "1. Cleared Credential Manager → Prompt gone after restart" in text
    assert "os: Windows 11" in text
    assert len(await steps_of(db, s["id"])) == 2


async def test_handoff_summary_is_cached_and_regenerated_on_demand(  # type: ignore[no-untyped-def]
    client, corpus, db, clock
) -> None:
    tech, eng = corpus.a["tech"], corpus.a["eng"]
    s = await open_session(client, tech, environment={"client": "Outlook 2021"}, **OUTLOOK)
    await add_step(client, tech, s["id"], kind="action", content="Restarted Outlook")
    await add_step(client, tech, s["id"], kind="result", content="Still prompting")
    hid = await handoff_row(db, session_id=s["id"], escalator=tech, now=clock.now())
    assert await summary_generated_at(db, hid) is None

    first = await client.get(f"/api/v1/handoffs/{hid}/summary", headers=eng.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) >= {"problem", "tried", "environment", "next_steps", "similar"}
    assert body["generated_by"] == "offline"
    assert body["source"] == "Suggested from 1 similar resolved session"
    assert "Stuck after trying the usual fixes" in body["problem"]["text"]
    assert body["tried"]["items"][0]["action"] == "Restarted Outlook"
    assert body["tried"]["items"][0]["result"] == "Still prompting"
    assert body["environment"]["items"] == {"client": "Outlook 2021"}
    top = body["next_steps"]["items"][0]
    assert top["source"]["session_id"] == corpus.resolved[2]
    assert top["source"]["url"] == f"/sessions/{corpus.resolved[2]}"
    assert top["source"]["resolved_by_name"] == corpus.a["admin"].name
    assert top["source"]["band"] == "strong"
    assert top["source"]["why"]["model"] == ["Outlook", "365"]
    assert corpus.other_account_similar not in first.text
    generated = await summary_generated_at(db, hid)
    assert generated == clock.now()

    clock.advance(minutes=5)
    second = await client.get(f"/api/v1/handoffs/{hid}/summary", headers=tech.headers)
    assert second.json() == body
    assert await summary_generated_at(db, hid) == generated

    regenerated = await client.post(f"/api/v1/handoffs/{hid}/summary", headers=eng.headers)
    assert regenerated.status_code == 200
    assert regenerated.json()["generated_at"] == clock.now().isoformat()
    assert await summary_generated_at(db, hid) == clock.now() != generated


async def test_suggested_seniors_count_similar_resolutions(  # type: ignore[no-untyped-def]
    client, db, factory, clock
) -> None:
    team = await factory.team()
    inactive = await factory.user(team["tech"].account_id, role="engineer", active=False)
    when = clock.now() - timedelta(days=3)
    printer = "Printer offline, print spooler stopped"
    resolvers = [team["eng"]] * 3 + [team["eng2"], inactive, team["tech"]]
    for n, resolver in enumerate(resolvers):
        await resolved_session(
            client,
            db,
            team["tech"],
            resolver=resolver,
            title=f"Printer offline #{n}",
            problem=printer,
            resolution="Restarted the spooler",
            when=when,
        )
    await resolved_session(
        client,
        db,
        team["tech"],
        resolver=team["admin"],
        title="Monitor flickers",
        problem="External monitor flickers on the dock",
        resolution="New cable",
        when=when,
    )
    s = await open_session(client, team["tech"], title="Printer offline", problem=printer)
    hid = await handoff_row(db, session_id=s["id"], escalator=team["tech"], now=clock.now())
    response = await client.get(
        f"/api/v1/handoffs/{hid}/suggested-seniors", headers=team["admin"].headers
    )
    assert response.status_code == 200
    assert response.json()["items"] == [
        {"user_id": team["eng"].id, "name": team["eng"].name, "resolved_similar": 3},
        {"user_id": team["eng2"].id, "name": team["eng2"].name, "resolved_similar": 1},
    ]

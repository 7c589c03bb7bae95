"""``GET /api/v1/sessions/{id}/stream``: both sides of an escalation live, over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from tests.factories import Factory, TestUser
from tests.live.helpers import SSEServer
from tests.live.sse_client import Frame, SSEReader


@asynccontextmanager
async def session_stream(
    server: SSEServer, session_id: str, user: TestUser | None, **headers: str
) -> AsyncIterator[tuple[httpx.Response, SSEReader]]:
    sent = {**(user.headers if user else {}), **headers}
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
        client.stream("GET", f"/api/v1/sessions/{session_id}/stream", headers=sent) as response,
    ):
        yield response, SSEReader(response)


async def call(server: SSEServer, user: TestUser, method: str, path: str, **kw: Any) -> Any:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as c:
        response = await c.request(method, path, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def escalated(server: SSEServer, tech: TestUser) -> dict[str, Any]:
    s = await call(
        server, tech, "POST", "/api/v1/sessions", json={"title": "Chiller", "problem": "Trip"}
    )
    return await call(  # type: ignore[no-any-return]
        server,
        tech,
        "POST",
        f"/api/v1/sessions/{s['id']}/handoff",
        json={"reason": "needs a senior", "urgency": "high"},
    )


async def step(server: SSEServer, user: TestUser, session_id: str, content: str) -> Any:
    return await call(
        server,
        user,
        "POST",
        f"/api/v1/sessions/{session_id}/steps",
        json={"kind": "note", "content": content},
    )


async def next_of(reader: SSEReader, event: str) -> Frame:
    """The next frame of type ``event`` (presence changes and others in between are skipped)."""
    while True:
        frame = await reader.next_event()
        if frame.event == event:
            return frame


async def presence_until(reader: SSEReader, names: set[str]) -> None:
    while True:
        frame = await next_of(reader, "presence")
        if {v["name"] for v in frame.json["viewers"]} == names:
            return


async def test_access_owner_assignee_seniors_but_not_other_technicians_or_accounts(
    sse_server: SSEServer, factory: Factory
) -> None:
    team, other = await factory.team(), await factory.team()
    peer = await factory.user(team["tech"].account_id, role="technician")
    h = await escalated(sse_server, team["tech"])
    await call(sse_server, team["eng"], "POST", f"/api/v1/handoffs/{h['id']}/claim")
    expected = {
        "tech": 200,  # the owner
        "eng": 200,  # the assignee (claimer)
        "eng2": 200,  # a senior of the account
        "admin": 200,
    }
    for who, status in expected.items():
        async with session_stream(sse_server, h["session_id"], team[who]) as (response, reader):
            assert response.status_code == status, who
            assert (await reader.next()).retry is not None
    async with session_stream(sse_server, h["session_id"], peer) as (response, _):
        assert response.status_code == 403
    async with session_stream(sse_server, h["session_id"], other["admin"]) as (response, _):
        assert response.status_code == 404
    async with session_stream(sse_server, h["session_id"], None) as (response, _):
        assert response.status_code == 401


async def test_owner_and_claimer_see_the_claim_each_others_steps_and_each_other(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(sse_server, tech)
    sid = h["session_id"]
    async with (
        session_stream(sse_server, sid, tech) as (_, mine),
        session_stream(sse_server, sid, eng) as (_, theirs),
    ):
        await presence_until(mine, {tech.name, eng.name})
        await presence_until(theirs, {tech.name, eng.name})
        await call(sse_server, eng, "POST", f"/api/v1/handoffs/{h['id']}/claim")
        for reader in (mine, theirs):
            claimed = await next_of(reader, "handoff.claimed")
            assert claimed.json["claimed_by_name"] == eng.name
            assert claimed.json["status"] == "claimed"
        await step(sse_server, eng, sid, "Reset the compressor")
        await step(sse_server, tech, sid, "It is running again")  # co-working
        for reader in (mine, theirs):
            first, second = (
                await next_of(reader, "step.created"),
                await next_of(reader, "step.created"),
            )
            assert (first.json["actor_id"], first.json["actor_name"]) == (eng.id, eng.name)
            assert first.json["content"] == "Reset the compressor"
            assert (second.json["actor_id"], second.json["content"]) == (
                tech.id,
                "It is running again",
            )
    # The engineer left: the technician, still watching, is told.
    async with session_stream(sse_server, sid, tech) as (_, mine):
        await presence_until(mine, {tech.name})


async def test_other_sessions_and_queue_noise_are_not_streamed_and_replay_follows_last_event_id(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(sse_server, tech)
    elsewhere = await escalated(sse_server, tech)
    async with session_stream(sse_server, h["session_id"], tech) as (_, reader):
        await presence_until(reader, {tech.name})
        await step(sse_server, tech, elsewhere["session_id"], "not this session")
        await call(sse_server, eng, "POST", f"/api/v1/handoffs/{elsewhere['id']}/claim")
        await call(sse_server, eng, "POST", f"/api/v1/handoffs/{h['id']}/claim")
        claimed = await reader.next_event()
        assert (claimed.event, claimed.json["id"]) == ("handoff.claimed", h["id"])
    await step(sse_server, eng, h["session_id"], "missed while away")
    await call(sse_server, eng, "POST", f"/api/v1/handoffs/{h['id']}/release")
    async with session_stream(
        sse_server, h["session_id"], tech, **{"Last-Event-ID": str(claimed.id)}
    ) as (_, reader):
        missed = await next_of(reader, "step.created")
        assert missed.json["content"] == "missed while away" and int(missed.id or 0) > int(
            claimed.id or 0
        )
        released = await next_of(reader, "handoff.released")
        assert released.json["status"] == "open"


async def test_the_queue_stream_says_who_is_viewing_each_session(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    tech, eng = team["tech"], team["eng"]
    h = await escalated(sse_server, tech)
    queue_path = "/api/v1/handoffs/stream"
    async with (
        httpx.AsyncClient(base_url=sse_server.url, timeout=10) as client,
        client.stream("GET", queue_path, headers=eng.headers) as response,
    ):
        queue = SSEReader(response)
        assert (await queue.next()).retry is not None
        async with session_stream(sse_server, h["session_id"], tech) as (_, mine):
            await presence_until(mine, {tech.name})
            seen = await next_of(queue, "presence")
            assert seen.id is None  # not an event of the log: no id to resume after
            assert seen.json == {
                "session_id": h["session_id"],
                "viewers": [{"id": tech.id, "name": tech.name}],
            }
            # A queue stream opened now is told at once.
            async with (
                httpx.AsyncClient(base_url=sse_server.url, timeout=10) as late_client,
                late_client.stream("GET", queue_path, headers=team["eng2"].headers) as late,
            ):
                first = await next_of(SSEReader(late), "presence")
                assert first.json["viewers"] == [{"id": tech.id, "name": tech.name}]
        gone = await next_of(queue, "presence")
        assert gone.json == {"session_id": h["session_id"], "viewers": []}

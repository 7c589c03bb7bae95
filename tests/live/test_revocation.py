"""Every open stream ends with its login: logout, deactivation, a role change, expiry.

Each is announced on the app's bus (in-process, or Redis Streams when configured), so the
stream gets ``revoked`` and closes; nothing is delivered on it afterwards, and the dead token
reconnects to 401. Across two server processes the revocation travels over Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from flowpilot.kernel.clock import FrozenClock
from tests.databases import REDIS_URL, REPLICAS_NEED_REDIS
from tests.factories import Factory, TestUser
from tests.live.helpers import SSEServer
from tests.live.sse_client import SSEReader

QUEUE = "/api/v1/handoffs/stream"
# A guard against a hung test, never a timing: the contract's bound on closing a stream.
CLOSES_WITHIN = 5.0


@asynccontextmanager
async def stream(url: str, path: str, user: TestUser) -> AsyncIterator[tuple[int, SSEReader]]:
    async with (
        httpx.AsyncClient(base_url=url, timeout=10) as client,
        client.stream("GET", path, headers=user.headers) as response,
    ):
        yield response.status_code, SSEReader(response)


async def call(url: str, user: TestUser, method: str, path: str, **kw: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, headers=user.headers, timeout=10) as client:
        return await client.request(method, path, **kw)


async def escalate(url: str, tech: TestUser, reason: str = "after the end") -> dict[str, Any]:
    s = await call(url, tech, "POST", "/api/v1/sessions", json={"title": "T", "problem": "P"})
    assert s.status_code == 201, s.text
    h = await call(
        url,
        tech,
        "POST",
        f"/api/v1/sessions/{s.json()['id']}/handoff",
        json={"reason": reason, "urgency": "critical"},
    )
    assert h.status_code == 201, h.text
    return h.json()  # type: ignore[no-any-return]


async def revoked_then_closed(reader: SSEReader, reason: str) -> None:
    """The next event is ``revoked`` (with ``reason``), then the stream ends: nothing after."""
    frame = await reader.next_event(within=CLOSES_WITHIN)
    assert (frame.event, frame.json) == ("revoked", {"reason": reason})
    assert await reader.closed(within=CLOSES_WITHIN)


End = Callable[[str, dict[str, TestUser], FrozenClock], Awaitable[None]]


async def _logout(url: str, team: dict[str, TestUser], _clock: FrozenClock) -> None:
    assert (await call(url, team["eng"], "POST", "/api/v1/auth/logout")).status_code == 204


async def _deactivate(url: str, team: dict[str, TestUser], _clock: FrozenClock) -> None:
    r = await call(
        url, team["admin"], "PATCH", f"/api/v1/users/{team['eng'].id}", json={"active": False}
    )
    assert r.status_code == 200, r.text


async def _demote(url: str, team: dict[str, TestUser], _clock: FrozenClock) -> None:
    r = await call(
        url, team["admin"], "PATCH", f"/api/v1/users/{team['eng'].id}", json={"role": "technician"}
    )
    assert r.status_code == 200, r.text


async def _expire(_url: str, _team: dict[str, TestUser], clock: FrozenClock) -> None:
    clock.advance(hours=13)  # the test logins last 12 hours


ENDS: dict[str, tuple[End, str, int]] = {
    # how the login ends, the reason the stream is told, the reconnect's status
    "logout": (_logout, "logout", 401),
    "deactivated": (_deactivate, "deactivated", 401),
    "role_changed": (_demote, "role_changed", 403),
    "expired": (_expire, "expired", 401),
}


@pytest.mark.parametrize("how", list(ENDS))
async def test_the_queue_stream_ends_with_its_login(
    sse_server: SSEServer, factory: Factory, clock: FrozenClock, how: str
) -> None:
    end, reason, reconnect = ENDS[how]
    team = await factory.team()
    async with (
        stream(sse_server.url, QUEUE, team["eng"]) as (status, reader),
        stream(sse_server.url, QUEUE, team["eng2"]) as (_, colleague),
    ):
        assert status == 200
        assert (await reader.next()).retry is not None
        assert (await colleague.next()).retry is not None
        await end(sse_server.url, team, clock)
        await revoked_then_closed(reader, reason)
        # The colleague's stream goes on and gets the escalation made afterwards.
        tech = team["tech"]
        if how == "expired":  # every login of the team has expired: a technician logged in now
            tech = await factory.user(tech.account_id, role="technician")
        made = await escalate(sse_server.url, tech)
        frame = await colleague.next_event()
        if frame.event == "revoked":
            assert how == "expired"  # the colleague's test login expired too: also ended
        else:
            assert (frame.event, frame.json["id"]) == ("handoff.created", made["id"])
    async with stream(sse_server.url, QUEUE, team["eng"]) as (status, _):
        assert status == reconnect


async def test_a_role_change_ends_only_the_streams_the_new_role_may_not_read(
    sse_server: SSEServer, factory: Factory, clock: FrozenClock
) -> None:
    team = await factory.team()
    h = await escalate(sse_server.url, team["tech"], reason="co-working")
    path = f"/api/v1/sessions/{h['session_id']}/stream"
    async with (
        stream(sse_server.url, path, team["eng"]) as (_, engineer),
        stream(sse_server.url, path, team["tech"]) as (_, owner),
    ):
        assert (await engineer.next()).retry is not None
        assert (await owner.next()).retry is not None
        # The owner becomes an engineer: their own session is still theirs, nothing ends.
        r = await call(
            sse_server.url, team["admin"], "PATCH", f"/api/v1/users/{team['tech'].id}",
            json={"role": "engineer"},
        )  # fmt: skip
        assert r.status_code == 200
        await _demote(sse_server.url, team, clock)  # the viewing engineer is a technician now
        while (frame := await engineer.next_event(within=CLOSES_WITHIN)).event == "presence":
            pass
        assert (frame.event, frame.json) == ("revoked", {"reason": "role_changed"})
        assert await engineer.closed(within=CLOSES_WITHIN)
        step = await call(
            sse_server.url, team["tech"], "POST", f"/api/v1/sessions/{h['session_id']}/steps",
            json={"kind": "note", "content": "still here"},
        )  # fmt: skip
        assert step.status_code == 201
        while (frame := await owner.next_event()).event == "presence":
            pass
        assert (frame.event, frame.json["content"]) == ("step.created", "still here")


@pytest.mark.skipif(not REDIS_URL, reason=REPLICAS_NEED_REDIS)
async def test_logout_on_one_replica_ends_the_stream_on_the_other(
    replicas: list[str], factory: Factory
) -> None:
    a, b = replicas
    team = await factory.team()
    async with stream(a, QUEUE, team["eng"]) as (status, reader):
        assert status == 200
        assert (await reader.next()).retry is not None
        assert (await call(b, team["eng"], "POST", "/api/v1/auth/logout")).status_code == 204
        await revoked_then_closed(reader, "logout")
        await escalate(b, team["tech"])
    for url in (a, b):
        async with stream(url, QUEUE, team["eng"]) as (status, _):
            assert status == 401

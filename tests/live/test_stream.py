"""``GET /api/v1/handoffs/stream`` over a real socket (uvicorn in this loop)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flowpilot.kernel.bus import BusEvent
from flowpilot.kernel.clock import FrozenClock
from flowpilot.live.ticker import ManualTicker
from tests.events.helpers import emit
from tests.factories import Factory, TestUser
from tests.live.helpers import SSEServer
from tests.live.sse_client import SSEReader

PATH = "/api/v1/handoffs/stream"


@asynccontextmanager
async def open_stream(
    server: SSEServer, user: TestUser | None = None, **kwargs: object
) -> AsyncIterator[tuple[httpx.Response, SSEReader]]:
    headers = dict(user.headers) if user else {}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
        client.stream("GET", PATH, headers=headers, **kwargs) as response,  # type: ignore[arg-type]
    ):
        yield response, SSEReader(response)


async def connected(reader: SSEReader) -> None:
    """The first frame is the retry hint: the stream is subscribed from here on."""
    first = await reader.next()
    assert first.retry == 3000


async def wait_until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(1000):
        if predicate():
            return
        await asyncio.sleep(0.01)  # waiting for a socket event, not for an app timer
    raise AssertionError(f"timed out waiting for {what}")


async def metric(server: SSEServer) -> float:
    async with httpx.AsyncClient(base_url=server.url) as client:
        text = (await client.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("flowpilot_sse_open_streams "))
    return float(line.split()[1])


async def test_role_gates(sse_server: SSEServer, factory: Factory) -> None:
    team = await factory.team()
    async with open_stream(sse_server) as (response, _):
        assert response.status_code == 401
    async with open_stream(sse_server, team["tech"]) as (response, _):
        assert response.status_code == 403
    for who in ("eng", "admin"):
        async with open_stream(sse_server, team[who]) as (response, reader):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            await connected(reader)
    # Browsers use the session cookie (no token in the URL).
    cookie = {"cookie": f"flowpilot_session={team['eng'].token}"}
    async with open_stream(sse_server, headers=cookie) as (response, reader):
        assert response.status_code == 200
        await connected(reader)


async def test_live_events_are_framed_and_audit_only_types_are_not_streamed(
    sse_server: SSEServer,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    account = team["eng"].account_id
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        await emit(
            db,
            account_id=account,
            bus=sse_server.bus,
            now=clock.now(),
            type="handoff.renotified",
            payload={"id": "h1"},
        )
        created = await emit(
            db,
            account_id=account,
            bus=sse_server.bus,
            now=clock.now(),
            payload={"id": "h1", "status": "open", "reason": "stuck"},
        )
        frame = await reader.next_event()
        assert (frame.id, frame.event) == (str(created.id), "handoff.created")
        assert frame.json == {"id": "h1", "status": "open", "reason": "stuck"}


async def test_account_isolation(
    sse_server: SSEServer,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    a, b = await factory.team(), await factory.team()
    async with open_stream(sse_server, b["eng"]) as (_, reader):
        await connected(reader)
        for _ in range(3):
            await emit(db, account_id=a["eng"].account_id, bus=sse_server.bus, now=clock.now())
        mine = await emit(db, account_id=b["eng"].account_id, bus=sse_server.bus, now=clock.now())
        frame = await reader.next_event()
        assert frame.id == str(mine.id)


async def test_replay_after_disconnect_then_live_without_gap_or_duplicate(
    sse_server: SSEServer,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    account = team["eng"].account_id
    bus = sse_server.bus
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        first = await emit(db, account_id=account, bus=bus, now=clock.now())
        assert (await reader.next_event()).id == str(first.id)
    anchor = first.id
    for how in ("header", "query"):
        # Missed while disconnected (another account's events interleave in the log).
        missed = []
        for _ in range(3):
            missed.append(await emit(db, account_id=account, bus=bus, now=clock.now()))
            await emit(db, account_id=(await factory.account()).id, bus=bus, now=clock.now())
        kwargs: dict[str, object] = (
            {"headers": {"Last-Event-ID": str(anchor)}}
            if how == "header"
            else {"params": {"last_event_id": anchor}}
        )
        async with open_stream(sse_server, team["eng"], **kwargs) as (_, reader):
            await connected(reader)
            got = [await reader.next_event() for _ in range(3)]
            assert [f.id for f in got] == [str(e.id) for e in missed], how
            assert [f.event for f in got] == ["handoff.created"] * 3
            # At the seam: a live copy of a replayed event is dropped, the next one arrives.
            last = missed[-1]
            await bus.publish(BusEvent(last.id, account, last.type, last.payload))
            newer = await emit(db, account_id=account, bus=bus, now=clock.now())
            assert (await reader.next_event()).id == str(newer.id), how
            anchor = newer.id


async def test_too_old_or_unknown_last_event_id_gets_resync(
    sse_server: SSEServer,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    team = await factory.team()
    account = team["eng"].account_id
    sse_server.app.state.ctx.settings.sse_replay_limit = 2
    events = [await emit(db, account_id=account, bus=None, now=clock.now()) for _ in range(4)]
    async with open_stream(sse_server, team["eng"], headers={"Last-Event-ID": "0"}) as (_, reader):
        await connected(reader)
        frame = await reader.next_event()
        assert frame.event == "resync" and frame.json == {"reason": "history"}
        assert frame.id == str(events[-1].id)  # resume after the head once reloaded
        live = await emit(db, account_id=account, bus=sse_server.bus, now=clock.now())
        assert (await reader.next_event()).id == str(live.id)
    # Within the window: replayed normally.
    async with open_stream(
        sse_server, team["eng"], headers={"Last-Event-ID": str(events[2].id)}
    ) as (_, reader):
        await connected(reader)
        assert (await reader.next_event()).id == str(events[3].id)
        assert (await reader.next_event()).id == str(live.id)
    # An id this log never issued (e.g. from before a restore).
    async with open_stream(sse_server, team["eng"], params={"last_event_id": 10**12}) as (
        _,
        reader,
    ):
        await connected(reader)
        assert (await reader.next_event()).event == "resync"


async def test_bad_last_event_id_is_422(sse_server: SSEServer, factory: Factory) -> None:
    team = await factory.team()
    async with open_stream(sse_server, team["eng"], headers={"Last-Event-ID": "abc"}) as (r, _):
        assert r.status_code == 422
    async with open_stream(sse_server, team["eng"], params={"last_event_id": -1}) as (r, _):
        assert r.status_code == 422


async def test_heartbeat_with_injected_ticker(
    sse_server: SSEServer,
    factory: Factory,
    db: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    ticker = ManualTicker()
    await sse_server.bus.fanout.use_ticker(ticker)
    assert sse_server.bus.fanout.heartbeat_seconds == 25
    team = await factory.team()
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        await ticker.wait_for_sleepers(1)
        await ticker.advance(24)
        event = await emit(
            db, account_id=team["eng"].account_id, bus=sse_server.bus, now=clock.now()
        )
        frame = await reader.next()  # no heartbeat came before it at 24 s
        assert frame.id == str(event.id)
        await ticker.advance(1)
        frame = await reader.next()
        assert frame.comments == ["ping"] and frame.event is None
        await ticker.wait_for_sleepers(1)
        await ticker.advance(25)
        assert (await reader.next()).comments == ["ping"]


async def test_lifetime_cap_tells_the_client_to_reconnect_and_frees_everything(
    sse_server: SSEServer, factory: Factory
) -> None:
    ticker = ManualTicker()
    await sse_server.bus.fanout.use_ticker(ticker)
    sse_server.app.state.ctx.settings.sse_max_lifetime_seconds = 60
    team = await factory.team()
    async with open_stream(sse_server, team["admin"]) as (_, reader):
        await connected(reader)
        assert await metric(sse_server) == 1.0
        for _ in range(2):
            await ticker.wait_for_sleepers(1)
            await ticker.advance(25)
            assert (await reader.next()).comments == ["ping"]
        await ticker.wait_for_sleepers(1)
        await ticker.advance(25)  # 75 s > 60 s
        frame = await reader.next()
        assert frame.event == "reconnect"
        assert await reader.closed()
    await wait_until(lambda: sse_server.bus.fanout.count == 0, "subscription removed")
    assert await metric(sse_server) == 0.0


async def test_disconnect_is_noticed_and_no_db_connection_is_held(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    fanout = sse_server.bus.fanout
    pool = sse_server.app.state.ctx.engine.pool
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        assert fanout.count == 1
        assert await metric(sse_server) == 1.0
        assert pool.checkedout() == 0  # the stream holds no database connection
    await wait_until(lambda: fanout.count == 0, "subscription removed after disconnect")
    assert await metric(sse_server) == 0.0


async def test_overflowing_stream_gets_resync_and_is_closed(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    account = team["eng"].account_id
    fanout = sse_server.bus.fanout
    fanout.queue_size = 2
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        # A burst faster than the stream drains (no await in between): the bound is hit.
        for i in range(1, 6):
            fanout.deliver(BusEvent(10**9 + i, account, "handoff.created", {"n": i}))
        frame = await reader.next_event()
        assert frame.event == "resync" and frame.json == {"reason": "overflow"}
        assert frame.id == str(10**9 + 3)  # the newest id it had when it overflowed
        assert await reader.closed()
    await wait_until(lambda: fanout.count == 0, "overflowed subscription removed")


async def test_late_relayed_event_that_was_missed_triggers_resync(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    account = team["eng"].account_id
    fanout = sse_server.bus.fanout
    async with open_stream(sse_server, team["eng"]) as (_, reader):
        await connected(reader)
        fanout.deliver(BusEvent(500, account, "handoff.created", {}))
        assert (await reader.next_event()).id == "500"
        fanout.deliver(BusEvent(500, account, "handoff.created", {}, relayed=True))  # duplicate
        fanout.deliver(BusEvent(499, account, "handoff.created", {}, relayed=True))  # missed
        frame = await reader.next_event()
        assert frame.event == "resync" and frame.json == {"reason": "missed"}

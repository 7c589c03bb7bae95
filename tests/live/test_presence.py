"""Presence expires: the viewers of a replica that vanished without saying ``leave`` disappear
within three refreshes by the fan-out's ticker; those of a live replica never do."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from flowpilot.kernel.bus import PRESENCE, BusEvent
from flowpilot.live import presence
from flowpilot.live.bus import Bus, Subscription
from flowpilot.live.redis_bus import RedisBus
from flowpilot.live.ticker import ManualTicker
from flowpilot.live.topics import Control, StreamScope
from flowpilot.runtime import gcpolicy
from tests.databases import REDIS_URL, REPLICAS_NEED_REDIS
from tests.live.helpers import MakeBus

REFRESH = presence.REFRESH_SECONDS
LEE = {"id": "u-lee", "name": "Lee Local"}
GAIL = {"id": "u-gail", "name": "Gail Gone"}
MAX = {"id": "u-max", "name": "Max Later"}


def equipped(bus: Bus) -> Bus:
    """What the runtime adds at start: presence replies go out on the bus; the refresh runs."""
    bus.fanout.announce = bus.publish
    bus.fanout.every(presence.Refresh())
    return bus


async def viewer(bus: Bus, user: dict[str, str], session_id: str = "s1") -> Subscription:
    """A session stream opened on ``bus``'s replica (what ``EventStream.run`` does)."""
    scope = StreamScope(session_id=session_id, user_id=user["id"], name=user["name"])
    sub = await bus.subscribe("acct", scope=scope)
    await bus.publish(presence.message("join", sub, bus.fanout.node))
    return sub


async def next_presence(sub: Subscription) -> Any:
    """The next presence item a stream would send (heartbeats skipped)."""
    while True:
        item = await asyncio.wait_for(sub.get(), 10)
        if isinstance(item, Control) and item.kind == "presence":
            return item.data


async def shown(sub: Subscription, *users: dict[str, str]) -> None:
    """Wait until ``sub`` is told that exactly ``users`` are viewing."""
    want = sorted(users, key=lambda u: u["name"])
    while (await next_presence(sub))["viewers"] != want:
        pass


def nothing_queued(sub: Subscription) -> bool:
    return not [i for i in sub._items if not (isinstance(i, Control) and i.kind == "heartbeat")]


async def until(condition: Callable[[], bool]) -> None:
    """Yield until a bus message has arrived (Redis delivers on its reader task)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)  # waiting for Redis to deliver, not for an app timer
    raise AssertionError("the bus never delivered")


def refreshed(bus: Bus, sub: Subscription, ticker: ManualTicker) -> Callable[[bool], bool]:
    def check(_: bool = True) -> bool:
        table = bus.fanout.presence.get("acct/s1", {})
        return sub.conn in table and table[sub.conn][2] == ticker.now()

    return check


async def tick(ticker: ManualTicker, sleepers: int, seconds: float = REFRESH) -> None:
    await ticker.wait_for_sleepers(sleepers)  # heartbeat, GC settle check, presence refresh
    await ticker.advance(seconds)


async def test_a_vanished_replicas_viewer_expires_and_a_local_one_stays(
    make_bus: MakeBus,
) -> None:
    ticker = ManualTicker()
    bus = equipped(await make_bus(ticker=ticker))
    lee = await viewer(bus, LEE)
    queue = await bus.subscribe("acct")
    # A replica that has since died (no ``leave`` will ever come) had Gail on the session.
    await bus.publish(
        BusEvent(
            0,
            "acct",
            PRESENCE,
            {"op": "join", "session_id": "s1", "conn": "dead:1", "node": "dead", **_as(GAIL)},
        )
    )
    await shown(lee, GAIL, LEE)
    await shown(queue, GAIL, LEE)
    for _ in range(3):  # three refreshes missed: still listed (one lost message hides no one)
        await tick(ticker, 3)
        await until(refreshed(bus, lee, ticker))
    assert nothing_queued(lee)
    await tick(ticker, 3)  # the fourth: Gail's entry is older than three refreshes
    assert await next_presence(lee) == {"viewers": [LEE]}
    assert await next_presence(queue) == {"session_id": "s1", "viewers": [LEE]}
    for _ in range(6):  # Lee's own replica keeps refreshing Lee
        await tick(ticker, 3)
        await until(refreshed(bus, lee, ticker))
    assert nothing_queued(lee)
    assert presence.viewers(bus.fanout, "acct", "s1") == [LEE]


def _as(user: dict[str, str]) -> dict[str, str]:
    return {"user_id": user["id"], "name": user["name"]}


async def test_a_stream_that_closed_while_its_refresh_was_in_flight_does_not_come_back(
    make_bus: MakeBus,
) -> None:
    ticker = ManualTicker()
    bus = equipped(await make_bus(ticker=ticker))
    lee, gail = await viewer(bus, LEE), await viewer(bus, GAIL)
    await shown(lee, GAIL, LEE)
    stale = presence.here(bus.fanout.of_session("acct", "s1"), bus.fanout.node)
    assert stale is not None
    gail.close()
    await bus.publish(presence.message("leave", gail, bus.fanout.node))
    await shown(lee, LEE)
    await bus.publish(stale)  # the refresh sent before Gail left arrives after her leave
    await viewer(bus, MAX)  # on the feed after it: once Max is shown, the stale one was heard
    await shown(lee, LEE, MAX)
    assert gail.conn not in bus.fanout.presence["acct/s1"]
    assert presence.viewers(bus.fanout, "acct", "s1") == [LEE, MAX]


needs_redis = pytest.mark.skipif(not REDIS_URL, reason=REPLICAS_NEED_REDIS)


async def redis_replica(prefix: str, ticker: ManualTicker) -> RedisBus:
    assert REDIS_URL
    bus = RedisBus(REDIS_URL, prefix=prefix, history=100, block_ms=500, ticker=ticker)
    await bus.start()
    gcpolicy.attach(bus.fanout)
    equipped(bus)
    return bus


@needs_redis
async def test_two_replicas_one_vanishes_its_viewers_expire_on_the_other(
    redis_prefix: str,
) -> None:
    prefix = f"{redis_prefix}:{uuid.uuid4().hex[:8]}"
    ta, tb, tc = ManualTicker(), ManualTicker(), ManualTicker()
    a, b = await redis_replica(prefix, ta), await redis_replica(prefix, tb)
    c: RedisBus | None = None
    try:
        lee = await viewer(a, LEE)
        queue = await a.subscribe("acct")
        await viewer(b, GAIL)
        await shown(lee, GAIL, LEE)
        await shown(queue, GAIL, LEE)
        # A replica started later learns both from the refreshes, with no join to answer.
        c = await redis_replica(prefix, tc)
        late = await c.subscribe("acct")
        await tick(ta, 3)
        await tick(tb, 3)
        while (await next_presence(late))["viewers"] != [GAIL, LEE]:
            pass
        # While B lives, its refreshes keep Gail listed on A however long the session is open.
        for _ in range(5):
            await tick(ta, 3)
            await until(refreshed(a, lee, ta))
            await tick(tb, 3)
            await until(lambda: _heard(a, ta, "Gail Gone"))
        assert nothing_queued(lee)
        # B dies: no leave, no more refreshes. A drops Gail after three missed refreshes.
        await b.stop()
        for _ in range(3):
            await tick(ta, 3)
            await until(refreshed(a, lee, ta))
        assert nothing_queued(lee)
        await tick(ta, 3)
        assert await next_presence(lee) == {"viewers": [LEE]}
        assert await next_presence(queue) == {"session_id": "s1", "viewers": [LEE]}
    finally:
        for bus in (a, b, c):
            if bus is not None:
                await bus.stop()


def _heard(bus: RedisBus, ticker: ManualTicker, name: str) -> bool:
    """``bus`` heard of ``name`` at the current time of its ticker (a refresh arrived)."""
    table = bus.fanout.presence.get("acct/s1", {})
    return any(n == name and seen == ticker.now() for _u, n, seen in table.values())

"""The bus contract, run against every configured backend (in-process; Redis Streams)."""

from __future__ import annotations

import asyncio
import collections

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.bus import Fanout
from flowpilot.live.ticker import ManualTicker
from flowpilot.live.topics import Control
from tests.live.helpers import MakeBus


def ev(id: int, account: str = "acct-a", type: str = "handoff.created", **kw: object) -> BusEvent:
    return BusEvent(id=id, account_id=account, type=type, data={"n": id}, **kw)  # type: ignore[arg-type]


async def take(sub, n: int) -> list:  # type: ignore[no-untyped-def]
    return [await asyncio.wait_for(sub.get(), 10) for _ in range(n)]


async def test_subscriber_receives_its_accounts_events_in_order(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe("acct-a")
    for i in (1, 2, 3):
        await bus.publish(ev(i))
    got = await take(sub, 3)
    assert [e.id for e in got] == [1, 2, 3]
    assert got[0].data == {"n": 1} and got[0].type == "handoff.created"


async def test_account_isolation(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub_a = await bus.subscribe("acct-a")
    sub_b = await bus.subscribe("acct-b")
    await bus.publish(ev(1, "acct-a"))
    await bus.publish(ev(2, "acct-a"))
    await bus.publish(ev(3, "acct-b"))
    # B's first item is B's own event: none of A's two earlier events reached it.
    [first_b] = await take(sub_b, 1)
    assert first_b.id == 3
    assert sub_b.qsize() == 0
    assert [e.id for e in await take(sub_a, 2)] == [1, 2]
    assert sub_a.qsize() == 0


async def test_every_local_subscriber_of_the_account_gets_each_event(make_bus: MakeBus) -> None:
    bus = await make_bus()
    subs = [await bus.subscribe("acct-a") for _ in range(3)]
    await bus.publish(ev(7))
    for sub in subs:
        assert [e.id for e in await take(sub, 1)] == [7]


async def test_events_at_or_below_last_event_id_are_not_delivered(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe("acct-a", last_event_id=5)
    for i in (4, 5, 6):
        await bus.publish(ev(i))
    assert [e.id for e in await take(sub, 1)] == [6]


async def test_overflow_sends_resync_and_drops_the_subscriber(make_bus: MakeBus) -> None:
    bus = await make_bus(queue_size=3)
    slow = await bus.subscribe("acct-a")
    fast = await bus.subscribe("acct-a")
    for i in range(1, 6):
        await bus.publish(ev(i))
        await take(fast, 1)
    # The slow one never read: the backlog is replaced by one resync carrying the newest id.
    [item] = await take(slow, 1)
    assert item == Control("resync", last_id=4)
    assert slow.closed and slow.qsize() == 0
    assert bus.fanout.count == 1  # only ``fast`` is still subscribed
    await bus.publish(ev(6))
    assert [e.id for e in await take(fast, 1)] == [6]
    assert slow.qsize() == 0


async def test_closing_a_subscription_frees_it(make_bus: MakeBus) -> None:
    bus = await make_bus()
    sub = await bus.subscribe("acct-a")
    assert bus.fanout.count == 1
    sub.close()
    assert bus.fanout.count == 0 and bus.fanout.accounts() == []
    await bus.publish(ev(1))
    other = await bus.subscribe("acct-a", last_event_id=1)
    await bus.publish(ev(2))
    assert [e.id for e in await take(other, 1)] == [2]
    assert sub.qsize() == 0


async def test_heartbeat_follows_the_injected_ticker(make_bus: MakeBus) -> None:
    ticker = ManualTicker()
    bus = await make_bus(heartbeat_seconds=25, ticker=ticker)
    sub = await bus.subscribe("acct-a")
    await ticker.wait_for_sleepers(1)
    await ticker.advance(24.9)
    assert sub.qsize() == 0 and not sub._items  # no heartbeat before the interval
    await ticker.advance(0.1)
    assert await take(sub, 1) == [Control("heartbeat")]
    await ticker.wait_for_sleepers(1)
    await ticker.advance(25)
    assert await take(sub, 1) == [Control("heartbeat")]


async def test_heartbeats_are_spread_over_the_interval(make_bus: MakeBus) -> None:
    # Pinging every stream at once held the event loop ~330 ms at 10k streams.
    ticker = ManualTicker()
    bus = await make_bus(heartbeat_seconds=25, ticker=ticker)
    slices = Fanout.SLICES
    subs = [await bus.subscribe(f"acct-{i % 3}") for i in range(2 * slices)]
    pings: collections.Counter[int] = collections.Counter()
    per_tick = []
    for _ in range(slices):  # one whole interval, tick by tick
        await ticker.wait_for_sleepers(2)  # the heartbeat and the settle collector
        await ticker.advance(25 / slices)
        pinged = [i for i, sub in enumerate(subs) if sub.qsize() == 0 and sub._items]
        for i in pinged:
            assert await take(subs[i], 1) == [Control("heartbeat")]
            pings[i] += 1
        per_tick.append(len(pinged))
    assert per_tick == [2] * slices
    assert [pings[i] for i in range(len(subs))] == [1] * len(subs)  # one ping each per interval


async def test_lifetime_ends_a_subscription_at_a_heartbeat(make_bus: MakeBus) -> None:
    ticker = ManualTicker()
    bus = await make_bus(heartbeat_seconds=10, ticker=ticker)
    sub = await bus.subscribe("acct-a")
    sub.expires_at = ticker.now() + 15
    await ticker.wait_for_sleepers(1)
    await ticker.advance(10)
    assert await take(sub, 1) == [Control("heartbeat")]
    await ticker.wait_for_sleepers(1)
    await ticker.advance(10)
    assert await take(sub, 1) == [Control("end")]
    assert bus.fanout.count == 0


async def test_ping(make_bus: MakeBus) -> None:
    bus = await make_bus()
    assert await bus.ping() is True

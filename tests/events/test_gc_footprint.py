"""What open streams cost the cyclic GC, and when its full collection runs (issue 4).

A full collection scans every GC-tracked object with the event loop stopped, so whatever an
idle stream keeps alive is paid again by every request that a collection lands in. These tests
pin the three things that keep that pause small and off the request path: a stream keeps few
objects alive (it runs detached from the routing stack), the start-up heap is frozen, and a
burst of new streams is collected once it has settled, not inside the next request.
"""

from __future__ import annotations

import asyncio
import gc
from urllib.parse import urlsplit

from fastapi import FastAPI

from flowpilot.events.gcpolicy import SettleCollector
from flowpilot.events.ticker import ManualTicker
from tests.events.conftest import MakeBus, SSEServer
from tests.factories import Factory

PATH = "/api/v1/handoffs/stream"
STREAMS = 40
# Measured per stream, server side plus this test's raw client socket: ~90 detached from the
# routing stack, ~185 when the stream ran inside it (before the fix).
MAX_OBJECTS_PER_STREAM = 120


def tracked_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


async def open_raw_stream(
    server: SSEServer, token: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A bare socket client (an httpx stream would itself keep hundreds of objects alive)."""
    url = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        f"GET {PATH} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = b""
    while b"retry:" not in head:  # the first frame: subscribed from here on
        chunk = await asyncio.wait_for(reader.read(4096), 10)
        assert chunk, f"stream refused: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200 "), head[:100]
    return reader, writer


async def test_an_idle_stream_keeps_few_objects_alive(
    sse_server: SSEServer, factory: Factory
) -> None:
    team = await factory.team()
    fanout = sse_server.bus.fanout
    # One stream first, so one-off state (pools, caches, the first connection) is not counted.
    warm = await open_raw_stream(sse_server, team["eng"].token)
    before = tracked_objects()
    streams = [await open_raw_stream(sse_server, team["eng"].token) for _ in range(STREAMS)]
    after = tracked_objects()
    assert fanout.count == STREAMS + 1
    per_stream = (after - before) / STREAMS
    assert per_stream < MAX_OBJECTS_PER_STREAM, (
        f"an idle stream keeps {per_stream:.0f} GC-tracked objects alive; every full collection "
        "scans them with the event loop stopped"
    )
    for _, writer in [warm, *streams]:
        writer.close()
    for _ in range(1000):
        if fanout.count == 0:
            break
        await asyncio.sleep(0.01)  # waiting for the server to notice the disconnects
    assert fanout.count == 0


async def test_the_start_up_heap_is_frozen(app: FastAPI) -> None:
    # Once per process, at the first start-up (this worker's first app, maybe another test's).
    assert gc.get_freeze_count() > 0


async def settle(ticker: ManualTicker) -> None:
    """One collector interval: the heartbeat and the collector are asleep, then time moves."""
    await ticker.wait_for_sleepers(2)
    await ticker.advance(SettleCollector.INTERVAL)


async def test_a_burst_of_new_streams_is_collected_once_it_has_settled(
    make_bus: MakeBus,
) -> None:
    ticker = ManualTicker()
    bus = await make_bus(ticker=ticker)
    collector = bus.fanout.collector
    burst = SettleCollector.MIN_NEW + 20
    subs = [await bus.subscribe(f"acct-{i % 7}") for i in range(burst // 2)]
    await settle(ticker)
    subs += [await bus.subscribe(f"acct-{i % 7}") for i in range(burst - burst // 2)]
    await settle(ticker)
    assert collector.collections == 0  # streams were still arriving at every check
    await settle(ticker)
    assert collector.collections == 1  # quiet for one interval: collected now
    for _ in range(3):
        await settle(ticker)
    assert collector.collections == 1  # nothing new, nothing more to pay for
    subs += [await bus.subscribe("acct-0") for _ in range(SettleCollector.MIN_NEW // 2)]
    await settle(ticker)
    await settle(ticker)
    assert collector.collections == 1  # too few new streams to be worth a pause
    for sub in subs:
        sub.close()


async def test_a_full_collection_cpython_ran_itself_is_not_repeated(make_bus: MakeBus) -> None:
    ticker = ManualTicker()
    bus = await make_bus(ticker=ticker)
    subs = [await bus.subscribe("acct-a") for _ in range(SettleCollector.MIN_NEW + 20)]
    gc.collect()  # what CPython does by itself when the new objects pass its threshold
    await settle(ticker)
    await settle(ticker)
    assert bus.fanout.collector.collections == 0
    for sub in subs:
        sub.close()

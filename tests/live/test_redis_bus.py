"""Redis-only behaviour: several processes (buses) share events through one Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.redis_bus import RedisBus
from tests.databases import REDIS_URL, REPLICAS_NEED_REDIS

needs_redis = pytest.mark.skipif(not REDIS_URL, reason=REPLICAS_NEED_REDIS)


@needs_redis
async def test_event_published_by_one_process_reaches_subscribers_of_another(
    redis_prefix: str,
) -> None:
    assert REDIS_URL
    prefix = f"{redis_prefix}:{uuid.uuid4().hex[:8]}"
    a = RedisBus(REDIS_URL, prefix=prefix, history=50, block_ms=500)
    b = RedisBus(REDIS_URL, prefix=prefix, history=50, block_ms=500)
    await a.start()
    await b.start()
    try:
        sub_a = await a.subscribe("acct")
        sub_b = await b.subscribe("acct")
        await b.publish(BusEvent(id=1, account_id="acct", type="handoff.created", data={"x": 1}))
        for sub in (sub_a, sub_b):
            got = await asyncio.wait_for(sub.get(), 10)
            assert got == BusEvent(1, "acct", "handoff.created", {"x": 1})
        # Per-account stream keeps a bounded history; the feed carries it too.
        entries = await a.redis.xrange(a.account_key("acct"))
        assert [fields["id"] for _, fields in entries] == ["1"]
    finally:
        await a.stop()
        await b.stop()


@needs_redis
async def test_history_is_bounded(redis_prefix: str) -> None:
    assert REDIS_URL
    bus = RedisBus(REDIS_URL, prefix=f"{redis_prefix}:{uuid.uuid4().hex[:8]}", history=10)
    await bus.start()
    try:
        for i in range(1, 501):
            await bus.publish(BusEvent(id=i, account_id="acct", type="handoff.created"))
        length = await bus.redis.xlen(bus.account_key("acct"))
        assert 10 <= length < 500  # MAXLEN ~ trims whole nodes, never below the bound
    finally:
        await bus.stop()


async def test_unreachable_redis_fails_start_loudly() -> None:
    """Runs without Redis too: a configured but unreachable Redis must never pass quietly."""
    bus = RedisBus("redis://127.0.0.1:1/0")
    with pytest.raises((RedisConnectionError, OSError)):
        await bus.start()
    await bus.stop()

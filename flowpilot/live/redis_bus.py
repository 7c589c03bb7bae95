"""Redis Streams bus: several server processes share events; one reader task per process.

Layout (``{prefix}`` is ``settings.redis_prefix``):

- ``{prefix}:events:{account_id}`` — the account's stream, ``XADD ... MAXLEN ~ history``: a
  bounded per-account history (inspect with ``XRANGE``).
- ``{prefix}:events`` — the process feed: every event once more, also ``MAXLEN ~ history``.

Both are written in one ``MULTI``. Each process runs ONE reader task on ONE dedicated
connection that tails the feed with ``XREAD BLOCK`` and hands each event to the local fan-out,
which delivers it to that account's subscribers. Tailing one feed (instead of ``XREAD`` over the
per-account streams that have local subscribers) keeps the reader's key set fixed: no restart
when a browser of a new account connects, no per-subscribe round trip, and a reconnect resumes
from the last entry id it saw. The cost is that every process reads every account's events,
which at escalation rates (a few per second) is nothing. Replay after a reconnect reads the
durable event table, not the stream (see ``stream.py``), so both backends replay the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.bus import Fanout, Subscription
from flowpilot.live.ticker import Ticker
from flowpilot.live.topics import QUEUE, StreamScope

log = logging.getLogger("flowpilot.events")


def _encode(event: BusEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "account_id": event.account_id,
        "type": event.type,
        "data": json.dumps(event.data, separators=(",", ":")),
        "relayed": "1" if event.relayed else "0",
    }


def _decode(fields: dict[str, str]) -> BusEvent:
    return BusEvent(
        id=int(fields["id"]),
        account_id=fields["account_id"],
        type=fields["type"],
        data=json.loads(fields["data"]),
        relayed=fields.get("relayed") == "1",
    )


def _entry_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        history: int = 10_000,
        prefix: str = "flowpilot",
        queue_size: int = 256,
        heartbeat_seconds: float = 25.0,
        ticker: Ticker | None = None,
        block_ms: int = 5000,
        timeout_seconds: float = 1.0,
    ) -> None:
        self.url = url
        self.history = history
        self.prefix = prefix
        self.block_ms = block_ms
        self.timeout_seconds = timeout_seconds
        self.fanout = Fanout(
            queue_size=queue_size, heartbeat_seconds=heartbeat_seconds, ticker=ticker
        )
        self.feed_key = f"{prefix}:events"
        self._redis: Redis | None = None
        self._reader: Redis | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._last_id = "0-0"
        self._stopping = False

    def account_key(self, account_id: str) -> str:
        return f"{self.prefix}:events:{account_id}"

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("RedisBus is not started")
        return self._redis

    async def start(self) -> None:
        """Connect (a set but unreachable Redis fails start-up loudly) and start the reader."""
        # Publishes and pings give up after timeout_seconds: a hung Redis (stopped, not down)
        # would otherwise hold every caller until the OS gives up on the connection.
        self._redis = Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=self.timeout_seconds,
            socket_connect_timeout=self.timeout_seconds,
        )
        # Its own pool: the reader's blocking XREAD never holds up a publish.
        # The reader blocks in XREAD for block_ms; its socket timeout must outlast that block
        # (redis-py's default of 5 s equals our default block, and a timeout there cost a
        # reconnect and a back-off pause: a few hundred ms of delivery latency).
        self._reader = Redis.from_url(
            self.url, decode_responses=True, socket_timeout=self.block_ms / 1000 + 10
        )
        await self._reader.ping()  # start-up may wait longer than a publish
        newest = await self._reader.xrevrange(self.feed_key, count=1)
        self._last_id = str(newest[0][0]) if newest else "0-0"
        self._reader_task = asyncio.create_task(self._read_loop(), name="redis-bus-reader")
        self.fanout.start()

    async def stop(self) -> None:
        self._stopping = True
        await self.fanout.stop()
        task, self._reader_task = self._reader_task, None
        if task is not None:
            task.cancel()
            # A cancel that lands while redis-py is connecting can take a whole XREAD block
            # to surface; don't let shutdown wait for it (the clients are closed next anyway).
            await asyncio.wait({task}, timeout=1.0)
        for client in (self._reader, self._redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._reader = self._redis = None

    async def publish(self, event: BusEvent) -> None:
        fields: Any = _encode(event)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.account_key(event.account_id), fields, maxlen=self.history, approximate=True
            )
            pipe.xadd(self.feed_key, fields, maxlen=self.history, approximate=True)
            await pipe.execute()

    async def subscribe(
        self, account_id: str, last_event_id: int | None = None, scope: StreamScope = QUEUE
    ) -> Subscription:
        # The reader already tails every account's events: registering locally is enough.
        return self.fanout.add(account_id, last_event_id, scope)

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def _read_loop(self) -> None:
        assert self._reader is not None
        failures = 0
        while True:
            try:
                if failures:
                    await self._check_gap()
                response: Any = await self._reader.xread(
                    {self.feed_key: self._last_id}, count=500, block=self.block_ms
                )
                failures = 0
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._stopping:
                    return
                failures += 1
                log.warning("redis bus reader: %s (attempt %d)", exc, failures)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            for _key, entries in response or ():
                for entry_id, fields in entries:
                    self._last_id = entry_id
                    try:
                        event = _decode(fields)
                    except (KeyError, ValueError):
                        log.exception("redis bus: undecodable entry %s", entry_id)
                        continue
                    self.fanout.deliver(event)

    async def _check_gap(self) -> None:
        """After an outage: if the feed was trimmed past our position, everyone must resync."""
        oldest: Any = await self.redis.xrange(self.feed_key, count=1)
        if (
            oldest
            and self._last_id != "0-0"
            and _entry_key(oldest[0][0]) > _entry_key(self._last_id)
        ):
            log.warning(
                "redis bus: feed trimmed past %s; telling subscribers to resync", self._last_id
            )
            self.fanout.resync_all()

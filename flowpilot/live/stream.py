"""The live stream of one browser: a pure ASGI ``text/event-stream`` response (rule 6).

Order of work, so the seam between replay and live events has no gap and no duplicate:
subscribe first (live events start queuing), then read the missed events from the durable
event table in a short session of its own (closed before streaming), send them, then send
queued live events, dropping any id already sent. Heartbeats and the lifetime cap come from
the process-wide heartbeat in :class:`~flowpilot.live.bus.Fanout` (one timer per process,
not one per stream); a small task per stream waits for the client to disconnect.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flowpilot.events import service as events_service
from flowpilot.kernel.bus import BusEvent
from flowpilot.kernel.db.uow import unit_of_work
from flowpilot.kernel.metrics import Metrics
from flowpilot.kernel.tenancy import Tenant
from flowpilot.live import presence
from flowpilot.live.bus import Bus, Subscription
from flowpilot.live.topics import (
    QUEUE,
    SESSION_REPLAY_TYPES,
    STREAMED_TYPES,
    Control,
    StreamScope,
)

log = logging.getLogger("flowpilot.events")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store"),
    (b"x-accel-buffering", b"no"),
]
HEARTBEAT_FRAME = b": ping\n\n"
DETACH_SLOT = "flowpilot.detached_stream"
StreamRunner = Callable[[Receive, Send], Awaitable[None]]


def open_streams_gauge(metrics: Metrics) -> Gauge:
    return metrics.gauge("flowpilot_sse_open_streams", "Open SSE streams in this process")


def declare_metrics(metrics: Metrics) -> None:
    """Make this module's metrics at start-up, so ``/metrics`` shows them before any stream."""
    open_streams_gauge(metrics)


def frame(*, event: str, data: Any, id: int | None = None) -> bytes:
    head = f"id: {id}\n" if id is not None else ""
    body = json.dumps(data, separators=(",", ":"), default=str)
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


def resync_frame(reason: str, last_id: int) -> bytes:
    # Carries the id the client should resume after once it has reloaded the queue.
    return frame(event="resync", data={"reason": reason}, id=last_id)


class Deduper:
    """Decides, per event, deliver / skip (already sent) / resync (a late event was missed).

    ``last_id`` is the highest id the client has. A lower id is a duplicate unless it is a
    relayed event this stream never sent: then the client missed it and must reload.
    """

    def __init__(self, last_id: int, window: int = 64) -> None:
        self.last_id = last_id
        self._recent: collections.deque[int] = collections.deque(maxlen=window)

    def sent(self, event_id: int) -> None:
        self.last_id = max(self.last_id, event_id)
        self._recent.append(event_id)

    def verdict(self, event: BusEvent) -> str:
        if event.id > self.last_id:
            return "deliver"
        if not event.relayed or event.id in self._recent:
            return "skip"
        return "resync"


class EventStream(Response):
    """A live stream after authentication (no DB session is held open): the account's queue
    (``GET /api/v1/handoffs/stream``) or, with a session ``scope``, one session's stream
    (``GET /api/v1/sessions/{id}/stream``: its steps, its escalations, who is viewing it)."""

    media_type = "text/event-stream"

    def __init__(
        self,
        *,
        bus: Bus,
        sessionmaker: async_sessionmaker[AsyncSession],
        tenant: Tenant,
        last_event_id: int | None,
        retry_ms: int,
        max_lifetime_seconds: float,
        replay_limit: int,
        gauge: Any,
        scope: StreamScope = QUEUE,
        login_ends_at: datetime | None = None,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.body = b""
        self.bus = bus
        self.sessionmaker = sessionmaker
        self.tenant = tenant
        self.last_event_id = last_event_id
        self.retry_ms = retry_ms
        self.max_lifetime_seconds = max_lifetime_seconds
        self.replay_limit = replay_limit
        self.gauge = gauge
        self.scope = scope
        self.login_ends_at = login_ends_at
        self.raw_headers = list(HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slot = scope.get(DETACH_SLOT)
        if slot is not None:
            # The app runs the stream once the routing stack has returned (see ``route``).
            slot.append(self.run)
            return
        await self.run(receive, send)

    async def run(self, receive: Receive, send: Send) -> None:
        fanout = self.bus.fanout
        sub = await self.bus.subscribe(self.tenant.account_id, self.last_event_id, self.scope)
        # Up to 10% early, so streams opened together (after a deploy) do not all end together.
        lifetime = self.max_lifetime_seconds * (1 - 0.1 * random.random())
        sub.expires_at = fanout.ticker.now() + lifetime
        if self.login_ends_at is not None:
            fanout.watch_login(sub, self.login_ends_at)
        self.gauge.inc()
        watcher = asyncio.create_task(_watch_disconnect(receive, sub))
        session_id = self.scope.session_id
        try:
            if session_id is not None:
                await self._announce(presence.message("join", sub, fanout.node))
                presence.notify(sub, presence.viewers(fanout, sub.account_id, session_id))
            else:
                presence.catch_up(fanout, sub)
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send(_chunk(f"retry: {self.retry_ms}\n\n".encode()))
            dedupe = Deduper(self.last_event_id or 0)
            if self.last_event_id is not None:
                await self._replay(send, dedupe)
            await self._live(send, sub, dedupe)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            sub.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if session_id is not None:
                await self._announce(presence.message("leave", sub, fanout.node))
            self.gauge.dec()

    async def _announce(self, message: BusEvent) -> None:
        try:
            await self.bus.publish(message)
        except Exception:  # presence is best effort; the stream itself goes on
            log.warning("publishing presence failed", exc_info=True)

    async def _replay(self, send: Send, dedupe: Deduper) -> None:
        """Send what the client missed; or ``resync`` when that is beyond the replay window."""
        after = dedupe.last_id
        # A short transaction of its own, acting for the stream's account (whose log it reads).
        async with unit_of_work(self.sessionmaker, tenant=self.tenant) as session:
            rows = await events_service.replay(
                session,
                self.tenant,
                after_id=after,
                types=sorted(
                    STREAMED_TYPES if self.scope.session_id is None else SESSION_REPLAY_TYPES
                ),
                limit=self.replay_limit + 1,
                session_id=self.scope.session_id,
            )
            # The account's own log is all this stream ever sees (row-level security agrees).
            head = await events_service.head_id(session, tenant=self.tenant)
            stale = len(rows) > self.replay_limit or after > head
            events = [(row.id, row.type, row.payload) for row in rows]
        if stale:
            # Too much missed (or an id this log never issued): reload, then resume from here.
            await send(_chunk(resync_frame("history", head)))
            dedupe.last_id = head
            return
        for event_id, type_, payload in events:
            await send(_chunk(frame(event=type_, data=payload, id=event_id)))
            dedupe.sent(event_id)

    async def _live(self, send: Send, sub: Subscription, dedupe: Deduper) -> None:
        shown: Any = None  # the viewers this client was last told
        queue_stream = self.scope.session_id is None
        while True:
            item = await sub.get()
            if isinstance(item, Control):
                if item.kind == "heartbeat":
                    await send(_chunk(HEARTBEAT_FRAME))
                    continue
                if item.kind == "presence":
                    if queue_stream or item.data != shown:  # the queue's: one per session
                        shown = item.data
                        await send(_chunk(frame(event="presence", data=item.data)))
                    continue
                if item.kind == "resync":
                    await send(_chunk(resync_frame("overflow", item.last_id)))
                elif item.kind == "end":
                    await send(_chunk(frame(event="reconnect", data={"reason": "lifetime"})))
                elif item.kind == "revoked":
                    await send(_chunk(frame(event="revoked", data=item.data)))
                return
            if queue_stream and item.type not in STREAMED_TYPES:
                continue
            verdict = dedupe.verdict(item)
            if verdict == "skip":
                continue
            if verdict == "resync":
                await send(_chunk(resync_frame("missed", dedupe.last_id)))
                return
            await send(_chunk(frame(event=item.type, data=item.data, id=item.id)))
            dedupe.sent(item.id)


async def route(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> StreamRunner | None:
    """Call ``app`` (the routing stack); if it answered with an :class:`EventStream`, return
    the stream to run once the stack has unwound, else ``None`` (the response was sent).

    A stream lives for an hour. Run inside the routing stack, each would keep the whole stack's
    nested coroutines (middleware, router, dependency exit stacks, Request objects) alive:
    GC-tracked objects that every full collection of the cyclic GC scans with the event loop
    stopped, so the pause grows with the number of open streams. Detached, a stream keeps about
    half as many (its own coroutines, subscription and disconnect watcher, and uvicorn's
    per-connection state). Memory per stream and latency: docs/BENCHMARKS.md, SSE fan-out.
    """
    if scope["type"] != "http":
        await app(scope, receive, send)
        return None
    before = set(scope)
    slot: list[StreamRunner] = []
    scope[DETACH_SLOT] = slot
    await app(scope, receive, send)
    if not slot:
        return None
    # What the stack left in the scope (its closed exit stacks, the route, dependency state)
    # is no use to the stream and would otherwise live as long as it does.
    for key in set(scope) - before:
        del scope[key]
    return slot[0]


def _chunk(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


async def _watch_disconnect(receive: Receive, sub: Subscription) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            sub.notify(Control("disconnect"))
            return

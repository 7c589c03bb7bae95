"""The event bus interface (rule 5) and the local fan-out both backends share.

``publish(event)`` is called only after the event's transaction committed (and by the relay).
``subscribe(account_id)`` registers a :class:`Subscription` with this process's fan-out; its
bounded queue receives the account's events. A subscription that overflows receives a
``resync`` control and is dropped (the stream tells the browser to reload and reconnect);
it is never silently skipped. Backends differ only in how an event reaches the fan-out:
directly (in-process) or through one Redis reader task per process (Redis Streams).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, Protocol

from flowpilot.kernel.bus import LOGIN_REVOKED, PRESENCE, BusEvent
from flowpilot.live import presence, revocation
from flowpilot.live.ticker import LoopTicker, Ticker
from flowpilot.live.topics import END, HEARTBEAT, QUEUE, Control, StreamScope, session_streamed
from flowpilot.models.events import EventType

log = logging.getLogger("flowpilot.events")


Item = BusEvent | Control


class Subscription:
    """One local subscriber (one SSE stream): a bounded queue of events plus control items.

    A deque and one waiter future instead of ``asyncio.Queue``: an idle subscription is a few
    hundred bytes, which matters at ten thousand open streams.
    """

    __slots__ = (
        "_items",
        "_pending",
        "_waiter",
        "account_id",
        "after",
        "beat_slice",
        "closed",
        "expires_at",
        "fanout",
        "high_water",
        "maxsize",
        "scope",
    )

    def __init__(
        self,
        fanout: Fanout,
        account_id: str,
        maxsize: int,
        after: int = 0,
        scope: StreamScope = QUEUE,
    ) -> None:
        self.fanout = fanout
        self.account_id = account_id
        self.scope = scope
        self.maxsize = maxsize
        self._items: collections.deque[Item] = collections.deque()
        self._pending = 0
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.after = after  # ids at or below this reached the client already (Last-Event-ID)
        self.high_water = after
        self.expires_at: float | None = None
        self.beat_slice = 0  # which heartbeat tick of the interval pings it (set by the fan-out)

    def offer(self, event: BusEvent) -> None:
        """Queue an event; on overflow, replace the backlog with ``resync`` and drop out."""
        if self.closed or (event.id <= self.after and not event.relayed):
            return
        self.high_water = max(self.high_water, event.id)
        if self._pending >= self.maxsize:
            self._items.clear()
            self._pending = 0
            self._push(Control("resync", last_id=self.high_water))
            self.close()
            return
        self._pending += 1
        self._push(event)

    def notify(self, control: Control) -> None:
        """Queue a control item (never counted against the bound, never dropped)."""
        if control is HEARTBEAT and self._items:
            return  # something is already on its way to the client
        self._push(control)

    def _push(self, item: Item) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Item:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if isinstance(item, BusEvent):
            self._pending -= 1
        return item

    def qsize(self) -> int:
        return self._pending

    @property
    def conn(self) -> str:
        """This stream, named across replicas (presence counts connections, shows users)."""
        return f"{self.fanout.node}:{id(self):x}"

    def revoke(self, reason: str) -> None:
        """The login ended: nothing queued is sent any more, only ``revoked``; leave."""
        if self.closed:
            return
        self._items.clear()
        self._pending = 0
        self._push(Control("revoked", data={"reason": reason}))
        self.close()

    def close(self) -> None:
        """Leave the fan-out (idempotent); queued items stay readable."""
        self.closed = True
        self.fanout.discard(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Item:
        return await self.get()


class Periodic(Protocol):
    """Work a fan-out runs on its ticker (e.g. the GC policy's settle check)."""

    name: str
    interval: float

    def on_start(self) -> None: ...

    def on_stop(self) -> None: ...

    def run(self, fanout: Fanout) -> None: ...


class Fanout:
    """This process's subscribers by account and the heartbeat that pokes them all.

    Process policy that watches the streams (``flowpilot.runtime.gcpolicy``) hooks in with
    :meth:`every`, on the fan-out's ticker, so tests move it with the heartbeat.

    The heartbeat is spread over its interval: ``SLICES`` ticks per interval, each pinging the
    subscribers of one slice, so every stream still gets one ping per interval but the process
    never writes to all of them at once (pinging every open stream in one go stalls the event
    loop for as long as all those writes take, and any request arriving then waits for all of
    them; see docs/BENCHMARKS.md, SSE fan-out). A new subscriber
    joins the emptiest slice, preferring the one that fires one interval from now; a lone
    stream is therefore first pinged one interval after it connected.
    """

    SLICES = 25

    def __init__(self, *, queue_size: int, heartbeat_seconds: float, ticker: Ticker | None) -> None:
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self.ticker: Ticker = ticker or LoopTicker()
        self.added = 0  # subscriptions ever added (process policy reads it)
        self._periodic: list[Periodic] = []
        self._by_account: dict[str, set[Subscription]] = {}  # queue streams
        self._by_session: dict[str, set[Subscription]] = {}  # session streams
        self._by_user: dict[str, set[Subscription]] = {}
        self._expiries: list[tuple[datetime, int, Subscription]] = []  # logins' ends, a heap
        # account/session: conn: (user id, name, when last heard of by the ticker)
        self.presence: dict[str, dict[str, tuple[str, str, float]]] = {}
        self.node = uuid.uuid4().hex[:12]  # this process, in presence messages
        self.announce: Callable[[BusEvent], Coroutine[Any, Any, None]] | None = (
            None  # the bus's publish
        )
        self._announcing: set[asyncio.Task[None]] = set()
        self._slices: list[set[Subscription]] = [set() for _ in range(self.SLICES)]
        self._tick = 0  # heartbeat ticks since the loop started
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def count(self) -> int:
        return sum(len(subs) for subs in self._slices)  # SLICES sets, however many accounts

    def accounts(self) -> list[str]:
        return list(self._by_account)

    def add(
        self, account_id: str, last_event_id: int | None = None, scope: StreamScope = QUEUE
    ) -> Subscription:
        sub = Subscription(self, account_id, self.queue_size, last_event_id or 0, scope)
        if scope.session_id is None:
            self._by_account.setdefault(account_id, set()).add(sub)
        else:
            self._by_session.setdefault(_key(account_id, scope.session_id), set()).add(sub)
        if scope.user_id:
            self._by_user.setdefault(_key(account_id, scope.user_id), set()).add(sub)
        sub.beat_slice = self._emptiest_slice()
        self._slices[sub.beat_slice].add(sub)
        self.added += 1
        return sub

    def _emptiest_slice(self) -> int:
        first = self._tick % self.SLICES  # fires again one whole interval from now
        best, best_size = first, len(self._slices[first])
        for step in range(1, self.SLICES):
            if best_size == 0:
                break
            k = (first + step) % self.SLICES
            if len(self._slices[k]) < best_size:
                best, best_size = k, len(self._slices[k])
        return best

    def discard(self, sub: Subscription) -> None:
        self._slices[sub.beat_slice].discard(sub)
        scope = sub.scope
        if scope.session_id is None:
            _unindex(self._by_account, sub.account_id, sub)
        else:
            _unindex(self._by_session, _key(sub.account_id, scope.session_id), sub)
        if scope.user_id:
            _unindex(self._by_user, _key(sub.account_id, scope.user_id), sub)

    def of_session(self, account_id: str, session_id: str) -> list[Subscription]:
        """This process's streams of one session (of that account: ids never cross)."""
        return list(self._by_session.get(_key(account_id, session_id), ()))

    def of_account(self, account_id: str) -> list[Subscription]:
        """This process's queue streams of the account."""
        return list(self._by_account.get(account_id, ()))

    def session_streams(self) -> list[Sequence[Subscription]]:
        """This process's session streams, one list per session (presence refreshes them)."""
        return [list(subs) for subs in self._by_session.values()]

    def of_user(self, account_id: str, user_id: str) -> list[Subscription]:
        return list(self._by_user.get(_key(account_id, user_id), ()))

    def deliver(self, event: BusEvent) -> None:
        if event.type == LOGIN_REVOKED:
            revocation.apply(self, event)
            return
        if event.type == PRESENCE:
            presence.apply(self, event)
            return
        if event.type != EventType.STEP_CREATED:
            for sub in list(self._by_account.get(event.account_id, ())):
                sub.offer(event)
        session_id = event.data.get("session_id")
        if isinstance(session_id, str) and session_streamed(event.type):
            for sub in self.of_session(event.account_id, session_id):
                sub.offer(event)

    def publish_soon(self, event: BusEvent) -> None:
        """Publish a bus-only message from a synchronous handler (e.g. presence replies)."""
        if self.announce is None:
            return
        task = asyncio.get_running_loop().create_task(self.announce(event))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    def watch_login(self, sub: Subscription, ends_at: datetime) -> None:
        """Revoke ``sub`` when its login session's time is up (see :meth:`revoke_expired`)."""
        heapq.heappush(self._expiries, (ends_at, id(sub), sub))
        if len(self._expiries) > 64 and len(self._expiries) > 2 * self.count:
            # Closed streams' entries: drop them now rather than at their logins' ends.
            self._expiries = [e for e in self._expiries if not e[2].closed]
            heapq.heapify(self._expiries)

    def revoke_expired(self, now: datetime) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, _, sub = heapq.heappop(self._expiries)
            sub.revoke("expired")

    def resync_all(self) -> None:
        """Tell every subscriber to reload (the bus lost track, e.g. a trimmed Redis stream)."""
        for index in (self._by_account, self._by_session):
            for subs in list(index.values()):
                for sub in list(subs):
                    sub.notify(Control("resync", last_id=sub.high_water))
                    sub.close()

    def beat(self, slice_: int) -> None:
        """One heartbeat tick: a comment to the streams of ``slice_``, ``end`` to those of them
        past their lifetime."""
        now = self.ticker.now()
        for sub in list(self._slices[slice_ % self.SLICES]):
            if sub.expires_at is not None and sub.expires_at <= now:
                sub.notify(END)
                sub.close()
            else:
                sub.notify(HEARTBEAT)

    async def _heartbeat_loop(self) -> None:
        step = self.heartbeat_seconds / self.SLICES
        started = self.ticker.now()
        self._tick = 0
        while True:
            await self.ticker.sleep(max(0.0, started + (self._tick + 1) * step - self.ticker.now()))
            # Every tick that is due, in order: a late wake-up (or a test's ticker jumping a
            # whole interval) still pings each slice once.
            due = int((self.ticker.now() - started) / step + 1e-9)
            while self._tick < due:
                self._tick += 1
                self.beat(self._tick)

    def every(self, periodic: Periodic) -> None:
        """Run ``periodic`` every ``periodic.interval`` while the fan-out runs."""
        self._periodic.append(periodic)
        if self._tasks:
            periodic.on_start()
            self._tasks.append(self._spawn(periodic))

    def _spawn(self, periodic: Periodic) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                await self.ticker.sleep(periodic.interval)
                periodic.run(self)

        return asyncio.create_task(loop(), name=periodic.name)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._heartbeat_loop(), name="sse-heartbeat")]
            for periodic in self._periodic:
                periodic.on_start()
                self._tasks.append(self._spawn(periodic))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for periodic in self._periodic:
            periodic.on_stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def use_ticker(self, ticker: Ticker) -> None:
        """Swap the ticker (tests inject a ``ManualTicker``); restarts the heartbeat loop."""
        running = bool(self._tasks)
        await self.stop()
        self.ticker = ticker
        if running:
            self.start()


class Bus(Protocol):
    fanout: Fanout

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: BusEvent) -> None: ...

    async def subscribe(
        self, account_id: str, last_event_id: int | None = None, scope: StreamScope = QUEUE
    ) -> Subscription: ...

    async def ping(self) -> bool: ...


def _unindex(index: dict[str, set[Subscription]], key: str, sub: Subscription) -> None:
    subs = index.get(key)
    if subs is None:
        return
    subs.discard(sub)
    if not subs:
        del index[key]


def _key(account_id: str, id_: str) -> str:
    return f"{account_id}/{id_}"

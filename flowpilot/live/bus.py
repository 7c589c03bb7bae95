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
import logging
from dataclasses import dataclass
from typing import Protocol

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.ticker import LoopTicker, Ticker
from flowpilot.models.events import EventType

log = logging.getLogger("flowpilot.events")

# Event types the live stream carries; others in the log (e.g. handoff.renotified) are audit-only.
STREAMED_TYPES = frozenset(
    {
        EventType.HANDOFF_CREATED,
        EventType.HANDOFF_CLAIMED,
        EventType.HANDOFF_RELEASED,
        EventType.HANDOFF_RESOLVED,
        EventType.HANDOFF_CANCELLED,
        EventType.HANDOFF_BREACHED,
        EventType.HANDOFF_ASSIGNED,
        EventType.HANDOFF_IDLE_NUDGED,
    }
)


@dataclass(frozen=True)
class Control:
    """A non-event item in a subscription's queue: heartbeat, resync, end of life, disconnect."""

    kind: str
    last_id: int = 0


HEARTBEAT = Control("heartbeat")
END = Control("end")
DISCONNECT = Control("disconnect")

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
    )

    def __init__(self, fanout: Fanout, account_id: str, maxsize: int, after: int = 0) -> None:
        self.fanout = fanout
        self.account_id = account_id
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
        self._by_account: dict[str, set[Subscription]] = {}
        self._slices: list[set[Subscription]] = [set() for _ in range(self.SLICES)]
        self._tick = 0  # heartbeat ticks since the loop started
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def count(self) -> int:
        return sum(len(subs) for subs in self._slices)  # SLICES sets, however many accounts

    def accounts(self) -> list[str]:
        return list(self._by_account)

    def add(self, account_id: str, last_event_id: int | None = None) -> Subscription:
        sub = Subscription(self, account_id, self.queue_size, last_event_id or 0)
        self._by_account.setdefault(account_id, set()).add(sub)
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
        subs = self._by_account.get(sub.account_id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._by_account[sub.account_id]

    def deliver(self, event: BusEvent) -> None:
        for sub in list(self._by_account.get(event.account_id, ())):
            sub.offer(event)

    def resync_all(self) -> None:
        """Tell every subscriber to reload (the bus lost track, e.g. a trimmed Redis stream)."""
        for subs in list(self._by_account.values()):
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
        self, account_id: str, last_event_id: int | None = None
    ) -> Subscription: ...

    async def ping(self) -> bool: ...

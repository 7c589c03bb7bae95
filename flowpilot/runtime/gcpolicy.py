"""Keep the cyclic GC's stop-the-world pauses off the request path of a server holding streams.

CPython 3.11's full collection scans every tracked container object with the event loop
stopped, so its pause grows with the heap. Two things make that large here:

- **The start-up heap** (modules, classes, SQLAlchemy and pydantic metadata) lives as long as
  the process. :func:`freeze_startup_heap` moves it to the permanent generation once, so full
  collections stop re-scanning it.
- **Open streams** (dozens of objects each, even detached from the routing stack, see
  ``live.stream.route``). CPython runs a full collection once objects that survived into the
  oldest generation since the last one reach 25% of it, and only on an allocation: after a burst
  of new streams (a deploy, a network blip: every browser reconnects) the collection is due but
  waits for the next allocation-heavy code, i.e. the next request - which then takes the whole
  pause (the "first escalation after the subscribers connected" outlier).
  :class:`SettleCollector` runs that collection itself as soon as the burst has settled (no new
  stream for one interval), before a request trips it. A request that arrives during it still
  waits; the collection is no cheaper, it just no longer lands inside a request by design.
What the pause costs on the benchmark machine: docs/BENCHMARKS.md, SSE fan-out.
"""

from __future__ import annotations

import gc
import logging
import time
import weakref
from typing import Any

from flowpilot.live.bus import Fanout

log = logging.getLogger("flowpilot.events")

_heap_frozen = False


def freeze_startup_heap() -> bool:
    """Exempt everything alive now from cyclic GC scans; the first call per process only.

    Garbage is collected first, so nothing dead is frozen; frozen objects are still freed by
    reference counting (a frozen object that later becomes part of a garbage cycle is kept,
    which start-up state - modules, the app, pools - rarely does; it lives until exit).
    """
    global _heap_frozen
    if _heap_frozen:
        return False
    _heap_frozen = True
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects", gc.get_freeze_count())
    return True


class SettleCollector:
    """Pays for the full collection that new streams make due, once they stop arriving.

    The fan-out counts subscriptions as they are added (``Fanout.added``) and calls :meth:`run`
    every ``INTERVAL`` seconds. A tick collects when no stream arrived since the previous
    tick and at least ``MIN_NEW`` and ``GROWTH`` x open streams were added since the last
    full collection (ours or CPython's own: a GC callback notices those). Steady traffic with
    no new streams never triggers it.
    """

    INTERVAL = 0.25
    MIN_NEW = 100
    GROWTH = 0.1
    name = "sse-settle-collector"
    interval = INTERVAL

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout
        self.collections = 0  # full collections this collector ran
        self._seen = 0  # ``added`` at the previous tick
        self._paid = 0  # ``added`` at the last full collection

    def tick(self, open_streams: int) -> bool:
        """One check; True if it ran a full collection."""
        added = self.fanout.added
        if added != self._seen:  # still arriving: collecting now would be paid again soon
            self._seen = added
            return False
        new = added - self._paid
        if new < self.MIN_NEW or new < self.GROWTH * open_streams:
            return False
        started = time.perf_counter()
        gc.collect()
        self._paid = added
        self.collections += 1
        log.debug(
            "full GC after %d new streams (%d open): %.1f ms",
            new,
            open_streams,
            (time.perf_counter() - started) * 1000,
        )
        return True

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info.get("generation") == 2:
            self._paid = (
                self.fanout.added
            )  # CPython collected by itself: these streams are paid for

    def run(self, fanout: Fanout) -> None:
        """The fan-out's periodic call: one check against its streams."""
        self.tick(fanout.count)

    def on_start(self) -> None:
        self.install()

    def on_stop(self) -> None:
        self.uninstall()

    def install(self) -> None:
        if self._on_gc not in gc.callbacks:
            gc.callbacks.append(self._on_gc)

    def uninstall(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)


_attached: weakref.WeakKeyDictionary[Fanout, SettleCollector] = weakref.WeakKeyDictionary()


def attach(fanout: Fanout) -> SettleCollector:
    """The settle collector of this fan-out, installed on first call (the runtime's start)."""
    collector = _attached.get(fanout)
    if collector is None:
        collector = _attached[fanout] = SettleCollector(fanout)
        fanout.every(collector)
    return collector

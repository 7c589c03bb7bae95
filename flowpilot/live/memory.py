"""In-process bus: the embedded default for a single server process."""

from __future__ import annotations

from flowpilot.kernel.bus import BusEvent
from flowpilot.live.bus import Fanout, Subscription
from flowpilot.live.ticker import Ticker
from flowpilot.live.topics import QUEUE, StreamScope


class MemoryBus:
    """Publishing hands the event straight to this process's fan-out."""

    def __init__(
        self,
        *,
        queue_size: int = 256,
        heartbeat_seconds: float = 25.0,
        ticker: Ticker | None = None,
    ) -> None:
        self.fanout = Fanout(
            queue_size=queue_size, heartbeat_seconds=heartbeat_seconds, ticker=ticker
        )

    async def start(self) -> None:
        self.fanout.start()

    async def stop(self) -> None:
        await self.fanout.stop()

    async def publish(self, event: BusEvent) -> None:
        self.fanout.deliver(event)

    async def subscribe(
        self, account_id: str, last_event_id: int | None = None, scope: StreamScope = QUEUE
    ) -> Subscription:
        return self.fanout.add(account_id, last_event_id, scope)

    async def ping(self) -> bool:
        return True

"""In-process bus: the embedded default for a single server process."""

from __future__ import annotations

from flowpilot.events.bus import BusEvent


class MemoryBus:
    def __init__(self) -> None:
        self.published: list[BusEvent] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event: BusEvent) -> None:
        self.published.append(event)

    async def ping(self) -> bool:
        return True

"""The event bus interface (rule 5). Backends: in-process (default) and Redis Streams.

``publish(account_id, event)`` is called only after the event's transaction committed.
``subscribe(account_id, last_event_id)`` yields a subscription whose bounded queue receives
the account's events; one that overflows is told to resync, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class BusEvent:
    """What travels on the bus: the committed event row, serialised."""

    id: int
    account_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: BusEvent) -> None: ...

    async def ping(self) -> bool: ...

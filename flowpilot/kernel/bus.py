"""What travels on the event bus, and the publishing side every domain may call (rule 5).

The backends (in-process, Redis Streams) and the subscribing side live in ``flowpilot.live``;
the event log that feeds them is ``flowpilot.events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class BusEvent:
    """A committed event row, serialised.

    ``relayed`` marks an event published late by the relay (its normal publish was lost), so
    a consumer that already delivered a later id knows it missed it and must resync.
    """

    id: int
    account_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    relayed: bool = False


class Publisher(Protocol):
    """Publishes committed events; called only after their transaction committed."""

    async def publish(self, event: BusEvent) -> None: ...

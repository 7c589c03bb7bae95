"""Event relay: publishes committed events that were never published (issue 4 fills this in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowpilot.context import AppContext


async def relay_job(ctx: AppContext) -> None:
    """Loop: publish events with ``published_at IS NULL`` (at start-up, then periodically)."""
    return None

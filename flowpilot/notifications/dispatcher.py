"""Delivery dispatcher and escalation chain (issue 5 fills this in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowpilot.context import AppContext


async def dispatcher_job(ctx: AppContext) -> None:
    """Loop: take due deliveries (SKIP LOCKED on PostgreSQL), send, record the outcome."""
    return None


async def escalation_chain_job(ctx: AppContext) -> None:
    """Loop: re-notify seniors after N minutes, alert admins after M minutes."""
    return None

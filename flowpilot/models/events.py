"""The account's append-only event log: audit timeline and the bus's durable source."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, JSONType, UTCDateTime


class EventType(StrEnum):
    """What an event row records (its ``type``); the audit timeline names them in words."""

    HANDOFF_CREATED = "handoff.created"
    HANDOFF_CLAIMED = "handoff.claimed"
    HANDOFF_RELEASED = "handoff.released"
    HANDOFF_RESOLVED = "handoff.resolved"
    HANDOFF_CANCELLED = "handoff.cancelled"
    HANDOFF_RENOTIFIED = "handoff.renotified"
    HANDOFF_ADMIN_ALERTED = "handoff.admin_alerted"
    HANDOFF_BREACHED = "handoff.breached"
    HANDOFF_ASSIGNED = "handoff.assigned"
    HANDOFF_IDLE_NUDGED = "handoff.idle_nudged"
    STEP_CREATED = "step.created"  # a session's new step (its live stream; not in timelines)


EVENT_TYPES: tuple[EventType, ...] = tuple(EventType)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account_id_id", "account_id", "id"),
        Index("ix_events_handoff_id_id", "handoff_id", "id"),
        Index("ix_events_session_id_id", "session_id", "id"),
        # The relay scans for committed events that were never published.
        Index(
            "ix_events_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    # Monotonic integer: also the SSE event id, so replay is "id > last_event_id".
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(50))
    handoff_id: Mapped[str | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=True
    )
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("ai_sessions.id", ondelete="CASCADE"), nullable=True
    )
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

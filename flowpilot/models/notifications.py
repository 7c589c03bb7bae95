"""Per-channel delivery records: one row per (event, recipient, channel)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, UTCDateTime, new_id


# "skipped": final, never sent on purpose (a re-notification for a handoff claimed meanwhile,
# a recipient deactivated, the webhook switched off). Not a failure.
class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = tuple(DeliveryStatus)
CHANNELS: tuple[Channel, ...] = tuple(Channel)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # Idempotency: at most one delivery (so one successful send) per event/recipient/channel.
        UniqueConstraint("event_id", "recipient_key", "channel"),
        Index("ix_deliveries_handoff_id", "handoff_id"),
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'failed', 'sending')"),
            postgresql_where=text("status IN ('pending', 'failed', 'sending')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("events.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(20))
    # A user for email; NULL for the account webhook.
    recipient_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # "user:<id>" or "webhook": lets the unique constraint cover the webhook too.
    recipient_key: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClaimLink(Base):
    """A one-time "claim from the email" link: one recipient, one escalation, one email.

    Only the SHA-256 of the link's secret is stored. Dead once used, once the escalation left
    ``open``, after ``expires_at``, or when its recipient is no longer an active senior.
    """

    __tablename__ = "claim_links"
    __table_args__ = (
        UniqueConstraint("delivery_id"),
        Index("ix_claim_links_handoff_id", "handoff_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    handoff_id: Mapped[str] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

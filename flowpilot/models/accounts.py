"""Accounts (tenants) and their users."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot.kernel.db.base import Base, JSONType, UTCDateTime, new_id


class WebhookFormat(StrEnum):
    """The account webhook's message shape."""

    SLACK = "slack"  # Slack incoming webhook: text + Block Kit blocks
    TEAMS = "teams"  # Microsoft Teams incoming webhook: a MessageCard
    GENERIC = "generic"  # the event itself: {"id", "type", "timestamp", "data"}


WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = tuple(WebhookFormat)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Escalation chain: re-notify seniors after N minutes, alert admins after M minutes.
    renotify_after_minutes: Mapped[int] = mapped_column(Integer, default=10)
    admin_alert_after_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Outgoing webhook (Standard Webhooks signing; Slack, Teams or generic JSON).
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    webhook_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The secret before the last rotation, still signed with until 24 h after rotated_at.
    webhook_previous_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    webhook_secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    webhook_format: Mapped[str] = mapped_column(
        String(20), default=WebhookFormat.SLACK, server_default=text("'slack'")
    )
    # Claim target minutes per urgency ({"critical": 5, ...}); missing keys or NULL: defaults.
    claim_target_minutes: Mapped[dict[str, int] | None] = mapped_column(JSONType, nullable=True)
    # Claimed but idle: nudge the holder after N minutes without a step of theirs, release the
    # escalation back to the queue after M minutes (NULL: never released automatically).
    idle_claim_nudge_minutes: Mapped[int] = mapped_column(
        Integer, default=10, server_default=text("10")
    )
    idle_claim_release_minutes: Mapped[int | None] = mapped_column(
        Integer, default=30, server_default=text("30"), nullable=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # Emails are unique across the whole service: login takes only email + password.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Notification preferences: email on/off and the lowest urgency that emails.
    notify_email: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_min_urgency: Mapped[str] = mapped_column(String(20), default="low")
    # In-browser attention on the queue page (opt-in): desktop notifications for new
    # escalations at or above alert_min_urgency, and a short sound for high and critical.
    alert_desktop: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    alert_min_urgency: Mapped[str] = mapped_column(
        String(20), default="high", server_default=text("'high'")
    )
    alert_sound: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

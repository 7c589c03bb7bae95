"""Pydantic shapes for delivery records and the account's notification settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints

from flowpilot.kernel.schemas import Output, StrictInput
from flowpilot.models.accounts import WebhookFormat


class DeliveryOut(Output):
    id: str
    channel: str
    recipient_id: str | None
    recipient_name: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    # Which notice: "created", "renotified", "admin_alerted" or "breached".
    kind: str
    event_id: int


class DeliveryList(Output):
    items: list[DeliveryOut]
    summary: str


def _check_webhook_url(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    return value


WebhookUrl = Annotated[
    str | None, StringConstraints(max_length=2000), AfterValidator(_check_webhook_url)
]


MAX_CLAIM_TARGET_MINUTES = 10080
ClaimTargetMinutes = Annotated[int, Field(strict=True, ge=1, le=MAX_CLAIM_TARGET_MINUTES)]


IdleMinutes = Annotated[int, Field(strict=True, ge=1, le=1440)]


class ClaimTargetsUpdate(StrictInput):
    """Minutes to claim, per urgency; the ones left out keep their value."""

    critical: ClaimTargetMinutes | None = None
    high: ClaimTargetMinutes | None = None
    normal: ClaimTargetMinutes | None = None
    low: ClaimTargetMinutes | None = None


class AccountNotificationsUpdate(StrictInput):
    renotify_after_minutes: int | None = Field(default=None, ge=1, le=1440)
    admin_alert_after_minutes: int | None = Field(default=None, ge=1, le=10080)
    webhook_url: WebhookUrl = None
    webhook_enabled: bool | None = None
    # slack (text + blocks), teams (a MessageCard) or generic (the event itself).
    webhook_format: WebhookFormat | None = None
    claim_target_minutes: ClaimTargetsUpdate | None = None
    idle_claim_nudge_minutes: IdleMinutes | None = None
    # null turns automatic release off.
    idle_claim_release_minutes: IdleMinutes | None = None


class AccountNotificationsOut(Output):
    renotify_after_minutes: int
    admin_alert_after_minutes: int
    webhook_url: str | None
    webhook_enabled: bool
    webhook_secret_set: bool
    webhook_format: WebhookFormat
    # Minutes to claim per urgency: {"critical": 5, "high": 15, "normal": 60, "low": 240}.
    claim_target_minutes: dict[str, int]
    # Claimed but idle: nudge the holder after N minutes without a step, release after M (null:
    # never released automatically).
    idle_claim_nudge_minutes: int
    idle_claim_release_minutes: int | None
    # Only present in the answer that generated it: the secret is shown once.
    webhook_secret: str | None = None


class WebhookSecretOut(Output):
    webhook_secret: str


class WebhookTestOut(Output):
    ok: bool
    detail: str

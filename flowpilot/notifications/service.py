"""Delivery records: who is told about an escalation, on which channel; what became of it."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.kernel.errors import Forbidden, Invalid
from flowpilot.kernel.identity import AccountRef, Actor
from flowpilot.kernel.settings import Settings
from flowpilot.models import Account, ClaimLink, Delivery, Event, Handoff, User
from flowpilot.models.handoffs import URGENCY_RANK
from flowpilot.models.notifications import Channel, DeliveryStatus
from flowpilot.notifications import claim_links
from flowpilot.notifications import repository as repo
from flowpilot.notifications import webhook as webhook_channel
from flowpilot.notifications.email import SendError
from flowpilot.notifications.messages import test_message

WEBHOOK_KEY = "webhook"
# Which event types notify whom. The webhook (the team's channel) hears about new and
# still-unclaimed escalations; the admin alert goes to the admins' own inboxes only.
SENIOR_EVENTS = ("handoff.created", "handoff.renotified")
ADMIN_EVENTS = ("handoff.admin_alerted", "handoff.breached")
WEBHOOK_EVENTS = ("handoff.created", "handoff.renotified")
# Told to the handoff's current holder only: handed to them, or nudged for not acting.
HOLDER_EVENTS = ("handoff.assigned", "handoff.idle_nudged")
NOTIFYING_EVENTS = SENIOR_EVENTS + ADMIN_EVENTS + HOLDER_EVENTS
KIND_BY_EVENT = {
    "handoff.created": "created",
    "handoff.renotified": "renotified",
    "handoff.admin_alerted": "admin_alerted",
    "handoff.breached": "breached",
    "handoff.assigned": "assigned",
    "handoff.idle_nudged": "idle_nudge",
    "handoff.released": "released",
}
# A release by the idle guard (``payload.reason``) tells the seniors again; a person's is quiet.
IDLE_RELEASE_REASON = "no_first_action"


def notifies_seniors(event: Event) -> bool:
    if event.type in SENIOR_EVENTS:
        return True
    reason = (event.payload or {}).get("reason")
    return (
        event.type == "handoff.released"
        and event.actor_id is None
        and reason == IDLE_RELEASE_REASON
    )


def wants_email(user: User, urgency: str) -> bool:
    """A user's preferences: email on, and the escalation at least as urgent as their minimum."""
    if not user.notify_email:
        return False
    return URGENCY_RANK.get(urgency, 0) >= URGENCY_RANK.get(user.notify_min_urgency, 0)


async def plan_deliveries(
    session: AsyncSession, *, handoff: Handoff, event: Event, now: datetime
) -> None:
    """Create the pending delivery records for ``event`` in the caller's transaction.

    Called by the handoffs service for ``handoff.created`` (and by the escalation chain for
    re-notifications), so the records commit or roll back together with the escalation.
    """
    tenant = AccountRef(handoff.account_id)
    if event.type in HOLDER_EVENTS:
        holder = await accounts_service.seniors(session, tenant=tenant)
        deliveries = [
            _delivery(handoff, event, now, channel=Channel.EMAIL, recipient_id=user.id)
            for user in holder
            if user.id == handoff.claimed_by_id and user.notify_email
        ]
        if deliveries:
            await repo.add_all(session, deliveries)
        return
    senior_event = notifies_seniors(event)
    if event.type not in NOTIFYING_EVENTS and not senior_event:
        return
    if event.type in ADMIN_EVENTS:
        people = await accounts_service.admins(session, tenant=tenant)
    else:
        people = await accounts_service.seniors(session, tenant=tenant)
    # The holder the idle guard just released is not asked again.
    skip = {handoff.escalated_by_id, (event.payload or {}).get("previous_claimed_by_id")}
    deliveries = [
        _delivery(handoff, event, now, channel=Channel.EMAIL, recipient_id=user.id)
        for user in people
        if user.id not in skip and wants_email(user, handoff.urgency)
    ]
    if event.type in WEBHOOK_EVENTS:
        account = await repo.get_account(session, tenant)
        if account.webhook_enabled and account.webhook_url:
            deliveries.append(
                _delivery(handoff, event, now, channel=Channel.WEBHOOK, recipient_id=None)
            )
    if deliveries:
        await repo.add_all(session, deliveries)


def _delivery(
    handoff: Handoff, event: Event, now: datetime, *, channel: str, recipient_id: str | None
) -> Delivery:
    return Delivery(
        account_id=handoff.account_id,
        handoff_id=handoff.id,
        event_id=event.id,
        channel=channel,
        recipient_id=recipient_id,
        recipient_key=f"user:{recipient_id}" if recipient_id else WEBHOOK_KEY,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True)
class DeliveryView:
    delivery: Delivery
    recipient_name: str
    kind: str


async def list_deliveries(
    session: AsyncSession, *, actor: Actor, handoff_id: str
) -> tuple[list[DeliveryView], str]:
    """A handoff's delivery records and a one-line summary.

    Seniors of the account and the escalator may look; others 403; other accounts 404.
    """
    handoff = await repo.get_handoff(session, actor, handoff_id)
    if not actor.is_senior and actor.id != handoff.escalated_by_id:
        raise Forbidden("only the account's engineers and admins or the escalator may see this")
    rows = await repo.list_for_handoff(session, actor, handoff_id)
    views = [
        DeliveryView(
            delivery=d,
            recipient_name=name or ("Team webhook" if d.channel == Channel.WEBHOOK else "unknown"),
            kind=KIND_BY_EVENT.get(event_type, event_type),
        )
        for d, name, event_type in rows
    ]
    return views, summarize([v.delivery for v in views])


def summarize(deliveries: Sequence[Delivery]) -> str:
    """E.g. "emailed 3 seniors · webhook posted · 1 pending · 1 failed: mailbox unavailable"."""
    if not deliveries:
        return "no notifications"
    parts: list[str] = []
    emailed = {
        d.recipient_id
        for d in deliveries
        if d.channel == Channel.EMAIL and d.status == DeliveryStatus.SENT
    }
    if emailed:
        parts.append(f"emailed {len(emailed)} senior{'s' if len(emailed) != 1 else ''}")
    hooks = [d for d in deliveries if d.channel == Channel.WEBHOOK]
    if any(d.status == DeliveryStatus.SENT for d in hooks):
        parts.append("webhook posted")
    counts = Counter(d.status for d in deliveries)
    in_flight = counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.SENDING]
    if in_flight:
        parts.append(f"{in_flight} pending")
    if counts[DeliveryStatus.FAILED]:
        parts.append(f"{counts['failed']} retrying: {_latest_error(deliveries, 'failed')}")
    if counts[DeliveryStatus.DEAD]:
        parts.append(f"{counts['dead']} failed: {_latest_error(deliveries, 'dead')}")
    if counts[DeliveryStatus.SKIPPED]:
        parts.append(f"{counts['skipped']} skipped")
    return " · ".join(parts) if parts else "no notifications sent"


def _latest_error(deliveries: Sequence[Delivery], status: str) -> str:
    with_status = [d for d in deliveries if d.status == status and d.last_error]
    if not with_status:
        return "unknown error"
    latest = max(with_status, key=lambda d: (d.updated_at, d.id))
    return (latest.last_error or "").splitlines()[0][:120]


def new_webhook_secret() -> str:
    return webhook_channel.new_secret()


async def get_account_settings(session: AsyncSession, *, actor: Actor) -> Account:
    """The caller's account (notification settings are read from it)."""
    return await accounts_service.get_account(session, actor=actor)


async def update_account_settings(
    session: AsyncSession,
    *,
    actor: Actor,
    changes: dict[str, Any],
    block_private_networks: bool = True,
) -> tuple[Account, str | None]:
    """Apply admin changes to the escalation chain and webhook; returns a new secret if made.

    Enabling the webhook without a secret generates one (returned once): nothing unsigned
    ever leaves. Clearing the URL switches the webhook off. A new URL that resolves to an
    internal address is refused while ``block_private_networks`` is on.
    """
    account = await accounts_service.get_account(session, actor=actor)
    targets = _claim_targets(account, changes)
    renotify = changes.get("renotify_after_minutes", account.renotify_after_minutes)
    admin_alert = changes.get("admin_alert_after_minutes", account.admin_alert_after_minutes)
    if renotify is None:
        raise Invalid("renotify_after_minutes", "must not be null")
    if admin_alert is None:
        raise Invalid("admin_alert_after_minutes", "must not be null")
    if admin_alert <= renotify:
        raise Invalid(
            "admin_alert_after_minutes",
            f"must be longer than the re-notify time ({renotify} minutes)",
        )
    url = changes.get("webhook_url", account.webhook_url) or None
    enabled = changes.get("webhook_enabled", account.webhook_enabled)
    if enabled is None:
        raise Invalid("webhook_enabled", "must not be null")
    if "webhook_url" in changes and url is None and "webhook_enabled" not in changes:
        enabled = False
    if enabled and not url:
        raise Invalid("webhook_url", "set a webhook URL before enabling the webhook")
    if block_private_networks and url and url != account.webhook_url:
        refused = await webhook_channel.check_url_at_save(url)
        if refused:
            raise Invalid("webhook_url", refused)
    fmt = changes.get("webhook_format", account.webhook_format)
    if fmt is None:
        raise Invalid("webhook_format", "must not be null")
    new_secret = None
    if enabled and not account.webhook_secret:
        new_secret = new_webhook_secret()
        account.webhook_secret = new_secret
    account.renotify_after_minutes = renotify
    account.admin_alert_after_minutes = admin_alert
    account.claim_target_minutes = targets
    account.idle_claim_nudge_minutes, account.idle_claim_release_minutes = _idle_claim(
        account, changes
    )
    account.webhook_url = url
    account.webhook_enabled = bool(enabled)
    account.webhook_format = fmt
    await session.flush()
    return account, new_secret


def _idle_claim(account: Account, changes: dict[str, Any]) -> tuple[int, int | None]:
    """(nudge, release) minutes for a claimed escalation nobody acts on; release may be off."""
    nudge = changes.get("idle_claim_nudge_minutes", account.idle_claim_nudge_minutes)
    release = changes.get("idle_claim_release_minutes", account.idle_claim_release_minutes)
    if nudge is None:
        raise Invalid("idle_claim_nudge_minutes", "must not be null")
    if release is not None and release <= nudge:
        raise Invalid(
            "idle_claim_release_minutes",
            f"must be longer than the nudge time ({nudge} minutes), or empty to never release",
        )
    return nudge, release


def _claim_targets(account: Account, changes: dict[str, Any]) -> dict[str, int]:
    """The account's claim targets with the given ones changed (each already 1-10080)."""
    targets = accounts_service.claim_targets(account)
    if "claim_target_minutes" not in changes:
        return targets
    given = changes["claim_target_minutes"]
    if given is None:
        raise Invalid("claim_target_minutes", "must not be null")
    for urgency, minutes in given.items():
        if minutes is None:
            raise Invalid(f"claim_target_minutes.{urgency}", "must not be null")
        targets[urgency] = minutes
    return targets


async def rotate_webhook_secret(session: AsyncSession, *, actor: Actor, now: datetime) -> str:
    """Generate a new webhook signing secret; for 24 hours every webhook is signed with the
    new and the previous one, so receivers can switch over."""
    account = await accounts_service.get_account(session, actor=actor)
    secret = new_webhook_secret()
    if account.webhook_secret:
        account.webhook_previous_secret = account.webhook_secret
        account.webhook_secret_rotated_at = now
    account.webhook_secret = secret
    await session.flush()
    return secret


async def send_test_webhook(
    session: AsyncSession, *, actor: Actor, settings: Settings, now: datetime
) -> tuple[bool, str]:
    """Post a signed test message to the account's webhook now (no delivery record)."""
    account = await accounts_service.get_account(session, actor=actor)
    if not account.webhook_url:
        raise Invalid("webhook_url", "set a webhook URL first")
    if not account.webhook_secret:
        raise Invalid("webhook_secret", "generate a signing secret first")
    async with httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds, follow_redirects=False
    ) as client:
        try:
            await webhook_channel.post(
                client,
                url=account.webhook_url,
                secrets_=webhook_channel.signing_secrets(
                    account.webhook_secret,
                    account.webhook_previous_secret,
                    account.webhook_secret_rotated_at,
                    now,
                ),
                message=test_message(
                    fmt=account.webhook_format,
                    account_name=account.name,
                    account_id=account.id,
                    sent_by=actor.name,
                    now=now,
                ),
                delivery_id=f"msg_test_{secrets.token_hex(8)}",
                event_type="test",
                now=now,
                block_private=settings.webhook_block_private_networks,
            )
        except SendError as exc:
            # Only what we observed (status, timeout, refusal): never the receiver's answer.
            return False, str(exc)
    return True, "delivered"


CLAIM_LINK_LIFETIME = claim_links.LIFETIME


async def find_claim_link(
    session: AsyncSession, *, token: str, for_update: bool = False
) -> ClaimLink | None:
    """The "claim from the email" link a token names; the request then acts for its account."""
    return await claim_links.find(session, token=token, for_update=for_update)


async def use_claim_link(session: AsyncSession, *, link: ClaimLink, now: datetime) -> bool:
    """Use the link up (single use): True for the one request that did."""
    return await claim_links.mark_used(session, link, now=now)

"""HTTP for delivery records and the account's notification settings."""

from __future__ import annotations

from fastapi import APIRouter

from flowpilot.accounts import service as accounts_service
from flowpilot.auth.deps import AdminUser, CurrentUser
from flowpilot.kernel.deps import NowDep, SessionDep, SettingsDep
from flowpilot.models import Account
from flowpilot.models.accounts import WebhookFormat
from flowpilot.notifications import service
from flowpilot.notifications.schemas import (
    AccountNotificationsOut,
    AccountNotificationsUpdate,
    DeliveryList,
    DeliveryOut,
    WebhookSecretOut,
    WebhookTestOut,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/handoffs/{handoff_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(handoff_id: str, actor: CurrentUser, session: SessionDep) -> DeliveryList:
    views, summary = await service.list_deliveries(session, actor=actor, handoff_id=handoff_id)
    items = [
        DeliveryOut(
            id=v.delivery.id,
            channel=v.delivery.channel,
            recipient_id=v.delivery.recipient_id,
            recipient_name=v.recipient_name,
            status=v.delivery.status,
            attempts=v.delivery.attempts,
            last_error=v.delivery.last_error,
            # Only a delivery that will be tried again has a meaningful next attempt time.
            next_attempt_at=v.delivery.next_attempt_at
            if v.delivery.status in ("pending", "failed", "sending")
            else None,
            sent_at=v.delivery.sent_at,
            created_at=v.delivery.created_at,
            kind=v.kind,
            event_id=v.delivery.event_id,
        )
        for v in views
    ]
    return DeliveryList(items=items, summary=summary)


def _settings_out(account: Account, secret: str | None = None) -> AccountNotificationsOut:
    return AccountNotificationsOut(
        renotify_after_minutes=account.renotify_after_minutes,
        admin_alert_after_minutes=account.admin_alert_after_minutes,
        webhook_url=account.webhook_url,
        webhook_enabled=account.webhook_enabled,
        webhook_secret_set=bool(account.webhook_secret),
        webhook_format=WebhookFormat(account.webhook_format),
        claim_target_minutes=accounts_service.claim_targets(account),
        idle_claim_nudge_minutes=account.idle_claim_nudge_minutes,
        idle_claim_release_minutes=account.idle_claim_release_minutes,
        webhook_secret=secret,
    )


@router.get("/account/notifications", response_model=AccountNotificationsOut)
async def get_account_notifications(
    actor: AdminUser, session: SessionDep
) -> AccountNotificationsOut:
    return _settings_out(await service.get_account_settings(session, actor=actor))


@router.patch(
    "/account/notifications",
    response_model=AccountNotificationsOut,
    response_model_exclude_none=False,
)
async def update_account_notifications(
    body: AccountNotificationsUpdate, actor: AdminUser, session: SessionDep, settings: SettingsDep
) -> AccountNotificationsOut:
    account, secret = await service.update_account_settings(
        session,
        actor=actor,
        changes=body.model_dump(exclude_unset=True),
        block_private_networks=settings.webhook_block_private_networks,
    )
    return _settings_out(account, secret)


@router.post("/account/notifications/webhook-secret", response_model=WebhookSecretOut)
async def rotate_webhook_secret(
    actor: AdminUser, session: SessionDep, now: NowDep
) -> WebhookSecretOut:
    secret = await service.rotate_webhook_secret(session, actor=actor, now=now)
    return WebhookSecretOut(webhook_secret=secret)


@router.post("/account/notifications/test-webhook", response_model=WebhookTestOut)
async def test_webhook(
    actor: AdminUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> WebhookTestOut:
    ok, detail = await service.send_test_webhook(
        session,
        actor=actor,
        settings=settings,
        now=now,
    )
    return WebhookTestOut(ok=ok, detail=detail)

"""Pages: settings. Everyone: their own email preferences. Admins: webhook and escalation chain.

Plain HTML forms (CSRF token in a hidden field) that post here and go back to ``/settings``;
they call the same services as the JSON API (``PATCH /api/v1/me/preferences`` and
``/api/v1/account/notifications``), so the rules live in one place.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.auth.deps import AdminUser, CurrentUser
from flowpilot.kernel.deps import NowDep, SessionDep, SettingsDep
from flowpilot.kernel.errors import Invalid
from flowpilot.kernel.identity import Actor
from flowpilot.kernel.schemas import FORM
from flowpilot.models.handoffs import URGENCIES
from flowpilot.notifications import service as notifications_service
from flowpilot.notifications.schemas import AccountNotificationsUpdate
from flowpilot.web import words
from flowpilot.web.render import page_router, render

router = page_router()

SAVED_MESSAGES = {
    "preferences": "Your notification preferences are saved.",
    "account": "Account notification settings are saved.",
}


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    me = await accounts_service.get_user(session, actor=actor, user_id=actor.id)
    account = await accounts_service.get_account(session, actor=actor) if actor.is_admin else None
    targets = accounts_service.claim_targets(account) if account is not None else {}
    saved = SAVED_MESSAGES.get(request.query_params.get("saved", ""))
    return render(
        request,
        "settings/index.html",
        status_code=status_code,
        me=me,
        account=account,
        urgencies=URGENCIES,
        claim_targets=targets,
        saved=saved,
        **extra,
    )


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, actor: CurrentUser, session: SessionDep) -> Response:
    return await _page(request, session, actor)


@router.post("/settings/preferences")
async def save_preferences(request: Request, actor: CurrentUser, session: SessionDep) -> Response:
    form = await request.form()
    urgency = str(form.get("notify_min_urgency", "low"))
    alert_urgency = str(form.get("alert_min_urgency", "high"))
    if urgency not in URGENCIES or alert_urgency not in URGENCIES:
        await session.rollback()
        return await _page(
            request, session, actor, status_code=422, pref_error="Choose a listed urgency."
        )
    await accounts_service.update_preferences(
        session,
        actor=actor,
        user_id=actor.id,
        notify_email=form.get("notify_email") is not None,
        notify_min_urgency=urgency,
        alert_desktop=form.get("alert_desktop") is not None,
        alert_min_urgency=alert_urgency,
        alert_sound=form.get("alert_sound") is not None,
    )
    return RedirectResponse("/settings?saved=preferences", status_code=303)


def _whole(value: str) -> int | str:
    """Whole minutes typed in a form; anything else reaches the validator as typed."""
    return int(value) if value.isdigit() and len(value) < 9 else value


def _form_changes(form: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {"webhook_enabled": form.get("webhook_enabled") is not None}
    for key in ("renotify_after_minutes", "admin_alert_after_minutes"):
        value = str(form.get(key) or "").strip()
        if value:
            changes[key] = value
    for key in ("idle_claim_nudge_minutes", "idle_claim_release_minutes"):
        if key not in form:
            continue
        value = str(form.get(key) or "").strip()
        if value or key == "idle_claim_release_minutes":  # an empty release: never release
            changes[key] = _whole(value) if value else None
    if "webhook_url" in form:
        changes["webhook_url"] = str(form.get("webhook_url") or "").strip() or None
    if form.get("webhook_format"):
        changes["webhook_format"] = str(form.get("webhook_format"))
    targets: dict[str, Any] = {}
    for urgency in URGENCIES:
        value = str(form.get(f"claim_target_{urgency}") or "").strip()
        if value:
            targets[urgency] = _whole(value)
    if targets:
        changes["claim_target_minutes"] = targets
    return changes


@router.post("/settings/account")
async def save_account(
    request: Request, actor: AdminUser, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    try:
        body = AccountNotificationsUpdate.model_validate(_form_changes(form), context=FORM)
        _, secret = await notifications_service.update_account_settings(
            session,
            actor=actor,
            changes=body.model_dump(exclude_unset=True),
            block_private_networks=settings.webhook_block_private_networks,
        )
    except ValidationError as exc:
        await session.rollback()
        return await _page(
            request, session, actor, status_code=422, error=words.validation_sentence(exc.errors())
        )
    except Invalid as exc:
        await session.rollback()
        return await _page(request, session, actor, status_code=422, error=words.page_message(exc))
    if secret:
        return await _page(request, session, actor, new_secret=secret, saved_now=True)
    return RedirectResponse("/settings?saved=account", status_code=303)


@router.post("/settings/webhook-secret", response_class=HTMLResponse)
async def rotate_secret(
    request: Request, actor: AdminUser, session: SessionDep, now: NowDep
) -> Response:
    secret = await notifications_service.rotate_webhook_secret(session, actor=actor, now=now)
    return await _page(request, session, actor, new_secret=secret)


@router.post("/settings/test-webhook", response_class=HTMLResponse)
async def test_webhook(
    request: Request, actor: AdminUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> Response:
    try:
        ok, detail = await notifications_service.send_test_webhook(
            session,
            actor=actor,
            settings=settings,
            now=now,
        )
    except Invalid as exc:
        return await _page(request, session, actor, status_code=422, error=words.page_message(exc))
    return await _page(request, session, actor, test_result=(ok, detail))

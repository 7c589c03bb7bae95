"""Pages: the metrics dashboard (savings, weekly chart, manual baseline) and the stat card.

``/metrics`` is the Prometheus endpoint, so the page lives at ``/metrics-dashboard``. The
baseline form posts plain HTML forms (CSRF token in a hidden field), so it works without script.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.accounts import service as accounts_service
from flowpilot.analytics import breakdown, chart, report, service
from flowpilot.analytics.schemas import EscalationStats
from flowpilot.auth.deps import SeniorUser
from flowpilot.kernel.deps import NowDep, SessionDep
from flowpilot.kernel.errors import Invalid
from flowpilot.kernel.schemas import text_problem
from flowpilot.kernel.tenancy import Tenant
from flowpilot.web import words
from flowpilot.web.render import render

router = APIRouter(include_in_schema=False)

PAGE = "/metrics-dashboard"
_DURATION = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


async def stat_card_context(
    session: AsyncSession,
    *,
    tenant: Tenant,
    now: datetime,
    days: int = 30,
    stats: EscalationStats | None = None,
) -> dict[str, Any]:
    """What ``analytics/_stat_card.html`` shows, pre-formatted (pass as ``analytics_card``)."""
    if stats is None:
        stats = await service.escalation_stats(session, tenant=tenant, days=days, now=now)
    ttfa = stats.time_to_first_action
    return {
        "days": days,
        "n_claimed": stats.n_claimed,
        "n_with_action": stats.n_with_action,
        "n_escalated": stats.n_escalated,
        "avg": report.duration(ttfa.avg_seconds),
        "median": report.duration(ttfa.median_seconds),
        "p90": report.duration(ttfa.p90_seconds),
        "claim_median": report.duration(stats.time_to_claim.median_seconds),
        "definition": stats.metric_definition,
    }


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``1:30`` (m:s) or ``1:02:30`` (h:m:s); 422 naming ``seconds``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise Invalid(
            "seconds", "must be seconds (90), minutes and seconds (1:30) or h:mm:ss (1:02:30)"
        )
    a, b, s = match.groups()
    hours, minutes = (a, b) if b is not None else (None, a)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(s)


def parse_observed_at(text: str) -> datetime | None:
    """A ``datetime-local`` value, read as UTC; empty means now."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("observed_at", "must be a date and time like 2026-11-20T14:30") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Any,
    *,
    now: datetime,
    days: int,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    stats = await service.escalation_stats(session, tenant=actor, days=days, now=now)
    saved = await service.savings(session, tenant=actor, days=days, now=now, stats=stats)
    weeks = [
        service.WeekPoint(
            w.week_start,
            w.week_start + timedelta(weeks=1),
            w.n_escalated,
            w.time_to_claim_median_seconds,
            w.time_to_first_action_median_seconds,
        )
        for w in await breakdown.weekly(session, tenant=actor, weeks=12, now=now)
    ]
    bands = await breakdown.weekly_savings(session, tenant=actor, weeks=12, now=now)
    baseline = await service.list_baseline(session, tenant=actor, limit=200)
    account = await accounts_service.get_account(session, actor=actor)
    return render(
        request,
        "analytics/metrics.html",
        status_code=status_code,
        days=days,
        stats=stats,
        savings=saved,
        weeks=weeks,
        chart=chart.build(weeks, bands),
        bands=bands,
        seniors=await breakdown.seniors(session, tenant=actor, days=days, now=now),
        baseline=baseline,
        analytics_card=await stat_card_context(
            session, tenant=actor, now=now, days=days, stats=stats
        ),
        fmt=report.duration,
        claim_targets=accounts_service.claim_targets(account),
        error=error,
        form=form or {},
    )


@router.get(PAGE)
async def metrics_dashboard(
    request: Request,
    actor: SeniorUser,
    session: SessionDep,
    now: NowDep,
    days: int = Query(30, ge=service.MIN_DAYS, le=service.MAX_DAYS),
) -> Response:
    return await _page(request, session, actor, now=now, days=days)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for name, value in fields.items():
        problem = text_problem(value)
        if problem:
            raise Invalid(name, problem)
    return fields


@router.post(f"{PAGE}/baseline")
async def add_baseline(
    request: Request, actor: SeniorUser, session: SessionDep, now: NowDep
) -> Response:
    form = await _form(request)
    try:
        await service.add_baseline(
            session,
            actor=actor,
            seconds=parse_duration(form.get("duration", "")),
            note=form.get("note"),
            observed_at=parse_observed_at(form.get("observed_at", "")),
            now=now,
        )
    except Invalid as exc:
        await session.rollback()
        return await _page(
            request,
            session,
            actor,
            now=now,
            days=30,
            status_code=422,
            error=words.page_message(exc),
            form=form,
        )
    return RedirectResponse(f"{PAGE}#baseline", status_code=303)


@router.post(f"{PAGE}/baseline/{{observation_id}}")
async def edit_baseline(
    observation_id: str, request: Request, actor: SeniorUser, session: SessionDep, now: NowDep
) -> Response:
    form = await _form(request)
    changes: dict[str, Any] = {"note": form.get("note")}
    try:
        changes["seconds"] = parse_duration(form.get("duration", ""))
        observed_at = parse_observed_at(form.get("observed_at", ""))
        if observed_at is not None:
            changes["observed_at"] = observed_at
        await service.update_baseline(
            session,
            actor=actor,
            observation_id=observation_id,
            changes=changes,
            now=now,
        )
    except Invalid as exc:
        await session.rollback()
        return await _page(
            request,
            session,
            actor,
            now=now,
            days=30,
            status_code=422,
            error=words.page_message(exc),
        )
    return RedirectResponse(f"{PAGE}#baseline", status_code=303)


@router.post(f"{PAGE}/baseline/{{observation_id}}/delete")
async def delete_baseline(observation_id: str, actor: SeniorUser, session: SessionDep) -> Response:
    await service.delete_baseline(session, actor=actor, observation_id=observation_id)
    return RedirectResponse(f"{PAGE}#baseline", status_code=303)

"""Claim from the email: ``/claim/{token}``, the one-time link each escalation email carries.

GET shows the escalation with one Claim button and changes nothing (mail scanners and previews
that fetch links are harmless). POST claims as the link's recipient with no password and shows
the handoff context; no login session is made, so further actions need an ordinary login (the
page links to it). Neither needs a login: the link itself is the credential, for this one act.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from flowpilot.handoffs import email_claim
from flowpilot.handoffs import service as handoffs_service
from flowpilot.kernel.deps import NowDep, PublisherDep, SessionDep
from flowpilot.web.render import page_router, render

router = page_router()

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(request: Request, found: email_claim.EmailClaim, token: str, status: int) -> HTMLResponse:
    response = render(
        request,
        "claim/link.html",
        status_code=status,
        found=found,
        handoff=handoffs_service.to_out(found.row) if found.row else None,
        token=token,
    )
    response.headers.update(HEADERS)
    return response


@router.get("/claim/{token}", response_class=HTMLResponse)
async def claim_link(
    token: str, request: Request, session: SessionDep, now: NowDep
) -> HTMLResponse:
    found = await email_claim.inspect(session, token=token, now=now)
    status = 200 if found.dead is None else (404 if found.row is None else 410)
    return _page(request, found, token, status)


@router.post("/claim/{token}", response_class=HTMLResponse)
async def claim_by_link(
    token: str, request: Request, session: SessionDep, now: NowDep, bus: PublisherDep
) -> HTMLResponse:
    done = await email_claim.claim(session, token=token, now=now, bus=bus)
    if not done.claimed:
        return _page(request, done, token, 404 if done.row is None else 410)
    assert done.row is not None
    detail = await handoffs_service.detail(
        session, actor=done.actor, handoff_id=done.row.handoff.id
    )
    response = render(
        request,
        "claim/claimed.html",
        handoff=handoffs_service.to_out(detail.row),
        context=detail.context,
        recipient=done.recipient,
    )
    response.headers.update(HEADERS)
    return response

"""Pages: user administration (admins). Changes go through the users API from admin.js."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from flowpilot.accounts import service as accounts_service
from flowpilot.auth.deps import AdminUser
from flowpilot.kernel.deps import SessionDep
from flowpilot.kernel.identity import ROLES
from flowpilot.web.render import page_router, render

router = page_router()


@router.get("/admin/users", response_class=HTMLResponse)
async def users_admin(request: Request, actor: AdminUser, session: SessionDep) -> HTMLResponse:
    users = sorted(
        await accounts_service.list_users(session, actor=actor),
        key=lambda u: (not u.active, u.name.lower()),
    )
    account = await accounts_service.get_account(session, actor=actor)
    return render(request, "admin/users.html", users=users, roles=ROLES, account=account)

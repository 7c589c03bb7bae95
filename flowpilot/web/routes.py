"""Page routes (server-rendered): home, login, logout. Each domain's pages live in their own
module here; see ``render.py`` for how to write one."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from flowpilot.auth import service as auth_service
from flowpilot.auth.deps import COOKIE_NAME, CurrentUser, OptionalUser
from flowpilot.kernel.deps import PublisherDep, SessionDep
from flowpilot.web import (
    admin_pages,
    claim_link_pages,
    escalations_pages,
    metrics_pages,
    sessions_pages,
    settings_pages,
)
from flowpilot.web.render import STATIC_DIR, page_router, render, render_error

__all__ = ["http_error", "mount_static", "render_error", "router", "routers"]

router = page_router()


def routers() -> list[APIRouter]:
    """This module's router plus every domain's page module."""
    return [
        router,
        sessions_pages.router,
        admin_pages.router,
        escalations_pages.router,
        metrics_pages.router,
        settings_pages.router,
        claim_link_pages.router,
    ]


def mount_static(app: FastAPI) -> None:
    """Serve ``/static`` and answer unknown page addresses with a page (called by create_app)."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_exception_handler(StarletteHTTPException, http_error)


async def http_error(request: Request, exc: Exception) -> Response:
    """A browser asking for an address that does not exist gets a page, API clients JSON."""
    assert isinstance(exc, StarletteHTTPException)
    wants_page = not request.url.path.startswith(("/api/", "/static/")) and (
        "text/html" in request.headers.get("accept", "")
    )
    if wants_page and exc.status_code in (404, 405):
        return render_error(request, 404, "there is no page at this address")
    return await http_exception_handler(request, exc)


def safe_next(value: str | None) -> str:
    """A local path to return to after login; anything else (other sites) goes home."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


@router.get("/")
async def home(actor: OptionalUser) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/escalations" if actor.is_senior else "/sessions", status_code=303)


@router.get("/login")
async def login_page(request: Request, actor: OptionalUser, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next))


@router.post("/logout")
async def logout_page(actor: CurrentUser, session: SessionDep, bus: PublisherDep) -> Response:
    """End this browser's login session (CSRF-checked form post) and go to the login page."""
    await auth_service.logout(session, actor=actor, bus=bus)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response

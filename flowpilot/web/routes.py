"""Page routes (server-rendered). Each domain's pages live in their own module here."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from flowpilot.auth.deps import OptionalUser
from flowpilot.web.render import STATIC_DIR, render

router = APIRouter(include_in_schema=False)


def routers() -> list[APIRouter]:
    """This module's router plus every domain's page module."""
    from flowpilot.web import (
        admin_pages,
        escalations_pages,
        metrics_pages,
        sessions_pages,
        settings_pages,
    )

    return [
        router,
        sessions_pages.router,
        admin_pages.router,
        escalations_pages.router,
        metrics_pages.router,
        settings_pages.router,
    ]


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    """Errors on pages are words, never stack traces."""
    if status_code == 401:
        return RedirectResponse("/login", status_code=303)  # type: ignore[return-value]
    return render(request, "error.html", status_code=status_code, message=message, code=status_code)


@router.get("/")
async def home(actor: OptionalUser) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/escalations" if actor.is_senior else "/sessions", status_code=303)


@router.get("/login")
async def login_page(request: Request, actor: OptionalUser) -> Response:
    if actor is not None:
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html")

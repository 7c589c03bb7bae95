"""Jinja2 rendering shared by every page module, and the hooks other domains use on pages.

How to write a page module (``flowpilot/web/<area>_pages.py``)
- ``router = page_router()``: its routes answer errors as pages whatever the Accept header
  (401 redirects to ``/login?next=<path>``, 403/404/409 render ``error.html`` in words).
- ``return render(request, "area/page.html", key=value)``. Every template gets ``request``,
  ``actor`` (or None), ``csrf_token`` and ``now`` (the app clock's time) without asking.
- Unsafe requests from a page carry the CSRF token: ``fetch`` sends it as ``X-CSRF-Token``
  (``static/api.js`` does it for you, reading ``<meta name="csrf-token">``), HTML forms as a
  hidden ``csrf_token`` field.

Page context hooks (add context to a page you do not own)
    ``page_context_hooks: dict[str, list[PageHook]]`` maps a page name to async callables
    ``hook(request, session, **ctx) -> dict``; ``session`` is the request's ``AsyncSession`` and
    ``ctx`` is the page's context so far. What a hook returns is merged into the template
    context (later hooks see earlier hooks' keys). Register at import time of your page module
    (every page module is imported by ``routes.routers()`` when the app is built)::

        from flowpilot.web.render import register_page_hook

        async def _handoff_panel(request, session, *, ai_session, actor, **ctx):
            return {"handoff": await handoff_service.live_for_session(...)}

        register_page_hook("session_view", _handoff_panel)

    Pages with hooks:
    - ``"session_view"`` (``/sessions/{id}``): ctx has ``ai_session``, ``actor``, ``steps``
      (list of ``(Step, author_name)``), ``users`` (id -> name of the account's users),
      ``can_add_step``, ``csrf_token``, ``now``. Its template includes, when they exist,
      ``handoffs/_session_panel.html`` (below the header) and ``assistant/_session_panel.html``
      (next to the timeline).
    - ``"sessions_list"`` (``/sessions``): ctx has ``sessions``, ``actor``, ``users``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot.kernel.context import context_of
from flowpilot.web import words

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Set on the ASGI scope of page routes; runtime/app.py renders DomainErrors there as pages.
PAGE_SCOPE_KEY = "flowpilot.page"

PageHook = Callable[..., Awaitable[dict[str, Any]]]
page_context_hooks: dict[str, list[PageHook]] = {}


def register_page_hook(page: str, hook: PageHook) -> None:
    """Add ``hook`` to ``page``'s context hooks (idempotent for the same function)."""
    hooks = page_context_hooks.setdefault(page, [])
    if hook not in hooks:
        hooks.append(hook)


async def page_context(
    page: str, request: Request, session: AsyncSession, **ctx: Any
) -> dict[str, Any]:
    """``ctx`` plus whatever the page's hooks add."""
    for hook in page_context_hooks.get(page, []):
        ctx.update(await hook(request, session, **ctx))
    return ctx


class PageRoute(APIRoute):
    """A route whose errors are answered as pages, not JSON, whatever the Accept header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            # Marked before dependencies run, so a 401/403 from them is a page too.
            request.scope[PAGE_SCOPE_KEY] = True
            return await handler(request)

        return page_handler


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for pages: hidden from OpenAPI, errors rendered as pages."""
    kwargs.setdefault("include_in_schema", False)
    return APIRouter(route_class=PageRoute, **kwargs)


def is_page_request(request: Request) -> bool:
    return bool(request.scope.get(PAGE_SCOPE_KEY))


def _age(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES_DIR))
    t.env.filters["age"] = _age
    t.env.filters["when"] = _when
    t.env.filters["iso"] = _iso
    t.env.filters["duration"] = words.duration
    t.env.filters["with_article"] = words.with_article
    t.env.filters["no_paths"] = words.no_paths
    t.env.globals["countdown"] = words.countdown
    t.env.globals["idle_note"] = words.idle_note
    return t


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    actor = getattr(request.state, "actor", None)
    base = {
        "request": request,
        "actor": actor,
        "csrf_token": actor.csrf_token if actor else "",
        "now": context_of(request).clock.now(),
        # The live client's watchdog: no byte for twice this and the stream counts as dead.
        "sse_heartbeat_ms": int(context_of(request).settings.sse_heartbeat_seconds * 1000),
    }
    return templates().TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, coming back here afterwards (GET pages only)."""
    target = "/login"
    if request.method == "GET" and request.url.path not in ("/", "/login"):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(path, safe="/")
    return RedirectResponse(target, status_code=303)


ERROR_TITLES = {
    400: "Cannot do that",
    403: "Not allowed",
    404: "Not found",
    409: "Already changed",
    413: "Too large",
    422: "Please check the form",
    429: "Too many attempts",
}


ERROR_HINTS = {
    403: "Your role does not include this. Ask an admin of your account if you need it.",
    404: "It may have been removed, or the link is not quite right.",
    409: "Reload the page to see the latest state.",
    429: "Wait a few minutes, then try again.",
}


def render_error(request: Request, status_code: int, message: str) -> Response:
    """Errors on pages are words, never stack traces; 401 goes to the login page."""
    if status_code == 401:
        return login_redirect(request)
    title = ERROR_TITLES.get(status_code, "Something went wrong")
    text = (message or title).strip()
    text = text[:1].upper() + text[1:]
    if not text.endswith((".", "!", "?")):
        text += "."
    return render(
        request,
        "error.html",
        status_code=status_code,
        message=text,
        hint=ERROR_HINTS.get(status_code, ""),
        code=status_code,
        title=title,
    )

"""``create_app(settings)``: builds the engine, bus and workers in its lifespan (rule 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from flowpilot.accounts.endpoints import router as accounts
from flowpilot.ai_sessions.endpoints import router as ai_sessions
from flowpilot.analytics.endpoints import router as analytics
from flowpilot.assistant.endpoints import router as assistant
from flowpilot.auth.endpoints import router as auth
from flowpilot.handoffs.endpoints import router as handoffs
from flowpilot.kernel.clock import Clock
from flowpilot.kernel.db.engines import handling_request
from flowpilot.kernel.errors import DomainError
from flowpilot.kernel.settings import Settings
from flowpilot.live import stream as event_stream
from flowpilot.live.endpoints import router as events
from flowpilot.notifications.endpoints import router as notifications
from flowpilot.runtime import context as ctx_mod
from flowpilot.runtime import openapi
from flowpilot.runtime.middleware import BodySizeLimit, ProxyHeaders, RefuseNul
from flowpilot.runtime.observability import HttpDurations
from flowpilot.runtime.ops import router as ops
from flowpilot.web.routes import http_error, mount_static, render_error
from flowpilot.web.routes import routers as web_routers
from flowpilot.web.words import page_message


def _routers() -> list[Any]:

    # A request is matched against the routes in this order, one by one (a few µs each in
    # FastAPI), so the hot paths come first: /me (accounts), the queue and claims
    # (handoffs). events before handoffs: "/handoffs/stream" must not be taken for a handoff id.
    api = [accounts, events, handoffs, auth, ai_sessions, notifications, analytics, assistant, ops]
    return api + web_routers()


class FlowPilotApp(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: start-up may use the system path
            await super().__call__(scope, receive, send)
            return
        # Everything a request runs, its live stream included, is request work: the system path
        # (kernel.db.engines.SystemPath: every account, no row-level security) refuses to serve it.
        with handling_request():
            # A live stream runs here, after the routing stack returned (live.stream.route).
            stream = await event_stream.route(super().__call__, scope, receive, send)
            if stream is not None:
                await stream(receive, send)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = ctx_mod.build_context(settings, clock)
        app.state.ctx = ctx  # read through flowpilot.kernel.context.context_of only
        await ctx_mod.start(ctx, run_workers=settings.run_workers)
        try:
            yield
        finally:
            await ctx_mod.stop(ctx)

    app = FlowPilotApp(
        title="FlowPilot",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
    )
    app.add_middleware(RefuseNul)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outermost (added last): everything inside sees the real client and scheme.
    app.add_middleware(ProxyHeaders, trusted=settings.trusted_proxies)
    app.add_middleware(HttpDurations)  # outermost: every answer is timed, refusals included

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request):
            return render_error(request, exc.status_code, page_message(exc))
        return JSONResponse({"detail": exc.detail, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A race lost to a database constraint (e.g. a duplicate email): nothing was written.
        return JSONResponse(
            {"detail": "conflicts with existing data; nothing was changed"}, status_code=409
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every database connection stayed busy past FLOWPILOT_DB_POOL_TIMEOUT_SECONDS: the
        # request never reached the database, so it can simply be sent again.
        return JSONResponse(
            {"detail": "the server is busy; nothing was changed, try again in a moment"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "field": _field_name(err),
                "msg": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
            for err in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    # FastAPI put its documentation routes first; behind the API they stop costing every
    # request four checks (no API or page path looks like them).
    docs = list(app.router.routes)
    app.router.routes.clear()
    for router in _routers():
        app.include_router(router)
    app.router.routes.extend(docs)

    mount_static(app)
    openapi.install(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            error = {"loc": ["body"], "field": "body", "msg": BODY_NOT_UTF8, "type": "body_utf8"}
            return JSONResponse({"detail": [error]}, status_code=422)
        if exc.status_code == 405:
            # Every method the path answers to (Starlette names only the first route's).
            exc.headers = {**(exc.headers or {}), "Allow": _allowed(app, request.scope)}
        return await http_error(request, exc)

    return app


BODY_NOT_UTF8 = "must be JSON encoded as UTF-8"


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed(app: FastAPI, scope: Scope) -> str:
    """The methods some route answers on this path (asked of the router, nested ones too)."""
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    )


def _wants_html(request: Request) -> bool:
    if request.scope.get("flowpilot.page"):  # set by flowpilot.web.render.PageRoute
        return True
    # scope["path"], not request.url (which builds the whole URL): a 409 per refused claim.
    return not request.scope["path"].startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _field_name(err: Any) -> str:
    """The offending field as a dotted path; the body itself when the JSON does not parse
    (the parser's location there is a character offset, not a field)."""
    if err.get("type") == "json_invalid":
        return "body"
    return ".".join(str(p) for p in err.get("loc", ())[1:]) or "body"

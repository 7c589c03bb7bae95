"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from flowpilot.kernel.context import context_of
from flowpilot.runtime.context import AppContext
from flowpilot.runtime.observability import metrics_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    ctx = cast(AppContext, context_of(request))  # the composition root knows its own context
    checks: dict[str, str] = {}
    try:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        checks["bus"] = "ok" if await ctx.bus.ping() else "unreachable"
    except Exception as exc:
        checks["bus"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    ctx = context_of(request)
    token = ctx.settings.metrics_token
    return metrics_response(ctx.metrics, token, request.headers.get("authorization"))
